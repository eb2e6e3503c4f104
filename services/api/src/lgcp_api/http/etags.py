"""ETags from row versions, and If-Match preconditions (412 when they do not hold)."""

from __future__ import annotations

from fastapi import HTTPException, status


def etag(version: int) -> str:
    """A strong ETag for a row's version counter, bumped on every change of the row."""
    return f'"{version}"'


def check_if_match(if_match: str | None, version: int) -> None:
    """Raises 412 unless If-Match is absent, `*`, or lists the current ETag."""
    if if_match is None:
        return
    candidates = [c.strip() for c in if_match.split(",")]
    if "*" in candidates or etag(version) in candidates:
        return
    raise HTTPException(
        status.HTTP_412_PRECONDITION_FAILED,
        f"If-Match does not match the current ETag {etag(version)}; read the resource again",
    )
