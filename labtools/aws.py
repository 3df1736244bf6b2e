"""AWS access for the lab's housekeeping tools: clients, tags, errors, arguments.

Only boto3 is used, built from the standard AWS environment (credentials,
profile, AWS_ENDPOINT_URL), so the same code runs against AWS and moto.
"""

from __future__ import annotations

import argparse
import functools
import re
import sys
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator, TextIO

import boto3
import botocore.loaders
import botocore.session
from botocore.exceptions import BotoCoreError, ClientError

PROJECT = "eks-networking-lab"


TAG_PROJECT = "lab:project"


TAG_STACK = "lab:stack"


TAG_CLUSTER = "lab:cluster"


TAG_EXPIRES = "lab:expires"


ELBV2_CLUSTER_TAG = "elbv2.k8s.aws/cluster"


# The VPC CNI tags the interfaces it attaches to nodes; a node that goes before
# its CNI can detach them leaves them behind, holding the subnet (DependencyViolation).
CNI_CLUSTER_TAG = "cluster.k8s.amazonaws.com/name"


# EKS's own rule for cluster names; it also rules out EC2 filter wildcards.
CLUSTER_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$")


REGION_RE = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$")


@dataclass(frozen=True)
class Clients:
    ec2: object
    elbv2: object
    tagging: object
    eks: object
    region: str

    @classmethod
    def for_region(cls, region: str) -> "Clients":
        session = make_session(region)
        # Connection and credential errors do not say which call failed.
        session.events.register("before-call", remember_operation)
        return cls(
            ec2=session.client("ec2"),
            elbv2=session.client("elbv2"),
            tagging=session.client("resourcegroupstaggingapi"),
            eks=session.client("eks"),
            region=region,
        )


last_operation = {"name": "?"}


def remember_operation(model, **_kwargs) -> None:
    last_operation["name"] = model.name


def make_session(region: str) -> boto3.Session:
    # A seam for tests (event hooks); boto3 reads AWS_ENDPOINT_URL etc. itself.
    return shared_session(region)


@functools.lru_cache(maxsize=1)
def _loader() -> botocore.loaders.Loader:
    return botocore.loaders.create_loader()


def shared_session(region: str) -> boto3.Session:
    """A new session on one shared loader: a fresh loader parses the service models again
    (~0.2 s of CPU for each first EC2 client)."""
    core = botocore.session.get_session()
    core.register_component("data_loader", _loader())
    return boto3.Session(botocore_session=core, region_name=region)


def cluster_tag_match(tags: dict[str, str], cluster: str) -> str | None:
    """The tag tying a resource to `cluster`, or None.

    Exact comparisons only: `eks-test-2` must never match `eks-test`.
    """
    for key in (ELBV2_CLUSTER_TAG, CNI_CLUSTER_TAG):
        if tags.get(key) == cluster:
            return f"{key}={cluster}"
    k8s_key = f"kubernetes.io/cluster/{cluster}"
    if k8s_key in tags:
        return f"{k8s_key}={tags[k8s_key]}"
    return None


def tag_dict(tags: Iterable[dict] | None) -> dict[str, str]:
    return {t["Key"]: t.get("Value", "") for t in tags or ()}


def cluster_filters(cluster: str) -> list[list[dict]]:
    # EC2 ORs values within a filter but ANDs filters, so one query per tag.
    return [
        [{"Name": f"tag:{ELBV2_CLUSTER_TAG}", "Values": [cluster]}],
        [{"Name": "tag-key", "Values": [f"kubernetes.io/cluster/{cluster}"]}],
        [{"Name": f"tag:{CNI_CLUSTER_TAG}", "Values": [cluster]}],
    ]


def paginate(client, operation: str, key: str, **kwargs) -> Iterator[dict]:
    for page in client.get_paginator(operation).paginate(**kwargs):
        yield from page.get(key, [])


def error_text(err: ClientError) -> str:
    info = err.response.get("Error", {})
    return f"{err.operation_name}: {info.get('Code', '?')}: {info.get('Message', '')}"


def cluster_name(value: str) -> str:
    if not CLUSTER_RE.match(value):
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a valid EKS cluster name "
            "(1-100 letters, digits, '-' or '_', starting with a letter or digit)"
        )
    return value


def region_name(value: str) -> str:
    if not REGION_RE.match(value):
        raise argparse.ArgumentTypeError(f"{value!r} is not an AWS region name (lower case, like ap-northeast-2)")
    return value


def add_region(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--region", required=True, type=region_name, help="AWS region, e.g. ap-northeast-2")


def aws_errors(run: Callable[[argparse.Namespace, TextIO], int]) -> Callable[..., int]:
    """Report AWS failures as one line naming the operation, exit code 2."""

    def wrapper(args: argparse.Namespace, out: TextIO | None = None) -> int:
        try:
            return run(args, out or sys.stdout)
        except ClientError as err:
            print(f"error: AWS call failed: {error_text(err)}", file=sys.stderr)
        except BotoCoreError as err:
            print(f"error: AWS call failed: {last_operation['name']}: {err}", file=sys.stderr)
        return 2

    wrapper.__doc__ = run.__doc__
    return wrapper
