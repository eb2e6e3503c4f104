"""The UI's settings: a bad value stops the process with the variable's name."""

from __future__ import annotations

import pytest
from lgcp_api.core.settings import Settings
from pydantic import ValidationError


def make(**values) -> Settings:
    return Settings(database_url="postgresql://u@h/db", environment="local", **values)


@pytest.mark.parametrize("path", ["/", "", "/api-host", "ui", "//ui"])
def test_ui_path_must_be_a_path_of_its_own(path):
    with pytest.raises(ValidationError, match="LGCP_UI_PATH"):
        make(ui_path=path)


def test_ui_prefix_follows_the_base_path():
    assert make().ui_prefix == "/ui"
    assert make(base_path="/langsmith/", ui_path="/console/").ui_prefix == "/langsmith/console"


def test_langsmith_hostname_is_a_host_not_a_url():
    assert make(langsmith_hostname="langsmith.example.com:8443").langsmith_hostname
    with pytest.raises(ValidationError, match="langsmith_hostname"):
        make(langsmith_hostname="https://langsmith.example.com/")
