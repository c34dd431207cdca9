"""deploy/prometheus/alerts.yml: promtool (Debian's prometheus package, installed by the
test setup when missing) checks the rules and runs their unit tests, alerts_test.yml;
each alert names only the agreed metrics and labels, and carries a severity, a summary,
a description and its runbook entry in docs/operations.md."""

import re
import subprocess

import pytest
import yaml

from tests.debian import require_debian_program
from tests.helpers import ROOT
from tests.operators import promql

RULES = ROOT / "deploy/prometheus/alerts.yml"
UNIT_TESTS = ROOT / "tests/operators/alerts_test.yml"


def alerts() -> list[dict]:
    return [rule for group in yaml.safe_load(RULES.read_text())["groups"]
            for rule in group["rules"]]


def github_anchors(markdown: str) -> set[str]:
    """The anchors GitHub gives a document's headings."""
    return {re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
            for heading in re.findall(r"^#+ (.+)$", markdown, flags=re.MULTILINE)}


@pytest.fixture(scope="module")
def promtool() -> str:
    return require_debian_program("/usr/bin/promtool", "prometheus")


def test_promtool_finds_the_rules_sound(promtool):
    result = subprocess.run([promtool, "check", "rules", str(RULES)], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(alerts())} rules found" in result.stdout


def test_the_rules_unit_tests_pass(promtool):
    result = subprocess.run([promtool, "test", "rules", str(UNIT_TESTS)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_is_unit_tested_firing_and_not_firing():
    cases = [case for test in yaml.safe_load(UNIT_TESTS.read_text())["tests"]
             for case in test["alert_rule_test"]]
    for alert in alerts():
        own = [case["exp_alerts"] for case in cases if case["alertname"] == alert["alert"]]
        assert any(own), f"{alert['alert']}: no case where it fires"
        assert [] in own, f"{alert['alert']}: no case where it stays silent"


def test_every_alert_reads_only_agreed_metrics_and_labels():
    for alert in alerts():
        assert promql.problems(alert["expr"]) == [], alert["alert"]


def test_every_alert_says_how_bad_what_and_where_its_runbook_is():
    runbook = github_anchors((ROOT / "docs/operations.md").read_text())
    guide = (ROOT / "docs/observability.md").read_text()
    for alert in alerts():
        name = alert["alert"]
        assert alert["labels"]["severity"] in ("critical", "warning"), name
        assert {"summary", "description", "runbook_url"} <= set(alert["annotations"]), name
        page, _, anchor = alert["annotations"]["runbook_url"].partition("#")
        assert page == "docs/operations.md" and anchor in runbook, name
        assert f"operations.md#{anchor})" in guide, f"docs/observability.md: {name}"


def test_the_rule_maps_every_job_kind_to_the_channel_the_registry_declares():
    """MoaJobsWithoutWorker turns pending jobs per kind into pending jobs per channel
    with label_replace; a kind declared on another channel must change the rule too."""
    from media_pipeline.jobs import registry

    rule = next(alert for alert in alerts() if alert["alert"] == "MoaJobsWithoutWorker")
    replacements = promql.label_replacements(rule["expr"])
    assert replacements, "the rule no longer maps kinds to channels"

    def channel(kind: str) -> str:
        labels = {"kind": kind}
        for destination, replacement, source, regex in replacements:
            assert "$" not in replacement  # plain values only: what this test evaluates
            if re.fullmatch(regex, labels.get(source, "")):
                labels[destination] = replacement
        return labels.get("channel", "")

    assert {kind: channel(kind) for kind in registry.names()} == \
        {kind: registry.channel_of(kind) for kind in registry.names()}
