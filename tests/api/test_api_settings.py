"""Settings: defaults refused outside local mode, with the variable named."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from lgcp_api.core.settings import Settings
from pydantic import ValidationError

DB = "postgresql://u:p@localhost/db"
GOOD = {"secret_key": "k" * 40, "encryption_keys": Fernet.generate_key().decode()}


def build(**values) -> Settings:
    return Settings(_env_file=None, database_url=DB, **values)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"encryption_keys": GOOD["encryption_keys"]}, "LGCP_SECRET_KEY is required"),
        ({"secret_key": GOOD["secret_key"]}, "LGCP_ENCRYPTION_KEYS is required"),
        ({**GOOD, "secret_key": "changeme"}, "LGCP_SECRET_KEY is a default"),
        ({**GOOD, "admin_api_key": "admin"}, "LGCP_ADMIN_API_KEY is a default"),
        ({**GOOD, "listener_api_key": "short"}, "LGCP_LISTENER_API_KEY is a default"),
        (
            {**GOOD, "admin_api_key": "x" * 40, "listener_api_key": "x" * 40},
            "LGCP_LISTENER_API_KEY must differ from LGCP_ADMIN_API_KEY",
        ),
        ({**GOOD, "encryption_keys": "not-a-key"}, "LGCP_ENCRYPTION_KEYS entry 1"),
        ({**GOOD, "base_path": "langsmith"}, "LGCP_BASE_PATH"),
        ({**GOOD, "database_url": "mysql://x"}, "LGCP_DATABASE_URL"),
    ],
)
def test_bad_settings_name_the_variable(values, message):
    values = {"database_url": DB, **values}
    with pytest.raises(ValidationError) as info:
        Settings(_env_file=None, **values)
    assert message in str(info.value)


def test_local_mode_generates_missing_secrets():
    settings = build(environment="local").with_local_defaults()
    assert len(settings.secret_key.get_secret_value()) >= 32
    Fernet(settings.encryption_key_list[0])


def test_base_path_sets_the_api_prefix():
    assert build(**GOOD).api_prefix == "/api-host"
    assert build(**GOOD, base_path="/langsmith/").api_prefix == "/langsmith/api-host"


def test_rotation_keeps_old_ciphertexts_readable():
    from lgcp_api.core.secret_box import SecretBox

    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    sealed = SecretBox([old]).seal([{"name": "A", "value": "1"}])
    assert SecretBox([new, old]).open(sealed) == [{"name": "A", "value": "1"}]


def test_connection_urls_never_show_their_passwords_in_reprs_or_errors():
    """Issue 14 defect 9: the URLs were plain strings, shown whole by repr() and in errors."""
    settings = Settings(
        _env_file=None,
        **GOOD,
        database_url="postgresql://lgcp:db-pw-never-shown@db/lgcp",
        redis_url="redis://:redis-pw-never-shown@redis:6379/0",
    )
    shown = repr(settings) + str(settings) + repr(settings.model_dump())
    assert "db-pw-never-shown" not in shown and "redis-pw-never-shown" not in shown
    # ... and still connect with the whole value.
    assert settings.database_url.get_secret_value() == "postgresql://lgcp:db-pw-never-shown@db/lgcp"
    with pytest.raises(ValidationError) as info:
        Settings(_env_file=None, **GOOD, database_url="mysql://lgcp:db-pw-never-shown@db/lgcp")
    assert "LGCP_DATABASE_URL" in str(info.value) and "db-pw-never-shown" not in str(info.value)
