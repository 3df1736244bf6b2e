"""When a lab expires: the `lab:expires` tag and the `expiresAt` output hold one ISO 8601 UTC instant.

No AWS and no Pulumi here: the audit, the reaper and the notice every ./lab command gives
with the local backend all read the instant the same way.
"""

from __future__ import annotations

from datetime import datetime, timezone


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def parse_expires(raw: str) -> datetime | None:
    """An aware UTC datetime, or None if `raw` is not an ISO 8601 instant."""
    try:
        value = datetime.fromisoformat(raw.strip())
    except (ValueError, AttributeError, TypeError):
        return None
    if value.tzinfo is None:
        return None  # a local time is ambiguous; insist on Z or an offset
    return value.astimezone(timezone.utc)
