"""Checks for names that end up in Kubernetes objects, so bad input fails here, not in the
listener. Each returns the value or raises ValueError with a message for the field."""

from __future__ import annotations

import re

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL_NAME = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
_SECRET_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")


def dns_label(value: str, max_length: int = 63) -> str:
    """RFC 1123 label: lower-case letters, digits and '-', starting and ending alphanumeric."""
    if len(value) > max_length:
        raise ValueError(f"must be at most {max_length} characters")
    if not _DNS_LABEL.match(value):
        raise ValueError(
            "must be a DNS label: lower-case letters, digits and '-', starting and ending with a letter or digit"
        )
    return value


def dns_subdomain(value: str) -> str:
    """RFC 1123 subdomain (names of Secrets, ServiceAccounts, ...)."""
    if len(value) > 253 or not _DNS_SUBDOMAIN.match(value):
        raise ValueError("must be a DNS subdomain: lower-case letters, digits, '-' and '.'")
    return value


def qualified_key(value: str) -> str:
    """A label or annotation key: optional `prefix/` (DNS subdomain) and a name of <= 63."""
    prefix, _, name = value.rpartition("/")
    if prefix:
        dns_subdomain(prefix)
    if len(name) > 63 or not _LABEL_NAME.match(name):
        raise ValueError(f"{value!r} is not a valid key: name part must be <= 63 alphanumerics, '-', '_', '.'")
    return value


def label_value(value: str) -> str:
    if value and (len(value) > 63 or not _LABEL_NAME.match(value)):
        raise ValueError(f"{value!r} is not a valid label value (<= 63 alphanumerics, '-', '_', '.')")
    return value


def secret_data_key(value: str) -> str:
    """A key inside a Secret's data."""
    if len(value) > 253 or not _SECRET_KEY.match(value):
        raise ValueError("must consist of alphanumerics, '-', '_' or '.'")
    return value
