"""deploy/autoscaling/keda-scaledobject.yaml: a KEDA ScaledObject whose Prometheus
query reads only the agreed metrics, about job kinds Moa declares."""

import yaml

from tests.helpers import ROOT
from tests.operators import promql


def test_the_keda_example_scales_video_workers_on_the_pending_encodes():
    from media_pipeline.jobs import registry

    scaled = yaml.safe_load((ROOT / "deploy/autoscaling/keda-scaledobject.yaml").read_text())
    assert scaled["apiVersion"] == "keda.sh/v1alpha1" and scaled["kind"] == "ScaledObject"
    # The gauges come from running processes: with no worker, none may report them.
    assert scaled["spec"]["minReplicaCount"] >= 1
    (trigger,) = scaled["spec"]["triggers"]
    assert trigger["type"] == "prometheus" and float(trigger["metadata"]["threshold"]) > 0
    query = trigger["metadata"]["query"]
    assert promql.problems(query) == []
    kinds = {matchers["kind"][1] for _, matchers in promql.selectors(query)}
    assert kinds == {"video.encode"} and registry.channel_of("video.encode") == "jobs.video"
