"""Kubernetes quantities as the metrics API writes them ("250m", "123456n", "64Mi")."""

from __future__ import annotations

_SUFFIXES = {
    "n": 1e-9,
    "u": 1e-6,
    "m": 1e-3,
    "": 1.0,
    "k": 1e3,
    "M": 1e6,
    "G": 1e9,
    "T": 1e12,
    "Ki": 2.0**10,
    "Mi": 2.0**20,
    "Gi": 2.0**30,
    "Ti": 2.0**40,
}


def parse_quantity(text: str) -> float:
    """The quantity's value in base units; ValueError naming it when it is not one."""
    value = text.strip()
    for suffix in sorted(_SUFFIXES, key=len, reverse=True):
        if suffix and value.endswith(suffix):
            number, factor = value[: -len(suffix)], _SUFFIXES[suffix]
            break
    else:
        number, factor = value, 1.0
    try:
        return float(number) * factor
    except ValueError:
        raise ValueError(f"{text!r} is not a Kubernetes quantity") from None
