"""LGCP_LISTENER_WAKEUP_SOURCE: which path wakes the listener (the default stays Redis)."""

import pytest
from pydantic import ValidationError
from test_settings import load


def test_the_default_wakeup_source_is_redis(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load(monkeypatch).control_plane.wakeup_source == "redis"


def test_http_wakeups_need_no_redis(monkeypatch: pytest.MonkeyPatch) -> None:
    config = load(monkeypatch, LGCP_LISTENER_WAKEUP_SOURCE="http").control_plane
    assert (config.wakeup_source, config.redis_url) == ("http", None)


def test_an_unknown_wakeup_source_is_refused_naming_the_field(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValidationError) as caught:
        load(monkeypatch, LGCP_LISTENER_WAKEUP_SOURCE="sse")
    (error,) = caught.value.errors()
    assert error["loc"] == ("wakeup_source",)
    assert "'redis' or 'http'" in error["msg"]
