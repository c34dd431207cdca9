"""deploy/grafana/moa.json, the on-call dashboard: its variables, its layout, and every
panel's queries reading only the agreed metrics, filtered by the chosen jobs and
instances."""

import json

from tests.helpers import ROOT
from tests.operators import promql

DASHBOARD = ROOT / "deploy/grafana/moa.json"
FILTERS = {"job": ("MatchOp.Re", "$job"), "instance": ("MatchOp.Re", "$instance")}


def dashboard() -> dict:
    return json.loads(DASHBOARD.read_text())


def panels() -> list[dict]:
    return [panel for panel in dashboard()["panels"] if panel["type"] != "row"]


def queries() -> list[tuple[str, str]]:
    return [(panel["title"], target["expr"]) for panel in panels()
            for target in panel["targets"]]


def test_a_recent_schema_with_a_prometheus_datasource_and_job_and_instance_variables():
    board = dashboard()
    assert board["schemaVersion"] >= 39
    variables = {variable["name"]: variable for variable in board["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    for name in ("job", "instance"):
        assert variables[name]["datasource"]["uid"] == "${datasource}"
        assert variables[name]["multi"] and variables[name]["includeAll"]
        # They list what Moa's processes export, whatever the operator named their jobs.
        assert 'label_values({__name__=~"moa_.+"' in variables[name]["query"]["query"]


def test_every_panel_reads_the_chosen_datasource_jobs_and_instances():
    for panel in panels():
        assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            expr = target["expr"].replace("$__rate_interval", "5m")
            for name, matchers in promql.selectors(expr):
                assert {label: matchers.get(label) for label in FILTERS} == FILTERS, \
                    f"{panel['title']}: {name}"


def test_every_query_reads_only_agreed_metrics_and_labels():
    for title, expr in queries():
        assert promql.problems(promql.grafana_query(expr)) == [], title


def test_the_panels_show_every_agreed_metric():
    shown = set().union(*(promql.metric_names(promql.grafana_query(expr))
                          for _, expr in queries()))
    assert shown == set(promql.AGREED)


def test_the_panels_the_on_call_engineer_opens_first():
    titles = {panel["title"] for panel in panels()}
    assert {"WebSockets open by endpoint", "Ops applied and rejected by code",
            "Op ack latency", "HTTP requests by route", "HTTP 5xx ratio by route",
            "HTTP latency p95 by route", "Pending jobs by kind", "Oldest pending job by kind",
            "Live workers by channel", "Job duration by kind and outcome",
            "Job retries by kind", "Storage errors by operation and class",
            "Op events healed from the op log", "Drain state by instance"} <= titles
    latency = next(panel for panel in panels() if panel["title"] == "Op ack latency")
    assert [target["legendFormat"] for target in latency["targets"]] == ["p50", "p95", "p99"]


def test_panels_have_their_own_ids_and_place_on_the_grid():
    board = dashboard()["panels"]
    ids = [panel["id"] for panel in board]
    assert len(ids) == len(set(ids))
    cells = set()
    for panel in board:
        box = panel["gridPos"]
        assert box["x"] >= 0 and box["x"] + box["w"] <= 24, panel["title"]
        area = {(x, y) for x in range(box["x"], box["x"] + box["w"])
                for y in range(box["y"], box["y"] + box["h"])}
        assert not area & cells, f"{panel['title']} overlaps another panel"
        cells |= area
