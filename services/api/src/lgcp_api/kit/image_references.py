"""Container image references, checked against the OCI distribution reference grammar."""

from __future__ import annotations

import re

_HOST_COMPONENT = r"(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)"
_DOMAIN = rf"(?:{_HOST_COMPONENT}(?:\.{_HOST_COMPONENT})*|\[[0-9a-fA-F:]+\])(?::[0-9]+)?"
_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
_REFERENCE = re.compile(
    rf"^(?P<name>(?:{_DOMAIN}/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*)"
    rf"(?::(?P<tag>{_TAG}))?(?:@(?P<digest>{_DIGEST}))?$"
)
MAX_NAME_LENGTH = 255


def check_image_reference(value: str) -> str:
    """Returns `value` when it is a valid reference such as `registry:5000/team/agent:1.2`."""
    match = _REFERENCE.match(value)
    if match is None:
        raise ValueError(
            "is not a container image reference (expected [registry/]repository[:tag][@digest], "
            "e.g. registry.example.com/team/agent:1.0)"
        )
    if len(match["name"]) > MAX_NAME_LENGTH:
        raise ValueError(f"repository name must be at most {MAX_NAME_LENGTH} characters")
    return value


def image_version(value: str) -> str:
    """What the list filter `image_version` matches: the tag, else the digest, else `latest`."""
    match = _REFERENCE.match(value)
    if match is None:
        return ""
    return match["tag"] or match["digest"] or "latest"
