"""Kubernetes versions EKS offers, and when each leaves standard support.

Source: the Amazon EKS Kubernetes release calendar (docs.aws.amazon.com/eks/
latest/userguide/kubernetes-versions.html), read 2026-11-21. A version is in
standard support for 14 months after its EKS release, then in extended support
for 12 more at six times the control-plane price ($0.60 instead of $0.10 an
hour). Update this table when EKS releases a version.
"""

from __future__ import annotations

import datetime as dt

# End of standard support per minor version; None: in standard support, date
# not yet published in the calendar when this table was written.
STANDARD_SUPPORT_ENDS: dict[str, dt.date | None] = {
    "1.33": dt.date(2026, 7, 29),
    "1.34": dt.date(2026, 12, 2),
    "1.35": dt.date(2027, 3, 27),
    "1.36": None,
}

DEFAULT_VERSION = "1.36"

# A lab created today may live for days; a version whose standard support ends
# this soon would be billed at the extended price before the lab is gone.
EXTENDED_MARGIN = dt.timedelta(days=30)

STANDARD_CONTROL_PLANE_USD_HOUR = 0.10
EXTENDED_CONTROL_PLANE_USD_HOUR = 0.60

# The cluster's upgradePolicy.supportType. EKS (and so pulumi-eks 4.x) defaults to EXTENDED: a
# cluster kept past its version's standard support would stay, billed at the extended rate.
STANDARD, EXTENDED = "STANDARD", "EXTENDED"


def in_extended_support(version: str, today: dt.date) -> bool:
    ends = STANDARD_SUPPORT_ENDS[version]
    return ends is not None and today + EXTENDED_MARGIN >= ends


def support_type(version: str, allow_extended: bool, today: dt.date) -> str:
    """STANDARD (EKS upgrades the cluster at the end of standard support) unless the user allowed
    extended support for a version that needs it: one EKS has in extended support, or within
    the margin of it. EKS refuses STANDARD for a cluster already in extended support."""
    known = version in STANDARD_SUPPORT_ENDS
    return EXTENDED if allow_extended and known and in_extended_support(version, today) else STANDARD


def standard_versions(today: dt.date) -> list[str]:
    return [v for v in STANDARD_SUPPORT_ENDS if not in_extended_support(v, today)]
