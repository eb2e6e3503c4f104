"""Configuration from LGCP_LISTENER_* variables."""

import pytest
from lgcp_listener.settings import Settings
from pydantic import ValidationError

BASE = {
    "LGCP_LISTENER_API_URL": "http://api/api-host",
    "LGCP_LISTENER_API_KEY": "k",
    "LGCP_LISTENER_COMPUTE_ID": "c1",
    "LGCP_LISTENER_NAMESPACES": "a, b",
    "LGCP_LISTENER_DATABASE_MODE": "external",
    "LGCP_LISTENER_EXTERNAL_DATABASE_URI_TEMPLATE": "postgresql://x/{database}",
    "LGCP_LISTENER_EXTERNAL_REDIS_URI_TEMPLATE": "redis://r:6379/0",
}


def load(monkeypatch: pytest.MonkeyPatch, **extra: str) -> Settings:
    for key, value in {**BASE, **extra}.items():
        monkeypatch.setenv(key, value)
    return Settings()


def test_namespaces_split_and_default_is_first(monkeypatch: pytest.MonkeyPatch) -> None:
    s = load(monkeypatch, LGCP_LISTENER_BASE_PATH="/langsmith/")
    assert s.namespaces == ["a", "b"] and s.default_namespace == "a" and s.lease_namespace == "a"
    assert s.base_path == "/langsmith"


def test_default_namespace_outside_watched_is_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValidationError, match="default_namespace"):
        load(monkeypatch, LGCP_LISTENER_DEFAULT_NAMESPACE="z")


def test_shared_mode_names_missing_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValidationError, match="postgres_admin_url"):
        load(monkeypatch, LGCP_LISTENER_DATABASE_MODE="shared")


def test_external_mode_needs_both_templates(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LGCP_LISTENER_EXTERNAL_REDIS_URI_TEMPLATE", raising=False)
    base = {k: v for k, v in BASE.items() if k != "LGCP_LISTENER_EXTERNAL_REDIS_URI_TEMPLATE"}
    for key, value in base.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(ValidationError, match="external_redis_uri_template"):
        Settings()


def test_secrets_are_not_shown_in_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    s = load(monkeypatch, LGCP_LISTENER_API_KEY="very-secret-key")
    assert "very-secret-key" not in repr(s)


def test_compute_id_must_be_a_label_value(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValidationError, match="compute_id"):
        load(monkeypatch, LGCP_LISTENER_COMPUTE_ID="has spaces/and slashes")


def test_namespaces_must_be_dns_labels(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValidationError, match="Bad_NS"):
        load(monkeypatch, LGCP_LISTENER_NAMESPACES="good,Bad_NS")


def test_dedicated_mode_needs_nothing_else_and_defaults_to_the_charts_images(monkeypatch: pytest.MonkeyPatch) -> None:
    s = load(monkeypatch, LGCP_LISTENER_DATABASE_MODE="dedicated")
    assert s.database_mode == "dedicated"
    assert (s.dedicated_postgres_image, s.dedicated_redis_image) == ("postgres:16.4", "redis:7.4")
    assert s.dedicated_postgres_storage_size == "8Gi" and s.dedicated_postgres_storage_class is None
    assert s.dedicated_postgres_resources["limits"] == {"memory": "1Gi"}


def test_dedicated_settings_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    s = load(
        monkeypatch,
        LGCP_LISTENER_DATABASE_MODE="dedicated",
        LGCP_LISTENER_DEDICATED_POSTGRES_IMAGE="mirror.example.com/postgres@sha256:" + "a" * 64,
        LGCP_LISTENER_DEDICATED_POSTGRES_STORAGE_SIZE="20Gi",
        LGCP_LISTENER_DEDICATED_POSTGRES_STORAGE_CLASS="fast-ssd",
        LGCP_LISTENER_DEDICATED_REDIS_RESOURCES='{"requests": {"cpu": "10m"}, "limits": {"memory": "64Mi"}}',
        LGCP_LISTENER_DEDICATED_IMAGE_PULL_SECRETS="mirror, other",
    )
    assert s.dedicated_postgres_storage_class == "fast-ssd" and s.dedicated_postgres_storage_size == "20Gi"
    assert s.dedicated_redis_resources == {"requests": {"cpu": "10m"}, "limits": {"memory": "64Mi"}}
    assert s.dedicated_image_pull_secrets == ["mirror", "other"]
    # JSON numbers are quantities too (the chart's values may hold them).
    numbers = load(
        monkeypatch, LGCP_LISTENER_DEDICATED_POSTGRES_RESOURCES='{"requests": {"cpu": 0.5, "memory": 1073741824}}'
    )
    assert numbers.dedicated_postgres_resources == {"requests": {"cpu": "0.5", "memory": "1073741824"}}
    assert load(monkeypatch, LGCP_LISTENER_DEDICATED_POSTGRES_STORAGE_CLASS="").dedicated_postgres_storage_class is None


@pytest.mark.parametrize(
    "variable, value, reason",
    [
        ("DEDICATED_POSTGRES_IMAGE", "has spaces:1", "image reference"),
        ("DEDICATED_REDIS_IMAGE", "", "image reference"),
        ("DEDICATED_POSTGRES_STORAGE_SIZE", "lots", "Kubernetes quantity"),
        ("DEDICATED_POSTGRES_STORAGE_SIZE", "0", "positive size"),
        ("DEDICATED_POSTGRES_STORAGE_SIZE", "500m", "positive size"),
        ("DEDICATED_POSTGRES_STORAGE_CLASS", "Fast_SSD", "StorageClass name"),
        ("DEDICATED_POSTGRES_RESOURCES", "cpu=1", "must be JSON"),
        ("DEDICATED_POSTGRES_RESOURCES", '{"requests": {"gpu": "1"}}', "may only name"),
        ("DEDICATED_REDIS_RESOURCES", '{"requests": {"memory": "-1"}}', "Kubernetes quantity"),
        ("DEDICATED_REDIS_RESOURCES", '{"requests": {"memory": true}}', "positive Kubernetes quantity"),
        (
            "DEDICATED_REDIS_RESOURCES",
            '{"requests": {"memory": "2Gi"}, "limits": {"memory": "1Gi"}}',
            "above its limit",
        ),
        ("DEDICATED_IMAGE_PULL_SECRETS", "ok,Not_OK", "Secret names"),
    ],
)
def test_bad_dedicated_settings_are_refused_naming_the_field(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, reason: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        load(monkeypatch, LGCP_LISTENER_DATABASE_MODE="dedicated", **{f"LGCP_LISTENER_{variable}": value})
    (error,) = caught.value.errors()
    assert error["loc"] == (variable.lower(),)
    assert reason in error["msg"]


@pytest.mark.parametrize("value", ["-1", "51", "some"])
def test_spare_databases_out_of_range_is_refused_naming_the_field(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    assert load(monkeypatch).spare_databases == 3
    with pytest.raises(ValidationError) as caught:
        load(monkeypatch, LGCP_LISTENER_SPARE_DATABASES=value)
    (error,) = caught.value.errors()
    assert error["loc"] == ("spare_databases",)
