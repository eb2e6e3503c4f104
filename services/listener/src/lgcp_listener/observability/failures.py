"""Failures described for a log line or a metric label, without the secret values they may carry."""

from __future__ import annotations

from pydantic import ValidationError


def describe_failure(exc: BaseException) -> str:
    """What went wrong, fit for a log line: a desired state that does not parse is described
    by where and why only, since pydantic's own text repeats the input, secret values included."""
    if isinstance(exc, ValidationError):
        return "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
            for e in exc.errors(include_input=False, include_url=False)
        )
    return str(exc)
