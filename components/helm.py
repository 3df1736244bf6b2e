"""A Helm release of a pinned chart, the way every chart of the lab is installed."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from stacks.model_types import PinnedChart


def pinned_release(resource_name: str, chart: PinnedChart, namespace: str, values: pulumi.Input[dict],
                   opts: pulumi.ResourceOptions) -> k8s.helm.v3.Release:
    """Release name = chart name, so the chart's objects get their documented names."""
    return k8s.helm.v3.Release(
        resource_name, name=chart.name, chart=chart.name, version=chart.version,
        repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=chart.repo),
        namespace=namespace, values=values,
        # Wait until the chart's workloads are ready: their webhooks must answer
        # before anything that depends on the release is sent.
        skip_await=False, opts=opts)
