"""Refusing cross-site form posts: the Origin (or Sec-Fetch-Site) must be this site, and the
form must carry the CSRF token bound to the session. Either check alone would do against
today's browsers; both together also cover old browsers and proxies that drop headers."""

from __future__ import annotations

import hmac
from urllib.parse import urlsplit

_DEFAULT_PORTS = {"http": "80", "https": "443"}


def _host_port(host: str, scheme: str) -> str:
    host = host.lower()
    default = _DEFAULT_PORTS.get(scheme)
    if default and host.endswith(f":{default}"):
        host = host[: -len(default) - 1]
    return host


def same_origin(origin: str | None, fetch_site: str | None, host: str | None) -> bool:
    """Whether a POST came from a page of this site. The scheme is not compared: TLS usually
    ends at the ingress, so the API sees http while the browser's Origin says https."""
    if origin and origin != "null":
        parts = urlsplit(origin)
        if not parts.netloc or not host:
            return False
        return _host_port(parts.netloc, parts.scheme) == _host_port(host, parts.scheme)
    if origin == "null":
        # Sandboxed frames and some redirects send a literal "null": never our own pages.
        return False
    # No Origin (old browsers): fall back to Fetch Metadata when present.
    return fetch_site in (None, "same-origin", "none")


def token_matches(expected: str, given: str | None) -> bool:
    """Constant-time comparison of the session's token with the form's."""
    return given is not None and hmac.compare_digest(expected.encode(), given.encode())
