"""Traefik behind an NLB that the program owns (post 004; docs/lessons.md, lesson 7).

The packet path: DNS -> NLB (an AWS resource of this program, not of a
controller) -> node:NodePort -> kube-proxy -> Traefik pod (TLS ends here) ->
Ingress rule -> ClusterIP Service -> pod.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
import pulumi_tls as tls

from components.helm import pinned_release
from stacks.model_types import Release, TraefikBackend

INGRESS_CLASS = "traefik"
TLS_SECRET = "traefik-lab-tls"
CERT_HOURS = 24 * 30


@dataclass
class LabTraefikArgs:
    release: Release
    nlb_name: str
    """The NLB's name in AWS (at most 32 characters)."""
    cluster_name: str
    web_node_port: int
    websecure_node_port: int
    backends: list[TraefikBackend]
    app_namespace: str
    vpc_id: pulumi.Input[str]
    public_subnet_ids: pulumi.Input[list[str]]
    node_security_group_id: pulumi.Input[str]
    """The EKS cluster security group, where the managed nodes live."""
    node_group_names: list[str]
    node_groups: list[pulumi.Resource]
    source_cidrs: list[str]
    """Who the NLB's security group admits on 80 and 443 (lab:clientCidrs)."""
    provider: k8s.Provider
    depends_on: list[pulumi.Resource]
    tags: dict[str, str]


def chart_values(web_node_port: int, websecure_node_port: int) -> dict:
    return {
        # Not the cluster default: nginx and alb Ingresses name their class.
        "ingressClass": {"enabled": True, "isDefaultClass": False, "name": INGRESS_CLASS},
        "service": {"spec": {"type": "NodePort"}},  # service.type is ignored since chart 40
        "ports": {
            "web": {"nodePort": web_node_port,
                    "http": {"redirections": {"entryPoint": {"to": "websecure", "scheme": "https",
                                                             "permanent": True}}}},
            "websecure": {"nodePort": websecure_node_port, "http": {"tls": {"enabled": True}}},
            # The dashboard and metrics stay inside the cluster.
            "traefik": {"expose": {"default": False}},
            "metrics": {"expose": {"default": False}},
        },
    }


class LabTraefik(pulumi.ComponentResource):
    release: k8s.helm.v3.Release
    hostname: pulumi.Output[str]
    ca_certificate: pulumi.Output[str]

    def __init__(self, name: str, args: LabTraefikArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("lab:index:LabTraefik", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        k8s_child = pulumi.ResourceOptions(parent=self, provider=args.provider)
        hosts = sorted({b.host for b in args.backends})

        ca_cert, server_cert, server_key = self._certificates(name, hosts, child)
        self.ca_certificate = ca_cert.cert_pem

        ns = args.release.namespace
        namespace = k8s.core.v1.Namespace(ns, metadata={"name": ns}, opts=k8s_child)
        self.release = pinned_release(
            name, args.release.chart, ns, chart_values(args.web_node_port, args.websecure_node_port),
            opts=pulumi.ResourceOptions(parent=self, provider=args.provider,
                                        # The chart's Service meets the LB controller's webhook.
                                        depends_on=[namespace, *args.depends_on]))

        secret = k8s.core.v1.Secret(
            TLS_SECRET, type="kubernetes.io/tls",
            metadata={"name": TLS_SECRET, "namespace": args.app_namespace},
            string_data={"tls.crt": server_cert.cert_pem, "tls.key": server_key.private_key_pem},
            opts=k8s_child)
        services = [k8s.core.v1.Service(
            b.service,
            metadata={"name": b.service, "namespace": args.app_namespace},
            # Named targetPort, as post 004 shows: the container's port `http`.
            spec={"type": "ClusterIP", "selector": {"app": b.app},
                  "ports": [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}]},
            opts=pulumi.ResourceOptions(parent=self, provider=args.provider, depends_on=args.depends_on))
            for b in args.backends]
        k8s.networking.v1.Ingress(
            "traefik-ingress",
            metadata={"name": "traefik-ingress", "namespace": args.app_namespace, "annotations": {
                "traefik.ingress.kubernetes.io/router.entrypoints": "websecure",
                "traefik.ingress.kubernetes.io/router.tls": "true",
            }},
            spec={"ingressClassName": INGRESS_CLASS,
                  "tls": [{"hosts": hosts, "secretName": TLS_SECRET}],
                  "rules": [{"host": b.host, "http": {"paths": [{
                      "path": b.path, "pathType": "Prefix",
                      "backend": {"service": {"name": b.service, "port": {"name": "http"}}}}]}}
                      for b in args.backends]},
            opts=pulumi.ResourceOptions(parent=self, provider=args.provider,
                                        # The class exists once the chart is in; then secret and backends.
                                        depends_on=[self.release, secret, *services]))

        self.hostname = self._nlb(name, args, child)
        self.register_outputs({"hostname": self.hostname})

    def _certificates(self, name: str, hosts: list[str], child: pulumi.ResourceOptions):
        """A lab CA, and a certificate for the lab's hosts signed by it."""
        ca_key = tls.PrivateKey(f"{name}-ca", algorithm="ECDSA", ecdsa_curve="P256", opts=child)
        ca_cert = tls.SelfSignedCert(
            f"{name}-ca", private_key_pem=ca_key.private_key_pem, is_ca_certificate=True,
            subject=tls.SelfSignedCertSubjectArgs(common_name="EKS networking lab CA",
                                                  organization="eks-networking-lab"),
            validity_period_hours=CERT_HOURS,
            allowed_uses=["cert_signing", "crl_signing", "digital_signature"], opts=child)
        server_key = tls.PrivateKey(f"{name}-server", algorithm="ECDSA", ecdsa_curve="P256", opts=child)
        request = tls.CertRequest(
            f"{name}-server", private_key_pem=server_key.private_key_pem, dns_names=hosts,
            subject=tls.CertRequestSubjectArgs(common_name=hosts[0], organization="eks-networking-lab"),
            opts=child)
        server_cert = tls.LocallySignedCert(
            f"{name}-server", cert_request_pem=request.cert_request_pem,
            ca_private_key_pem=ca_key.private_key_pem, ca_cert_pem=ca_cert.cert_pem,
            validity_period_hours=CERT_HOURS,
            allowed_uses=["digital_signature", "key_encipherment", "server_auth"], opts=child)
        return ca_cert, server_cert, server_key

    def _nlb(self, name: str, args: LabTraefikArgs, child: pulumi.ResourceOptions) -> pulumi.Output[str]:
        """Internet-facing NLB, TCP 80/443 -> Traefik's node ports on every node group instance."""
        tags = args.tags
        nlb_sg = aws.ec2.SecurityGroup(
            f"{name}-nlb", vpc_id=args.vpc_id, description="Traefik NLB of the EKS lab",
            ingress=[aws.ec2.SecurityGroupIngressArgs(protocol="tcp", from_port=p, to_port=p, cidr_blocks=args.source_cidrs)
                     for p in (80, 443)],
            egress=[aws.ec2.SecurityGroupEgressArgs(protocol="tcp", from_port=p, to_port=p, cidr_blocks=["0.0.0.0/0"])
                    for p in (args.web_node_port, args.websecure_node_port)],
            tags={**tags, "Name": f"{args.cluster_name}-traefik-nlb"}, opts=child)
        nlb = aws.lb.LoadBalancer(
            f"{name}-nlb", name=args.nlb_name, load_balancer_type="network",
            internal=False, subnets=args.public_subnet_ids, security_groups=[nlb_sg.id],
            tags=tags, opts=child)

        asg_names = [
            aws.eks.get_node_group_output(
                cluster_name=args.cluster_name, node_group_name=ng_name,
                opts=pulumi.InvokeOutputOptions(parent=self, depends_on=[ng])
            ).apply(lambda found: found.resources[0].autoscaling_groups[0].name)
            for ng_name, ng in zip(args.node_group_names, args.node_groups)]

        for port_name, port, node_port in (("web", 80, args.web_node_port),
                                           ("websecure", 443, args.websecure_node_port)):
            group = aws.lb.TargetGroup(
                f"{name}-{port_name}", port=node_port, protocol="TCP", target_type="instance",
                vpc_id=args.vpc_id,
                health_check=aws.lb.TargetGroupHealthCheckArgs(protocol="TCP", port="traffic-port",
                                                               interval=10, healthy_threshold=2,
                                                               unhealthy_threshold=2),
                tags=tags, opts=child)
            aws.lb.Listener(
                f"{name}-{port_name}", load_balancer_arn=nlb.arn, port=port, protocol="TCP",
                default_actions=[aws.lb.ListenerDefaultActionArgs(type="forward", target_group_arn=group.arn)],
                tags=tags, opts=child)
            for ng_name, asg in zip(args.node_group_names, asg_names):
                aws.autoscaling.Attachment(f"{name}-{port_name}-{ng_name}", autoscaling_group_name=asg,
                                           lb_target_group_arn=group.arn, opts=child)
            # The NLB (and its health checks) reach the nodes through its security group.
            aws.vpc.SecurityGroupIngressRule(
                f"{name}-{port_name}-from-nlb", security_group_id=args.node_security_group_id,
                referenced_security_group_id=nlb_sg.id, ip_protocol="tcp",
                from_port=node_port, to_port=node_port,
                description=f"Traefik {port_name} from its NLB", tags=tags, opts=child)
        return nlb.dns_name
