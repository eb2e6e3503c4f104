"""Pure pieces of log collection: a container log line's time and level, and redaction of
secret values by value."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

REDACTED = "[REDACTED]"
Redact = Callable[[str], str]
# Shorter values would redact common words; the API refuses nothing shorter for real keys anyway.
MIN_REDACTED_LENGTH = 4
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_ALIASES = {"WARN": "WARNING", "FATAL": "CRITICAL", "ERR": "ERROR", "TRACE": "DEBUG", "EXCEPTION": "ERROR"}
_LEVEL_WORD = re.compile(r"\b(DEBUG|INFO|WARNING|WARN|ERROR|ERR|CRITICAL|FATAL|TRACE|EXCEPTION)\b", re.IGNORECASE)


@dataclass(frozen=True)
class Entry:
    """One log entry as the API takes it (`lgcp_api.logs.schemas.LogEntryIn`)."""

    timestamp: dt.datetime
    level: str
    origin: str
    message: str
    revision_id: str | None

    def body(self) -> dict[str, object]:
        return {
            "timestamp": self.timestamp.isoformat(),
            "level": self.level,
            "origin": self.origin,
            "message": self.message,
            "revision_id": self.revision_id,
        }


def split_timestamp(line: str) -> tuple[dt.datetime | None, str]:
    """A line of `GET .../log?timestamps=true`: "<RFC 3339 time> <text>"."""
    stamp, _, text = line.partition(" ")
    try:
        return dt.datetime.fromisoformat(stamp.replace("Z", "+00:00")), text
    except ValueError:
        return None, line


def level_of(text: str) -> str:
    """The level a line says it is: a JSON log's `level`/`severity`, else the first level word,
    a Python traceback being an error; INFO otherwise."""
    if text.startswith("{"):
        try:
            record = json.loads(text)
        except ValueError:
            record = None
        if isinstance(record, dict):
            for key in ("level", "severity", "levelname"):
                value = record.get(key)
                if isinstance(value, str) and (normal := _normal(value)):
                    return normal
    if text.startswith("Traceback (most recent call last)"):
        return "ERROR"
    word = _LEVEL_WORD.search(text[:200])
    return _normal(word.group(1)) or "INFO" if word else "INFO"


def _normal(word: str) -> str | None:
    upper = word.upper()
    upper = _ALIASES.get(upper, upper)
    return upper if upper in LEVELS else None


def redactor(secrets: Iterable[str]) -> Redact:
    """Replaces every occurrence of each secret value; longest first, so a value containing
    another is not left half shown."""
    values = sorted({s for s in secrets if len(s) >= MIN_REDACTED_LENGTH}, key=len, reverse=True)
    if not values:
        return lambda text: text
    pattern = re.compile("|".join(re.escape(v) for v in values))
    return lambda text: pattern.sub(REDACTED, text)
