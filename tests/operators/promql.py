"""The metrics Moa's dashboard, alert rules and scaler examples may name, and a reader
of their PromQL (promql-parser) that says what in an expression names anything else.

AGREED is the list of issues 16 and 17 that the web and worker processes export: each
metric's type and labels. A histogram is read through its `_bucket` (with `le`),
`_sum` and `_count` series; Prometheus adds `job` and `instance` to every series.
"""

from __future__ import annotations

import re

import promql_parser

AGREED: dict[str, tuple[str, frozenset[str]]] = {
    name: (kind, frozenset(labels)) for name, kind, labels in (
        ("moa_ws_connections", "gauge", {"endpoint"}),
        ("moa_ws_disconnects_total", "counter", {"endpoint", "code"}),
        ("moa_ops_applied_total", "counter", set()),
        ("moa_ops_rejected_total", "counter", {"code"}),
        ("moa_op_ack_seconds", "histogram", set()),
        ("moa_op_events_healed_total", "counter", set()),
        ("moa_http_requests_total", "counter", {"route", "method", "status"}),
        ("moa_http_request_duration_seconds", "histogram", {"route", "method"}),
        ("moa_readiness_probe_failures_total", "counter", {"check"}),
        ("moa_draining", "gauge", set()),
        ("moa_jobs_pending", "gauge", {"kind", "channel"}),
        ("moa_job_oldest_pending_seconds", "gauge", {"kind", "channel"}),
        ("moa_job_duration_seconds", "histogram", {"kind", "outcome"}),
        ("moa_job_retries_total", "counter", {"kind", "code"}),
        ("moa_workers_alive", "gauge", {"channel"}),
        ("moa_storage_errors_total", "counter", {"operation", "class"}),
        # Issue 17's maintenance schedule (read from the database, like the job gauges).
        ("moa_maintenance_last_success_timestamp_seconds", "gauge", {"task"}),
        ("moa_maintenance_in_trouble", "gauge", {"task"}),
        ("moa_maintenance_runs_total", "counter", {"task", "outcome"}),
    )
}
TARGET_LABELS = frozenset({"job", "instance"})
HISTOGRAM_SERIES = {"_bucket": {"le"}, "_sum": set(), "_count": set()}
# What Grafana puts in place of its variables before Prometheus sees a query.
GRAFANA_INTERVALS = {"__rate_interval", "__interval", "__range"}


def grafana_query(expr: str) -> str:
    """`expr` as Prometheus receives it from Grafana: intervals become durations, other
    variables (`$job`, `${instance}`) the "All" value of a multi-value variable."""
    return re.sub(r"\$\{?(\w+)\}?",
                  lambda match: "5m" if match[1] in GRAFANA_INTERVALS else ".*", expr)


def series_labels(name: str | None) -> frozenset[str] | None:
    """The labels a series of metric `name` carries; None when it is no agreed series."""
    if name in AGREED:
        kind, labels = AGREED[name]
        return None if kind == "histogram" else labels | TARGET_LABELS
    for suffix, extra in HISTOGRAM_SERIES.items():
        base = (name or "").removesuffix(suffix)
        if base != name and AGREED.get(base, ("", ()))[0] == "histogram":
            return AGREED[base][1] | TARGET_LABELS | extra
    return None


def problems(expr: str) -> list[str]:
    """What in `expr` names a metric outside AGREED, a label its metrics do not carry, or
    groups or matches by such a label (label_replace's new labels count as carried)."""
    found: list[str] = []

    def check(node) -> None:
        if isinstance(node, promql_parser.VectorSelector):
            labels = series_labels(node.name)
            if labels is None:
                found.append(f"{node.name or str(node)!r} is not an agreed metric series")
                return
            found.extend(f"{node.name} has no label {matcher.name!r}"
                         for matcher in node.matchers.matchers if matcher.name not in labels)
        elif isinstance(node, promql_parser.AggregateExpr) and node.modifier is not None:
            missing = set(node.modifier.labels) - carried(node.expr)
            if missing and node.modifier.type == promql_parser.AggModifierType.By:
                found.append(f"{node} groups by {sorted(missing)}, which its series lack")
        elif isinstance(node, promql_parser.BinaryExpr) and node.modifier is not None:
            matching = node.modifier.matching
            if matching is not None and matching.type == promql_parser.LabelModifierType.Include:
                missing = set(matching.labels) - (carried(node.lhs) & carried(node.rhs))
                if missing:
                    found.append(f"{node} matches on {sorted(missing)}, which one side "
                                 f"lacks")

    promql_parser.walk(promql_parser.parse(expr), check)
    return found


def carried(expr) -> set[str]:
    """Every label some series under `expr` may carry."""
    labels: set[str] = set()

    def collect(node) -> None:
        if isinstance(node, promql_parser.VectorSelector):
            labels.update(series_labels(node.name) or ())
        elif isinstance(node, promql_parser.Call) and node.func.name == "label_replace":
            labels.add(node.args[1].val)

    promql_parser.walk(expr, collect)
    return labels


def metric_names(expr: str) -> set[str]:
    """The agreed metrics `expr` reads (a histogram by its own name)."""
    names: set[str] = set()

    def collect(node) -> None:
        if isinstance(node, promql_parser.VectorSelector) and node.name:
            base = re.sub(r"_(bucket|sum|count)$", "", node.name)
            names.add(base if AGREED.get(base, ("",))[0] == "histogram" else node.name)

    promql_parser.walk(promql_parser.parse(expr), collect)
    return names


def label_replacements(expr: str) -> list[tuple[str, str, str, str]]:
    """label_replace calls in `expr`, innermost first: (destination, replacement,
    source, regex)."""
    calls: list[tuple[str, str, str, str]] = []

    def collect(node) -> None:
        if isinstance(node, promql_parser.Call) and node.func.name == "label_replace":
            calls.append(tuple(argument.val for argument in node.args[1:]))

    promql_parser.walk(promql_parser.parse(expr), None, collect)
    return calls


def selectors(expr: str) -> list[tuple[str | None, dict[str, tuple[str, str]]]]:
    """Each series selector of `expr`: its metric name and its matchers, label ->
    (operator, value)."""
    found = []

    def collect(node) -> None:
        if isinstance(node, promql_parser.VectorSelector):
            found.append((node.name, {matcher.name: (str(matcher.op), matcher.value)
                                      for matcher in node.matchers.matchers}))

    promql_parser.walk(promql_parser.parse(expr), collect)
    return found
