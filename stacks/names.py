"""Names the lab derives from `lab:clusterName`, each within the rule of the service that takes it.

EKS accepts cluster names (1-100 letters, digits, `-`, `_`) that other services
refuse: a load balancer name is 1-32 letters, digits or hyphens, no hyphen at
either end, not starting with `internal-`; an IngressGroup name is lower case
(`^([a-z0-9][-a-z0-9.]*)?[a-z0-9]$`, at most 63) or the controller ignores it.
Like the AWS Load Balancer Controller (`k8s-<namespace>-<name>-<hash>`), a name
that had to be changed or cut keeps a short hash of the whole cluster name, so
two clusters never share one; a role suffix keeps two names of one lab apart.
"""

from __future__ import annotations

import hashlib
import re

LB_NAME_MAX = 32
INGRESS_GROUP_MAX = 63
LB_NAME_RULE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,30}[A-Za-z0-9])?$")
INGRESS_GROUP_RULE = re.compile(r"^([a-z0-9][-a-z0-9.]*)?[a-z0-9]$")
# pulumi-eks names the cluster's IAM role `<name>-eksRole-role` plus `-` and 7 random
# characters (ServiceRole in nodejs/eks/servicerole.ts), and IAM role names stop at 64.
EKS_SERVICE_ROLE = "-eksRole-role"
IAM_ROLE_MAX = 64
CLUSTER_NAME_MAX = IAM_ROLE_MAX - len(EKS_SERVICE_ROLE) - 1 - 7  # 43


def _slug(text: str) -> str:
    """Lower case, anything but letters and digits as one hyphen, none at either end."""
    return re.sub(r"-+", "-", re.sub(r"[^a-z0-9]", "-", text.lower())).strip("-")


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:6]


def _derive(cluster: str, suffix: str, limit: int) -> str:
    base = _slug(cluster) or "lab"
    if base.startswith("internal-"):  # AWS reads such a name as an internal load balancer's
        base = f"lab-{base}"
    name = f"{base}-{suffix}"
    if base == cluster and len(name) <= limit:
        return name
    room = limit - len(suffix) - len(_hash(cluster)) - 2
    return f"{base[:room].rstrip('-')}-{_hash(cluster)}-{suffix}"


def load_balancer(cluster: str, role: str) -> str:
    """An ALB or NLB name: `eks-test-lab`, `eks-test-traefik`."""
    return _derive(cluster, role, LB_NAME_MAX)


def ingress_group(cluster: str) -> str:
    """The IngressGroup every ALB Ingress of the lab joins: `eks-test-lab`."""
    return _derive(cluster, "lab", INGRESS_GROUP_MAX)


def valid_load_balancer_name(name: str) -> bool:
    return bool(LB_NAME_RULE.match(name)) and not name.startswith("internal-")


def valid_ingress_group(name: str) -> bool:
    return len(name) <= INGRESS_GROUP_MAX and bool(INGRESS_GROUP_RULE.match(name))
