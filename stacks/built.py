"""The lab as built: its model and the components wired from it (stacks/lab.py)."""

from __future__ import annotations

from dataclasses import dataclass

from components.alb_ingress import LabAlbIngress
from components.cluster import LabCluster
from components.gateway import LabGateway
from components.lb_controller import LabLoadBalancerController
from components.network import LabNetwork
from components.nginx_ingress import LabIngressNginx
from components.services import LabServices
from components.testapp import LabTestApp
from components.traefik import LabTraefik
from stacks.model import LabModel
from stacks.settings import LabSettings


@dataclass
class Lab:
    model: LabModel
    network: LabNetwork
    cluster: LabCluster
    testapp: LabTestApp
    services: LabServices
    lb_controller: LabLoadBalancerController | None
    alb: LabAlbIngress | None
    nginx: LabIngressNginx | None
    traefik: LabTraefik | None
    gateway: LabGateway | None

    @property
    def settings(self) -> LabSettings:
        return self.model.settings
