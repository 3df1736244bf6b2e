"""The test app: `app1-deploy` and `app2-deploy`, every reply naming its pod.

The app's source (testapp/server.py, standard library only) ships in a
ConfigMap and runs in a pinned official Python image, so the lab needs no
image registry of ours.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_kubernetes as k8s

from stacks.model_types import CONTAINER_PORT

SOURCE = Path(__file__).resolve().parent.parent / "testapp" / "server.py"
PORT_NAME = "http"
HEALTH_PATH = "/healthz"
NODE_GROUP_LABEL = "nodegroup"  # set on every node by the lab's node groups


@dataclass
class LabTestAppArgs:
    apps: list[str]
    """App names; each becomes Deployment `<app>-deploy` with label `app: <app>`."""
    replicas: int
    image: str
    namespace: str
    provider: k8s.Provider
    node_groups: list[pulumi.Resource]
    on_every_node_group: list[str]
    """Apps that must keep a replica in each node group (a Local Service answers only
    from pods on the node it reaches)."""
    depends_on: list[pulumi.Resource]


def spread(app: str, every_node_group: bool) -> list[dict]:
    """Over nodes as a preference; over node groups as a rule where a lesson needs it."""
    constraints = [{
        "maxSkew": 1, "topologyKey": "kubernetes.io/hostname",
        # ScheduleAnyway: a node group scaled below the replica count still runs them all.
        "whenUnsatisfiable": "ScheduleAnyway",
        "labelSelector": {"matchLabels": {"app": app}},
    }]
    if every_node_group:
        constraints.append({
            "maxSkew": 1, "topologyKey": NODE_GROUP_LABEL, "whenUnsatisfiable": "DoNotSchedule",
            # Until both node groups have a Ready node, the missing one counts as holding
            # none: pods wait rather than all landing in the first group up.
            "minDomains": 2,
            "labelSelector": {"matchLabels": {"app": app}},
        })
    return constraints


def _env(name: str, field_path: str) -> dict:
    return {"name": name, "valueFrom": {"fieldRef": {"fieldPath": field_path}}}


def pod_spec(app: str, image: str, source_digest: str, config_map: str, every_node_group: bool = False) -> dict:
    """The pod template of one app: hardened, probed, spread over nodes."""
    probe = {"httpGet": {"path": HEALTH_PATH, "port": PORT_NAME}, "periodSeconds": 5, "timeoutSeconds": 2}
    return {
        "metadata": {
            "labels": {"app": app},
            # A new source rolls the pods; the ConfigMap alone would not.
            "annotations": {"lab/testapp-sha256": source_digest},
        },
        "spec": {
            "securityContext": {"runAsNonRoot": True, "runAsUser": 10001, "runAsGroup": 10001,
                                "seccompProfile": {"type": "RuntimeDefault"}},
            "topologySpreadConstraints": spread(app, every_node_group),
            "containers": [{
                "name": app,
                "image": image,
                "command": ["python", "/app/server.py"],
                "ports": [{"name": PORT_NAME, "containerPort": CONTAINER_PORT, "protocol": "TCP"}],
                "env": [
                    {"name": "HOST", "value": "0.0.0.0"},
                    {"name": "PORT", "value": str(CONTAINER_PORT)},
                    _env("APP_NAME", "metadata.name"),  # as the post's app: replies name the pod
                    _env("APP", "metadata.labels['app']"),
                    _env("NODE_NAME", "spec.nodeName"),
                    _env("POD_NAMESPACE", "metadata.namespace"),
                    {"name": "PYTHONDONTWRITEBYTECODE", "value": "1"},  # read-only root filesystem
                    {"name": "PYTHONUNBUFFERED", "value": "1"},
                ],
                "readinessProbe": probe,
                "livenessProbe": {**probe, "initialDelaySeconds": 5, "failureThreshold": 3},
                "resources": {"requests": {"cpu": "25m", "memory": "32Mi"},
                              "limits": {"cpu": "200m", "memory": "64Mi"}},
                "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                                    "capabilities": {"drop": ["ALL"]}},
                "volumeMounts": [{"name": "source", "mountPath": "/app", "readOnly": True}],
            }],
            "volumes": [{"name": "source", "configMap": {"name": config_map}}],
        },
    }


class LabTestApp(pulumi.ComponentResource):
    deployments: dict[str, k8s.apps.v1.Deployment]
    source_config_map: str

    def __init__(self, name: str, args: LabTestAppArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("lab:index:LabTestApp", name, None, opts)
        source = SOURCE.read_text()
        digest = hashlib.sha256(source.encode()).hexdigest()
        k8s_opts = pulumi.ResourceOptions(parent=self, provider=args.provider, depends_on=args.depends_on)

        self.source_config_map = "testapp-source"
        config_map = k8s.core.v1.ConfigMap(
            "testapp-source",
            metadata={"name": self.source_config_map, "namespace": args.namespace,
                      "labels": {"app.kubernetes.io/part-of": "eks-networking-lab"}},
            data={"server.py": source}, opts=k8s_opts)

        self.deployments = {}
        for app in args.apps:
            self.deployments[app] = k8s.apps.v1.Deployment(
                f"{app}-deploy",
                metadata={"name": f"{app}-deploy", "namespace": args.namespace, "labels": {"app": app}},
                spec={"replicas": args.replicas, "selector": {"matchLabels": {"app": app}},
                      "template": pod_spec(app, args.image, digest, self.source_config_map,
                                           every_node_group=app in args.on_every_node_group)},
                opts=pulumi.ResourceOptions.merge(k8s_opts, pulumi.ResourceOptions(
                    # Pods mounting a missing ConfigMap sit in ContainerCreating; pods sent
                    # before the nodes are up pile onto the first node that is Ready.
                    depends_on=[config_map, *args.node_groups])))
        self.register_outputs({"deployments": [f"{a}-deploy" for a in args.apps]})
