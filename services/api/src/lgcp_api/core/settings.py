"""Configuration from the environment (prefix `LGCP_`), checked once at start."""

from __future__ import annotations

import secrets
from typing import Literal
from urllib.parse import quote, urlsplit, urlunsplit

from cryptography.fernet import Fernet
from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Values that show up in examples and tutorials; refusing them outside local mode stops a
# copy-pasted configuration from reaching production.
_WELL_KNOWN_SECRETS = {"changeme", "change-me", "secret", "password", "admin", "default", "test"}
_MIN_SECRET_LENGTH = 32


class Settings(BaseSettings):
    """Every setting of the API; see services/api/README.md for the table."""

    # Errors never repeat an input: the values include URLs with passwords and keys.
    model_config = SettingsConfigDict(env_prefix="LGCP_", extra="ignore", hide_input_in_errors=True)

    # Secret: the URLs carry passwords (repr and errors show them as '**********').
    database_url: SecretStr = Field(description="postgresql:// URL of the control plane's database")
    redis_url: SecretStr | None = Field(default=None, description="redis:// URL for notifications")
    # Passwords given apart from their URLs (the chart does): put into the URL percent-encoded,
    # so any character works (a password with @ / : % breaks a URL it is pasted into).
    database_password: SecretStr | None = Field(default=None, description="password for LGCP_DATABASE_URL")
    redis_password: SecretStr | None = Field(default=None, description="password for LGCP_REDIS_URL")
    secret_key: SecretStr | None = Field(default=None, description="keys the HMAC of API keys")
    encryption_keys: SecretStr | None = Field(
        default=None, description="comma-separated Fernet keys; the first encrypts, all decrypt"
    )
    admin_api_key: SecretStr | None = Field(default=None, description="bootstrap admin key")
    listener_api_key: SecretStr | None = Field(
        default=None, description="bootstrap key with the listener role, in the default tenant"
    )
    base_path: str = Field(default="/", description="prefix in front of /api-host")
    # The web UI (lgcp_api.ui).
    ui_path: str = Field(default="/ui", description="where the web UI is served, under base_path")
    ui_cookie_secure: bool = Field(default=True, description="mark the UI's session cookie Secure (HTTPS only)")
    langsmith_hostname: str | None = Field(
        default=None,
        max_length=253,
        pattern=r"^[A-Za-z0-9.-]+(:[0-9]{1,5})?$",
        description="host the agents are served on; the UI shows https://<host><base>/lgp/<name>",
    )
    environment: str = Field(default="production", description="`local` allows generated secrets")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    db_pool_min_size: int = Field(default=2, ge=1, le=100)
    db_pool_max_size: int = Field(default=20, ge=1, le=500)
    redis_timeout_seconds: float = Field(default=0.5, gt=0, le=30)
    auth_cache_seconds: float = Field(
        default=5, ge=0, le=300, description="how long a checked key is trusted; 0 disables"
    )

    @field_validator("base_path")
    @classmethod
    def _normalise_base_path(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError("LGCP_BASE_PATH must start with '/' (e.g. '/' or '/langsmith')")
        return value.rstrip("/")

    @field_validator("ui_path")
    @classmethod
    def _normalise_ui_path(cls, value: str) -> str:
        value = value.rstrip("/")
        if not value.startswith("/") or value in ("", "/api-host") or "//" in value:
            raise ValueError("LGCP_UI_PATH must be a path like '/ui', other than '/' and '/api-host'")
        return value

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().startswith(("postgresql://", "postgres://")):
            raise ValueError("LGCP_DATABASE_URL must be a postgresql:// URL")
        return value

    @model_validator(mode="after")
    def _insert_passwords(self) -> Settings:
        if self.database_password is not None:
            self.database_url = SecretStr(
                url_with_password(self.database_url.get_secret_value(), self.database_password.get_secret_value())
            )
        if self.redis_password is not None:
            if self.redis_url is None:
                raise ValueError("LGCP_REDIS_PASSWORD needs LGCP_REDIS_URL")
            self.redis_url = SecretStr(
                url_with_password(self.redis_url.get_secret_value(), self.redis_password.get_secret_value())
            )
        return self

    @model_validator(mode="after")
    def _refuse_weak_secrets(self) -> Settings:
        local = self.is_local
        for name in ("secret_key", "admin_api_key", "listener_api_key"):
            value: SecretStr | None = getattr(self, name)
            if value is None or local:
                continue
            plain = value.get_secret_value()
            if plain.lower() in _WELL_KNOWN_SECRETS or len(plain) < _MIN_SECRET_LENGTH:
                raise ValueError(
                    f"LGCP_{name.upper()} is a default or shorter than {_MIN_SECRET_LENGTH} "
                    "characters; set a random value (e.g. `openssl rand -hex 32`)"
                )
        if (
            self.admin_api_key is not None
            and self.listener_api_key is not None
            and self.admin_api_key.get_secret_value() == self.listener_api_key.get_secret_value()
        ):
            # One stored key has one role: the listener would end up an admin (and be refused).
            raise ValueError("LGCP_LISTENER_API_KEY must differ from LGCP_ADMIN_API_KEY")
        if not local:
            if self.secret_key is None:
                raise ValueError("LGCP_SECRET_KEY is required outside LGCP_ENVIRONMENT=local")
            if self.encryption_keys is None:
                raise ValueError(
                    "LGCP_ENCRYPTION_KEYS is required outside LGCP_ENVIRONMENT=local "
                    "(generate one with `python -c 'from cryptography.fernet import Fernet; "
                    "print(Fernet.generate_key().decode())'`)"
                )
        if self.encryption_keys is not None:
            for index, key in enumerate(self.encryption_key_list):
                try:
                    Fernet(key)
                except ValueError:
                    raise ValueError(
                        f"LGCP_ENCRYPTION_KEYS entry {index + 1} is not a Fernet key (32 url-safe base64-encoded bytes)"
                    ) from None
        if self.db_pool_min_size > self.db_pool_max_size:
            raise ValueError("LGCP_DB_POOL_MIN_SIZE must not exceed LGCP_DB_POOL_MAX_SIZE")
        return self

    @property
    def database_dsn(self) -> str:
        """The database URL to connect with (never to log)."""
        return self.database_url.get_secret_value()

    @property
    def redis_dsn(self) -> str | None:
        """The Redis URL to connect with (never to log), or None."""
        return self.redis_url.get_secret_value() if self.redis_url is not None else None

    @property
    def is_local(self) -> bool:
        return self.environment == "local"

    @property
    def encryption_key_list(self) -> list[str]:
        if self.encryption_keys is None:
            return []
        return [k.strip() for k in self.encryption_keys.get_secret_value().split(",") if k.strip()]

    @property
    def api_prefix(self) -> str:
        """Where the LangSmith-compatible API is served, e.g. `/langsmith/api-host`."""
        return f"{self.base_path}/api-host"

    @property
    def ui_prefix(self) -> str:
        """Where the web UI is served, e.g. `/langsmith/ui`."""
        return f"{self.base_path}{self.ui_path}"

    def with_local_defaults(self) -> Settings:
        """In local mode, fills missing secrets with random ones (they last one process only)."""
        if not self.is_local:
            return self
        update: dict[str, SecretStr] = {}
        if self.secret_key is None:
            update["secret_key"] = SecretStr(secrets.token_urlsafe(48))
        if self.encryption_keys is None:
            update["encryption_keys"] = SecretStr(Fernet.generate_key().decode())
        return self.model_copy(update=update)


def url_with_password(url: str, password: str) -> str:
    """`url` with `password` (percent-encoded) in place of any password it has."""
    parts = urlsplit(url)
    user = parts.netloc.rpartition("@")[0].partition(":")[0]
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{user}:{quote(password, safe='')}@{host}"))
