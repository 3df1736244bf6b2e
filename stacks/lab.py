"""How the lab is composed: settings in, components wired together, outputs out."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pulumi
from pulumi.runtime import config as runtime_config

from components.cluster import LabCluster, LabClusterArgs, NodeGroupArgs
from components.network import LabNetwork, LabNetworkArgs
from components.services import LabServices, LabServicesArgs, ServiceDef
from components.testapp import LabTestApp, LabTestAppArgs
from stacks import outputs
from stacks.config_reader import NAMESPACE as CONFIG_NAMESPACE, SettingsError
from stacks.settings import LabSettings, NodeGroupSettings, load


def raw_config() -> tuple[dict[str, str], str | None]:
    """Every `lab:` key of the stack's config (without the prefix), and aws:region."""
    everything = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    prefix = f"{CONFIG_NAMESPACE}:"
    lab = {k[len(prefix):]: v for k, v in everything.items() if k.startswith(prefix)}
    return lab, everything.get("aws:region")


def settings_from_config(now: dt.datetime | None = None) -> LabSettings:
    lab, region = raw_config()
    try:
        return load(lab, region, pulumi.get_stack(), now)
    except SettingsError as err:
        # RunError: Pulumi prints the message alone, without a Python traceback.
        raise pulumi.RunError(str(err)) from None


APPS = ["app1", "app2"]
APP_NAMESPACE = "default"  # the posts' namespace for the app and its Services
SERVICE_PORT = 3000


@dataclass
class Lab:
    settings: LabSettings
    network: LabNetwork
    cluster: LabCluster
    testapp: LabTestApp
    services: LabServices


def service_defs(s: LabSettings) -> list[ServiceDef]:
    """The Services of LAB.md section 3, by the posts' names."""
    return [
        ServiceDef("app-clusterip-svc", "ClusterIP", app="app1"),
        ServiceDef("app-nodeport-svc", "NodePort", app="app1", node_port=s.node_port),
        # What post 000 only explains: Local keeps the client address, uses only local pods.
        ServiceDef("app-nodeport-local-svc", "NodePort", app="app1", node_port=s.node_port_local,
                   external_traffic_policy="Local"),
        ServiceDef("web-service-externalname", "ExternalName", external_name=s.external_name),
        ServiceDef("app1-svc", "ClusterIP", app="app1"),
        ServiceDef("app2-svc", "ClusterIP", app="app2"),
    ]


def _node_group(ng: NodeGroupSettings, public: bool) -> NodeGroupArgs:
    return NodeGroupArgs(name=ng.name, label=ng.label, instance_type=ng.instance_type,
                         desired_size=ng.desired_size, min_size=ng.min_size,
                         max_size=ng.max_size, public=public)


def build(s: LabSettings) -> Lab:
    network = LabNetwork("lab", LabNetworkArgs(
        cluster_name=s.cluster_name, vpc_cidr=str(s.vpc_cidr),
        availability_zones=s.availability_zones,
        public_subnet_cidrs=[str(n) for n in s.public_subnet_cidrs],
        private_subnet_cidrs=[str(n) for n in s.private_subnet_cidrs],
        nat_per_az=s.nat_gateways == "perAz", tags=s.tags))
    cluster = LabCluster(s.cluster_name, LabClusterArgs(
        cluster_name=s.cluster_name, kubernetes_version=s.kubernetes_version,
        vpc_id=network.vpc_id, public_subnet_ids=network.public_subnet_ids,
        private_subnet_ids=network.private_subnet_ids,
        api_access_cidrs=[str(n) for n in s.api_access_cidrs],
        node_port_source_cidrs=[str(n) for n in s.node_port_source_cidrs],
        node_groups=[_node_group(s.private_nodes, public=False), _node_group(s.public_nodes, public=True)],
        tags=s.tags))
    provider = cluster.provider
    testapp = LabTestApp("testapp", LabTestAppArgs(
        apps=APPS, replicas=s.app_replicas, image=s.app_image, namespace=APP_NAMESPACE,
        provider=provider, depends_on=[]))
    services = LabServices("services", LabServicesArgs(
        services=service_defs(s), namespace=APP_NAMESPACE, provider=provider, depends_on=[]))
    return Lab(settings=s, network=network, cluster=cluster, testapp=testapp, services=services)


def main(now: dt.datetime | None = None) -> Lab:
    """The whole program: validated settings -> the lab -> the outputs contract."""
    lab = build(settings_from_config(now))
    outputs.export(lab)
    return lab
