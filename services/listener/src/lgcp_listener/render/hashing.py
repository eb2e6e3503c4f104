"""A stable fingerprint of a rendered object, stored on it so unchanged objects are not rewritten."""

from __future__ import annotations

import hashlib
import json

from lgcp_contract.labels import APPLIED_HASH

from ..objects import Manifest


def content_hash(value: object) -> str:
    """sha256 (first 32 hex digits) of the canonical JSON of `value`: equal content, equal hash."""
    canonical = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


def stamp(manifest: Manifest) -> Manifest:
    """Sets the applied-hash annotation to the hash of the manifest without that annotation."""
    annotations = manifest.setdefault("metadata", {}).setdefault("annotations", {})
    annotations.pop(APPLIED_HASH, None)
    annotations[APPLIED_HASH] = content_hash(manifest)
    return manifest


def applied_hash(live: Manifest | None) -> str | None:
    """The hash a live object was last applied with, or None."""
    if not live:
        return None
    return ((live.get("metadata") or {}).get("annotations") or {}).get(APPLIED_HASH)
