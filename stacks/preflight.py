"""Before the first resource: the settings, the lab model, and every check that can refuse them.

A refusal is a pulumi.RunError, which Pulumi prints without a Python traceback,
listing every problem with its key; nothing has been registered by then.
"""

from __future__ import annotations

import datetime as dt

import pulumi
import pulumi_aws as aws
from pulumi.runtime import config as runtime_config

from stacks import fit
from stacks.config_reader import NAMESPACE as CONFIG_NAMESPACE, SettingsError
from stacks.model import LabModel, lab_model
from stacks.settings import LabSettings, load

# Zones where EKS refuses control planes (EKS user guide, "View Amazon EKS networking
# requirements for VPC and subnets", network_reqs.html). Zone names map to these IDs
# differently in each account, so the check asks the account.
EKS_REFUSED_ZONE_IDS = {"use1-az3": "us-east-1", "usw1-az2": "us-west-1", "cac1-az3": "ca-central-1"}


def raw_config() -> tuple[dict[str, str], str | None, list[str]]:
    """Every `lab:` key of the stack's config (without the prefix), aws:region, and the keys
    of other namespaces."""
    everything = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    prefix = f"{CONFIG_NAMESPACE}:"
    lab = {k[len(prefix):]: v for k, v in everything.items() if k.startswith(prefix)}
    return lab, everything.get("aws:region"), [k for k in everything if not k.startswith(prefix)]


def checked_model(now: dt.datetime | None = None) -> LabModel:
    """The validated settings, their lab model, the fit of its pods and addresses, and the zones."""
    lab, region, other_keys = raw_config()
    try:
        model = lab_model(load(lab, region, pulumi.get_stack(), now, other_keys))
        problems = fit.problems(model) + zone_problems(model.settings)
        if problems:
            raise SettingsError(problems)
    except SettingsError as err:
        # RunError: Pulumi prints the message alone, without a Python traceback.
        raise pulumi.RunError(str(err)) from None
    return model


def zone_problems(s: LabSettings) -> list[str]:
    """Configured zones must exist in the region (for this account) and take EKS control planes."""
    found = aws.get_availability_zones(state="available")
    ids = dict(zip(found.names, found.zone_ids))
    problems = []
    for i, zone in enumerate(s.availability_zones):
        key = f"lab:availabilityZones[{i}]"
        if zone not in ids:
            problems.append(f"{key} = {zone!r}: not an available zone of {s.region} for this account; "
                            f"available: {', '.join(sorted(ids))}")
        elif ids[zone] in EKS_REFUSED_ZONE_IDS:
            usable = sorted(z for z, zid in ids.items() if zid not in EKS_REFUSED_ZONE_IDS)
            problems.append(f"{key} = {zone!r}: it is zone {ids[zone]} in this account, where EKS creates no "
                            f"control planes; choose among {', '.join(usable)}")
    return problems
