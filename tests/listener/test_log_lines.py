"""Pure parts of runtime log collection (issue 17): a line's time and level, redaction by value."""

from __future__ import annotations

import datetime as dt

import pytest
from lgcp_listener.logs.lines import REDACTED, level_of, redactor, split_timestamp


def test_a_timestamped_line_splits_into_time_and_text() -> None:
    stamp, text = split_timestamp("2026-12-01T22:00:01.123456789Z server started on :8000")
    assert stamp is not None and stamp.replace(microsecond=0) == dt.datetime(2026, 12, 1, 22, 0, 1, tzinfo=dt.UTC)
    assert text == "server started on :8000"
    assert split_timestamp("no time here") == (None, "no time here")


@pytest.mark.parametrize(
    ("line", "level"),
    [
        ('{"level": "error", "event": "boom"}', "ERROR"),
        ('{"severity": "WARN", "msg": "slow"}', "WARNING"),
        ('{"levelname": "DEBUG"}', "DEBUG"),
        ("Traceback (most recent call last):", "ERROR"),
        ("2026-12-01 22:00:01 [error    ] graph failed", "ERROR"),
        ("WARNING: low memory", "WARNING"),
        ("FATAL: cannot bind", "CRITICAL"),
        ("just a line", "INFO"),
        ('{"level": "loud"}', "INFO"),
    ],
)
def test_the_level_a_line_says(line: str, level: str) -> None:
    assert level_of(line) == level


def test_secret_values_are_redacted_wherever_they_appear() -> None:
    redact = redactor(["sk-very-secret", "sk-very-secret-and-longer", "abc"])
    assert redact("key=sk-very-secret-and-longer!") == f"key={REDACTED}!"
    assert redact("a sk-very-secret b sk-very-secret") == f"a {REDACTED} b {REDACTED}"
    assert redact("abc stays: too short to redact safely") == "abc stays: too short to redact safely"
    assert redactor([])("unchanged") == "unchanged"
    assert redactor(["a.b*c"])("x a.b*c y axbbc") == f"x {REDACTED} y axbbc"  # values, not patterns
