"""Configuration from LGCP_LISTENER_* variables."""

import pytest
from pydantic import ValidationError

from lgcp_listener.settings import Settings

BASE = {
    "LGCP_LISTENER_API_URL": "http://api/api-host", "LGCP_LISTENER_API_KEY": "k",
    "LGCP_LISTENER_COMPUTE_ID": "c1", "LGCP_LISTENER_NAMESPACES": "a, b",
    "LGCP_LISTENER_DATABASE_MODE": "external",
    "LGCP_LISTENER_EXTERNAL_DATABASE_URI_TEMPLATE": "postgresql://x/{database}",
    "LGCP_LISTENER_EXTERNAL_REDIS_URI_TEMPLATE": "redis://r:6379/0",
}


def load(monkeypatch, **extra):
    for key, value in {**BASE, **extra}.items():
        monkeypatch.setenv(key, value)
    return Settings()


def test_namespaces_split_and_default_is_first(monkeypatch):
    s = load(monkeypatch, LGCP_LISTENER_BASE_PATH="/langsmith/")
    assert s.namespaces == ["a", "b"] and s.default_namespace == "a" and s.lease_namespace == "a"
    assert s.base_path == "/langsmith"


def test_default_namespace_outside_watched_is_rejected(monkeypatch):
    with pytest.raises(ValidationError, match="default_namespace"):
        load(monkeypatch, LGCP_LISTENER_DEFAULT_NAMESPACE="z")


def test_shared_mode_names_missing_settings(monkeypatch):
    with pytest.raises(ValidationError, match="postgres_admin_url"):
        load(monkeypatch, LGCP_LISTENER_DATABASE_MODE="shared")


def test_external_mode_needs_both_templates(monkeypatch):
    monkeypatch.delenv("LGCP_LISTENER_EXTERNAL_REDIS_URI_TEMPLATE", raising=False)
    base = {k: v for k, v in BASE.items() if k != "LGCP_LISTENER_EXTERNAL_REDIS_URI_TEMPLATE"}
    for key, value in base.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(ValidationError, match="external_redis_uri_template"):
        Settings()


def test_secrets_are_not_shown_in_repr(monkeypatch):
    s = load(monkeypatch, LGCP_LISTENER_API_KEY="very-secret-key")
    assert "very-secret-key" not in repr(s)


def test_compute_id_must_be_a_label_value(monkeypatch):
    with pytest.raises(ValidationError, match="compute_id"):
        load(monkeypatch, LGCP_LISTENER_COMPUTE_ID="has spaces/and slashes")


def test_namespaces_must_be_dns_labels(monkeypatch):
    with pytest.raises(ValidationError, match="Bad_NS"):
        load(monkeypatch, LGCP_LISTENER_NAMESPACES="good,Bad_NS")


def test_dedicated_mode_is_refused_clearly(monkeypatch):
    with pytest.raises(ValidationError, match="dedicated is not supported"):
        load(monkeypatch, LGCP_LISTENER_DATABASE_MODE="dedicated")
