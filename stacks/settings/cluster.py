"""Settings of the cluster: Kubernetes version, node groups, who administers it, expiry."""

from __future__ import annotations

import datetime as dt
import difflib
import functools
import re
from typing import Any

from stacks import capacity, versions
from stacks.config_reader import Reader
from stacks.settings.types import NodeGroupSettings

# An IAM role or user: what an EKS access entry can name (not an STS session ARN).
PRINCIPAL_ARN_PATTERN = r"arn:aws(-cn|-us-gov)?:iam::\d{12}:(role|user)/[\w+=,.@/-]{1,512}"
PRIVATE_NODES_DEFAULT = {"instanceType": "t3.small", "desiredSize": 2, "minSize": 2, "maxSize": 3}
PUBLIC_NODES_DEFAULT = {"instanceType": "t3.small", "desiredSize": 1, "minSize": 1, "maxSize": 1}
DEFAULT_EXPIRY = "12h"
MAX_EXPIRY_HOURS = 24 * 30


def node_group(reader: Reader, key: str, default: dict[str, Any], name: str, label: str, public: bool,
                ) -> NodeGroupSettings:
    values = reader.obj(key, default, {
        "instanceType": lambda r, f: instance_type(r, f, default["instanceType"]),
        "desiredSize": lambda r, f: r.integer(f, default["desiredSize"], 1, 100),
        "minSize": lambda r, f: r.integer(f, default["minSize"], 1, 100),
        "maxSize": lambda r, f: r.integer(f, default["maxSize"], 1, 100),
    })
    ng = NodeGroupSettings(name=name, label=label, instance_type=values["instanceType"],
                           desired_size=values["desiredSize"], min_size=values["minSize"],
                           max_size=values["maxSize"], public=public)
    k = reader.key(key)
    if ng.min_size > ng.max_size:
        reader.problem(f"{k}.minSize", ng.min_size, f"must not exceed {k}.maxSize ({ng.max_size})")
    elif not ng.min_size <= ng.desired_size <= ng.max_size:
        reader.problem(f"{k}.desiredSize", ng.desired_size,
                       f"must lie within [minSize, maxSize] = [{ng.min_size}, {ng.max_size}]")
    return ng


@functools.lru_cache(maxsize=1)
def ec2_instance_types() -> frozenset[str]:
    """Every instance type EC2 knows: the InstanceType enumeration of botocore's EC2 model."""
    import botocore.session

    model = botocore.session.get_session().get_service_model("ec2")
    return frozenset(model.shape_for("InstanceType").enum)


def instance_type(reader: Reader, key: str, default: str) -> str:
    value = reader.typed(key, str, default, "a string")
    if value in capacity.INSTANCE_TYPES:
        return value
    # Suggest only what the lab takes: a near miss of t3.small is never t2.small.
    closest = difflib.get_close_matches(value, sorted(capacity.INSTANCE_TYPES), n=3, cutoff=0.6)
    also = f"; closest the lab takes: {', '.join(closest)}" if closest else "; such as t3.small"
    if value not in ec2_instance_types():
        reader.problem(reader.key(key), value, "not an EC2 instance type" + also)
    else:
        reader.problem(reader.key(key), value, (
            "the lab takes x86_64 types whose pods per node it knows (stacks/capacity.py): families "
            f"{', '.join(capacity.FAMILIES)} (micro/small/medium to 2xlarge for t3 and t3a, large to 2xlarge "
            "for the others)" + also))
    return default


def expiry(reader: Reader, now: dt.datetime) -> dt.datetime:
    text = reader.typed("expires", str, DEFAULT_EXPIRY, "a string")
    allowed = ("expected a number of hours such as 12h (1 to "
               f"{MAX_EXPIRY_HOURS}), a date YYYY-MM-DD or a UTC time YYYY-MM-DDTHH:MM:SSZ")
    if m := re.fullmatch(r"(\d+)h?", text.strip()):
        hours = int(m.group(1))
        if not 1 <= hours <= MAX_EXPIRY_HOURS:
            reader.problem(reader.key("expires"), text, allowed)
            hours = 12
        return (now + dt.timedelta(hours=hours)).replace(microsecond=0)
    try:
        when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        reader.problem(reader.key("expires"), text, allowed)
        return now + dt.timedelta(hours=12)
    when = when if when.tzinfo else when.replace(tzinfo=dt.timezone.utc)
    if when <= now:
        reader.problem(reader.key("expires"), text, f"is already past (now {iso(now)})")
    return when.astimezone(dt.timezone.utc)


def iso(when: dt.datetime) -> str:
    return when.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def check_version(reader: Reader, version: str, allow_extended: bool, today: dt.date) -> None:
    key = reader.key("kubernetesVersion")
    if version not in versions.STANDARD_SUPPORT_ENDS:
        reader.problem(key, version,
                       f"expected one of {', '.join(versions.STANDARD_SUPPORT_ENDS)}")
    elif versions.in_extended_support(version, today) and not allow_extended:
        ends = versions.STANDARD_SUPPORT_ENDS[version]
        reader.problem(key, version, (
            f"leaves EKS standard support on {ends}; extended support costs six times the "
            f"standard control-plane price (${versions.EXTENDED_CONTROL_PLANE_USD_HOUR:.2f} instead of "
            f"${versions.STANDARD_CONTROL_PLANE_USD_HOUR:.2f} an hour). Use one of "
            f"{', '.join(versions.standard_versions(today))}, or set lab:allowExtendedSupport true"))


def principals(reader: Reader) -> list[str]:
    key = reader.key("adminPrincipalArns")
    arns = reader.string_list("adminPrincipalArns", [])
    for i, arn in enumerate(arns):
        if ":assumed-role/" in arn:
            reader.problem(f"{key}[{i}]", arn, "an access entry names the role, not a session: use "
                           "arn:aws:iam::<account>:role/<name> (aws sts get-caller-identity shows the role name)")
        elif not re.fullmatch(PRINCIPAL_ARN_PATTERN, arn):
            reader.problem(f"{key}[{i}]", arn, "expected an IAM role or user ARN such as "
                           "arn:aws:iam::123456789012:role/lab-admin")
    if len(set(arns)) != len(arns):
        reader.problem(key, arns, "ARNs must be distinct (one access entry each)")
    return arns


