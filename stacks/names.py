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
import unicodedata

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
    """Lower case, accents dropped (`É` -> `e`), anything but letters and digits as one hyphen,
    none at either end."""
    folded = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return re.sub(r"-+", "-", re.sub(r"[^a-z0-9]", "-", folded.lower())).strip("-")


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


def part(text: str) -> str:
    """What a derived name keeps of `text`: `Élodie.Martin` -> `elodie-martin`."""
    return _slug(text)


def usable(text: str) -> bool:
    """Whether a name leaves any letter or digit for the names derived from it."""
    return bool(_slug(text))


def class_lab(class_name: str, student: str) -> str:
    """A class lab's cluster (and stack) name: `<class>-<student>`, e.g. `k8s-fall-2026-alice`.

    Names come from people (`Élodie.Martin`, `jun_park`): a name that had to be lower-cased,
    changed or cut keeps a hash of the class and the id as given, so two labs never share one.
    When cut, the student's part keeps at least half the room: it is what tells labs apart.
    """
    cls, sid = _slug(class_name) or "class", _slug(student) or "student"
    name = f"{cls}-{sid}"
    if cls == class_name and sid == student and len(name) <= CLUSTER_NAME_MAX:
        return name
    tag = _hash(f"{class_name}\n{student}")
    room = CLUSTER_NAME_MAX - len(tag) - 2  # two hyphens: class-student-hash
    keep_sid = min(len(sid), room - min(len(cls), room // 2))
    keep_cls = room - keep_sid
    return f"{cls[:keep_cls].rstrip('-')}-{sid[:keep_sid].rstrip('-')}-{tag}"
