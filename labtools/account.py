"""Read the account the lab builds in: quotas, usage, offerings, versions, the cluster name.

Read-only calls, concurrent in two batches (the second needs ids from the first: the
zones of NAT gateways' subnets, the tags of load balancers, the vCPUs of running
types). Clients are made before the threads: boto3 clients are thread-safe, sessions
are not. A call AWS refuses (AccessDenied, a quota Service Quotas does not know)
becomes an Answer with its error, for the judge to call assumed; no network and bad
credentials stop everything (Unreachable), told apart.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable

import boto3
from botocore.config import Config
from botocore.exceptions import (BotoCoreError, ClientError, ConnectionClosedError, ConnectTimeoutError,
                                 EndpointConnectionError, NoCredentialsError, ReadTimeoutError)

from labtools.aws import PROJECT, TAG_CLUSTER, TAG_PROJECT, TAG_STACK, paginate, tag_dict
from labtools.quotas import QUOTAS, STANDARD_FAMILIES, instance_types
from stacks.model import LabModel

# What AWS answers for credentials it does not accept (STS, EC2, and the JSON services).
BAD_CREDENTIALS = {"InvalidClientTokenId", "SignatureDoesNotMatch", "ExpiredToken", "ExpiredTokenException",
                   "UnrecognizedClientException", "AuthFailure", "InvalidAccessKeyId", "RequestExpired",
                   "IncompleteSignature", "InvalidSignatureException"}
NO_NETWORK = (EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError, ConnectionClosedError)
# One retry: a call that cannot connect should say so in seconds, not after legacy backoff.
CONFIG = Config(max_pool_connections=32, connect_timeout=5, read_timeout=20,
                retries={"max_attempts": 2, "mode": "standard"})
SERVICES = {"sts": "sts", "quotas": "service-quotas", "ec2": "ec2", "elbv2": "elbv2", "eks": "eks"}
LIVE_NAT_STATES = ["pending", "available"]
LIVE_INSTANCE_STATES = ["pending", "running"]
ELB_TAGS_PER_CALL = 20  # DescribeTags takes at most 20 ARNs


class Unreachable(Exception):
    """AWS could not be asked at all; the message says what to fix, `kind` why (network or credentials)."""

    def __init__(self, message: str, kind: str = "credentials"):
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class Answer:
    value: Any = None
    error: str | None = None
    """Why AWS gave no answer, e.g. 'AccessDeniedException on GetServiceQuota'."""


@dataclass
class Facts:
    """Everything read, by name; see `first_batch` for the names."""

    answers: dict[str, Answer] = field(default_factory=dict)
    batches: int = 0

    def value(self, name: str) -> Any:
        return self.answers[name].value

    def error(self, name: str) -> str | None:
        return self.answers[name].error

    def get(self, name: str, default: Any) -> Any:
        """The value of a call that may not have been made (second batch: nothing to ask)."""
        return self.answers[name].value if name in self.answers else default


def make_clients(region: str) -> dict[str, Any]:
    session = boto3.Session(region_name=region)
    if session.get_credentials() is None:
        raise Unreachable("no AWS credentials found: set AWS_PROFILE (after `aws configure` or `aws sso login`), "
                          "or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
    return {name: session.client(service, config=CONFIG) for name, service in SERVICES.items()}


def own(tags: dict[str, str], model: LabModel) -> bool:
    """Made by this stack (an earlier, maybe half-finished `up`): it counts as the lab's, not as usage."""
    s = model.settings
    return (tags.get(TAG_PROJECT) == PROJECT and tags.get(TAG_STACK) == s.stack
            and tags.get(TAG_CLUSTER) == s.cluster_name)


def cluster_tags(eks: Any, name: str) -> dict[str, str] | None:
    """The tags of the EKS cluster of that name, or None when there is none."""
    try:
        return eks.describe_cluster(name=name)["cluster"].get("tags") or {}
    except ClientError as err:
        if err.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
            return None
        raise


def first_batch(c: dict[str, Any], model: LabModel) -> dict[str, Callable[[], Any]]:
    s = model.settings
    ec2, eks = c["ec2"], c["eks"]

    def quota(service: str, code: str) -> Callable[[], float]:
        return lambda: c["quotas"].get_service_quota(ServiceCode=service, QuotaCode=code)["Quota"]["Value"]

    def eip_attribute() -> int | None:
        found = ec2.describe_account_attributes(AttributeNames=["vpc-max-elastic-ips"])["AccountAttributes"]
        values = [v["AttributeValue"] for a in found if a["AttributeName"] == "vpc-max-elastic-ips"
                  for v in a.get("AttributeValues", [])]
        return int(values[0]) if values else None

    def tagged(operation: str, key: str, id_key: str, **kwargs) -> Callable[[], list[tuple[str, dict]]]:
        return lambda: [(x[id_key], tag_dict(x.get("Tags"))) for x in paginate(ec2, operation, key, **kwargs)]

    def instances() -> list[dict]:
        pages = paginate(ec2, "describe_instances", "Reservations",
                         Filters=[{"Name": "instance-state-name", "Values": LIVE_INSTANCE_STATES}])
        return [{"type": i["InstanceType"], "spot": i.get("InstanceLifecycle") == "spot",
                 "tags": tag_dict(i.get("Tags"))} for r in pages for i in r["Instances"]]


    def offerings() -> list[tuple[str, str]]:
        found = paginate(ec2, "describe_instance_type_offerings", "InstanceTypeOfferings",
                         LocationType="availability-zone",
                         Filters=[{"Name": "instance-type", "Values": instance_types(model)},
                                  {"Name": "location", "Values": list(s.availability_zones)}])
        return sorted({(o["InstanceType"], o["Location"]) for o in found})

    def versions() -> list[dict]:
        # All of them: a refusal can then name the versions the region does offer.
        return [{"version": v["clusterVersion"], "status": v.get("versionStatus") or v.get("status")}
                for v in paginate(eks, "describe_cluster_versions", "clusterVersions")]

    calls: dict[str, Callable[[], Any]] = {f"quota:{q.key}": quota(q.service, q.code) for q in QUOTAS.values()}
    calls.update({
        "identity": lambda: c["sts"].get_caller_identity()["Account"],
        "eip-attribute": eip_attribute,
        "vpcs": tagged("describe_vpcs", "Vpcs", "VpcId"),
        "internet-gateways": tagged("describe_internet_gateways", "InternetGateways", "InternetGatewayId"),
        "nat-gateways": lambda: [(n["NatGatewayId"], n["SubnetId"], tag_dict(n.get("Tags"))) for n in paginate(
            ec2, "describe_nat_gateways", "NatGateways", Filter=[{"Name": "state", "Values": LIVE_NAT_STATES}])],
        "addresses": lambda: [(a.get("AllocationId", a.get("PublicIp", "")), tag_dict(a.get("Tags"))) for a in
                              ec2.describe_addresses(Filters=[{"Name": "domain", "Values": ["vpc"]}])["Addresses"]],
        "instances": instances,
        "load-balancers": lambda: [(lb["LoadBalancerArn"], lb["Type"]) for lb in
                                   paginate(c["elbv2"], "describe_load_balancers", "LoadBalancers")],
        "clusters": lambda: list(paginate(eks, "list_clusters", "clusters")),
        "cluster": lambda: cluster_tags(eks, s.cluster_name),
        "offerings": offerings,
        "versions": versions,
    })
    return calls


def second_batch(c: dict[str, Any], first: dict[str, Answer]) -> dict[str, Callable[[], Any]]:
    calls: dict[str, Callable[[], Any]] = {}
    subnets = sorted({subnet for _, subnet, _ in first["nat-gateways"].value or []})
    if subnets:
        calls["nat-subnets"] = lambda: {x["SubnetId"]: x["AvailabilityZone"] for x in paginate(
            c["ec2"], "describe_subnets", "Subnets", SubnetIds=subnets)}
    arns = [arn for arn, _ in first["load-balancers"].value or []]
    for i in range(0, len(arns), ELB_TAGS_PER_CALL):
        chunk = arns[i:i + ELB_TAGS_PER_CALL]
        calls[f"lb-tags:{i // ELB_TAGS_PER_CALL}"] = lambda chunk=chunk: {
            d["ResourceArn"]: tag_dict(d.get("Tags")) for d in
            c["elbv2"].describe_tags(ResourceArns=chunk)["TagDescriptions"]}
    types = sorted({i["type"] for i in first["instances"].value or []
                    if not i["spot"] and i["type"][0] in STANDARD_FAMILIES})
    if types:
        calls["instance-vcpus"] = lambda: {t["InstanceType"]: t["VCpuInfo"]["DefaultVCpus"] for t in paginate(
            c["ec2"], "describe_instance_types", "InstanceTypes", InstanceTypes=types)}
    return calls


def run_batch(calls: dict[str, Callable[[], Any]], concurrent: bool = True) -> dict[str, Answer]:
    if concurrent and len(calls) > 1:
        with ThreadPoolExecutor(max_workers=len(calls)) as pool:
            futures = {name: pool.submit(call) for name, call in calls.items()}
        outcomes = {name: _outcome(f.result) for name, f in futures.items()}
    else:
        outcomes = {name: _outcome(call) for name, call in calls.items()}
    fatal = [o for o in outcomes.values() if isinstance(o, Unreachable)]
    if fatal:  # no network first: with it, a credentials message would send the user the wrong way
        raise next((o for o in fatal if o.kind == "network"), fatal[0])
    return outcomes  # type: ignore[return-value]


def _outcome(call: Callable[[], Any]) -> Answer | Unreachable:
    try:
        return Answer(call())
    except NO_NETWORK as err:
        return Unreachable(f"cannot reach AWS ({err}): check the network, a proxy (HTTPS_PROXY) or "
                           "AWS_ENDPOINT_URL; the credentials were not tried", "network")
    except NoCredentialsError:
        return Unreachable("no AWS credentials found: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and "
                           "AWS_SECRET_ACCESS_KEY", "credentials")
    except ClientError as err:
        code = err.response.get("Error", {}).get("Code", "?")
        if code in BAD_CREDENTIALS:
            return Unreachable(f"AWS refused the credentials ({code} on {err.operation_name}): renew them "
                               "(`aws sso login`, new keys) or pick another AWS_PROFILE", "credentials")
        return Answer(error=f"{code} on {err.operation_name}")
    except BotoCoreError as err:  # e.g. a profile that names no region or a broken config file
        return Unreachable(f"the AWS configuration does not work: {err}", "credentials")


def read_account(model: LabModel, clients: dict[str, Any] | None = None, concurrent: bool = True) -> Facts:
    c = clients or make_clients(model.settings.region)
    first = run_batch(first_batch(c, model), concurrent)
    second = run_batch(second_batch(c, first), concurrent)
    return Facts({**first, **second}, batches=2 if second else 1)

