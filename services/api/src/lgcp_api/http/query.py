"""Query parameters shared by several endpoints."""

from __future__ import annotations

import uuid

from .errors import field_error


def parse_ids(values: list[str], loc: tuple[str, ...]) -> list[uuid.UUID]:
    """Ids given as repeated parameters or comma-separated lists alike (blank items skipped);
    422 at `loc` naming the first one that is not a UUID."""
    ids = []
    for item in (p.strip() for v in values for p in v.split(",")):
        if not item:
            continue
        try:
            ids.append(uuid.UUID(item))
        except ValueError:
            raise field_error(loc, f"{item!r} is not a UUID") from None
    return ids
