"""The lessons of docs/lessons.md as data: what to run with kubectl, which entry points'
curls belong to each, and which smoke check proves it.

`./lab tour` renders them for a lab that is up (labtools/tour.py); the guide's command
blocks are the same rendering for the posts' settings, and tests/test_lessons.py holds
the two equal, every object name to the program and every smoke check to the suite.
"""

from __future__ import annotations

from dataclasses import dataclass

GUIDE = "docs/lessons.md"


@dataclass(frozen=True)
class Post:
    number: str
    title: str
    author: str | None
    link: str | None = None


# Cited by title, author (where the post names one) and the one link a post gives.
POSTS = (
    Post("000", "[Kubernetes w/ EKS] Service(ClusterIP, NodePort, LoadBalancer) and Ingress(Nginx, AWS ALB)",
         "yulmwu", "https://github.com/eocndp/k8s-service-ingress-example"),
    Post("001", "[Kubernetes] 서비스를 외부에 노출하는 다양한 방법들. (NodePort, LoadBalancer, 그리고 Ingress)", None),
    Post("002", "인그레스와 서비스", None),
    Post("003", "Kubernetes - 서비스(ClusterIP, NodePort, LoadBalancer, ExternalName)", "assu10"),
    Post("004", "Kubernetes Ingress와 Service 동작 흐름 완전 정리", None),
)


@dataclass(frozen=True)
class Check:
    """A smoke test that proves a lesson, for one entry point's cases or on its own."""

    module: str  # test_entrypoints | test_internal
    test: str
    entry: str | None = None

    def __str__(self) -> str:
        cases = f"[{self.entry}:...]" if self.entry else ""
        return f"smoke_tests/{self.module}.py::{self.test}{cases}"


@dataclass(frozen=True)
class Kubectl:
    """One kubectl line and what it shows. `{service}` and `{cname}` come from the outputs'
    `internal` entry of the lesson, `{ports[NAME]}` from entry point NAME's nodePort, `{image}`
    is the smoke checks' probe image."""

    command: str
    expect: str = ""


@dataclass(frozen=True)
class Lesson:
    number: int
    title: str
    posts: tuple[str, ...]
    kubectl: tuple[Kubectl, ...]
    checks: tuple[Check, ...]
    entrypoints: tuple[str, ...] = ()
    """Entry points whose routes, notFound paths and redirect the lesson curls."""
    internal: str | None = None
    """The outputs' `internal` key the lesson checks from inside the cluster."""

    @property
    def heading(self) -> str:
        return f"{self.number}. {self.title}"


def _routes(*entries: str) -> tuple[Check, ...]:
    return tuple(Check("test_entrypoints", "test_route", e) for e in entries)


TESTBOX = "kubectl run testbox --rm -it --restart=Never --image={image} --"

LESSONS = (
    Lesson(1, "ClusterIP: one stable address inside the cluster", ("000", "003"), (
        Kubectl("kubectl get service app-clusterip-svc", "TYPE ClusterIP, PORT(S) 3000/TCP"),
        Kubectl("kubectl get endpointslices -l kubernetes.io/service-name=app-clusterip-svc",
                "the app1 pods' addresses, port 8080"),
        Kubectl(TESTBOX + " sh -c 'for i in 1 2 3 4 5 6; do wget -qO- http://{service}/; echo; done'",
                "six replies from app1, naming several of its pods"),
    ), (Check("test_internal", "test_clusterip_every_replica_answers"),), internal="clusterIp"),
    Lesson(2, "NodePort, and externalTrafficPolicy Local", ("000", "003"), (
        Kubectl("kubectl get service app-nodeport-svc app-nodeport-local-svc",
                "TYPE NodePort, PORT(S) 3000:{ports[nodeport]}/TCP and 3000:{ports[nodeport-local]}/TCP"),
        Kubectl("kubectl get nodes -L nodegroup -o wide",
                "the ng-public node's EXTERNAL-IP: where the node ports answer"),
        Kubectl("kubectl get pods -l app=app1 -o wide", "the node each app1 pod runs on"),
    ), _routes("nodeport", "nodeport-local"), entrypoints=("nodeport", "nodeport-local")),
    Lesson(3, "LoadBalancer: an NLB in front of the node ports", ("000", "003"), (
        Kubectl("kubectl get service app-lb-svc", "TYPE LoadBalancer, EXTERNAL-IP the NLB's DNS name"),
        Kubectl("kubectl describe service app-lb-svc", "internet-facing, instance targets, a NodePort of its own"),
    ), _routes("nlb"), entrypoints=("nlb",)),
    Lesson(4, "ExternalName: a DNS alias, no proxy", ("003",), (
        Kubectl("kubectl get service web-service-externalname", "TYPE ExternalName, EXTERNAL-IP {cname}"),
        Kubectl(TESTBOX + " nslookup {service}", "canonical name = {cname}"),
    ), (Check("test_internal", "test_externalname_resolves_to_cname"),), internal="externalName"),
    Lesson(5, "ingress-nginx: regex paths and a rewrite", ("000", "002"), (
        Kubectl("kubectl -n ingress-nginx get pods,services", "the controller pod and its Service"),
        Kubectl("kubectl get ingress app-ingress", "CLASS nginx"),
        Kubectl("kubectl describe ingress app-ingress", "/v1(/|$)(.*) -> app1-svc:3000, rewrite-target /$2"),
    ), (*_routes("nginx"), Check("test_entrypoints", "test_not_found", "nginx")), entrypoints=("nginx",)),
    Lesson(6, "The ALB Ingress, and host rules on the same ALB", ("000", "002"), (
        Kubectl("kubectl get ingressclass alb", "CONTROLLER ingress.k8s.aws/alb"),
        Kubectl("kubectl get ingress alb-ingress alb-host-ingress", "one ADDRESS for both: the ALB's DNS name"),
        Kubectl("kubectl describe ingress alb-host-ingress", "the host rules, and the rule without a host"),
        Kubectl("kubectl get targetgroupbindings",
                "the controller's target groups: ip for the ALBs' backends, instance for app-lb-svc"),
    ), _routes("alb", "alb-hosts"), entrypoints=("alb", "alb-hosts")),
    Lesson(7, "Traefik behind an NLB, with TLS", ("004",), (
        Kubectl("kubectl -n api-gateway-system get pods,services", "Traefik and its NodePort Service"),
        Kubectl("kubectl get ingress traefik-ingress", "CLASS traefik, the myapp and admin hosts"),
        Kubectl("kubectl get services my-app-service admin-service", "TYPE ClusterIP, PORT(S) 80/TCP"),
    ), (*_routes("traefik"), Check("test_entrypoints", "test_not_found", "traefik"),
        Check("test_entrypoints", "test_redirects_to_https", "traefik")), entrypoints=("traefik",)),
    Lesson(8, "The Gateway API on the controller's ALB", ("000",), (
        Kubectl("kubectl get gatewayclass alb", "CONTROLLER gateway.k8s.aws/alb, ACCEPTED True"),
        Kubectl("kubectl get gateway lab-gateway", "PROGRAMMED True, ADDRESS the DNS name of the Gateway's ALB"),
        Kubectl("kubectl get httproutes app-route canary-route", "both routes, for any host (no HOSTNAMES)"),
        Kubectl("kubectl describe httproute canary-route", "a header match to app2-svc, then weights 80 and 20"),
    ), (*_routes("gateway"), Check("test_entrypoints", "test_not_found", "gateway")), entrypoints=("gateway",)),
)
