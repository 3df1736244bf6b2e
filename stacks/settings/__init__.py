"""The lab's settings: one typed, validated object built from Pulumi config.

Defaults are the values of the posts (docs/lessons.md, "The posts"), except where today's
AWS asks for better (the Kubernetes version). Every bad value is reported, with its key and
what is allowed, before the program registers a single resource. By topic:
`network`, `cluster`, `apps`; `load` puts them together.
"""

from stacks.settings.cluster import iso
from stacks.settings.load import load
from stacks.settings.network import DEFAULT_REGION
from stacks.settings.types import (MODULE_KEYS, MODULE_NEEDS, PROJECT, IngressNginxSettings, LabSettings, Modules,
                                   NodeGroupSettings, TraefikSettings)

__all__ = ["DEFAULT_REGION", "MODULE_KEYS", "MODULE_NEEDS", "PROJECT", "IngressNginxSettings", "LabSettings",
           "Modules", "NodeGroupSettings", "TraefikSettings", "iso", "load"]
