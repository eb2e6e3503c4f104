"""Form fields <-> API bodies and API errors -> form fields (pure logic, no I/O).

A form field's name is its key everywhere: in the HTML, in the values kept after an error and
in the errors shown next to it (`cpu`, `secrets.0.name`, ...)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from typing import Any

RESOURCE_FIELDS = ("min_scale", "max_scale", "cpu", "cpu_limit", "memory_mb", "memory_limit_mb")
SECRET_COLUMNS = ("name", "value")
REFERENCE_COLUMNS = ("name", "secret_name", "secret_key")
# Where the API nests a form field; the first matching prefix is dropped from an error's loc.
_LOC_PREFIXES: tuple[tuple[tuple[str, ...], str], ...] = (
    (("source_revision_config", "image_uri"), "image_uri"),
    (("source_config", "listener_config", "k8s_namespace"), "k8s_namespace"),
    (("source_config", "listener_config"), "k8s_namespace"),
    (("source_config", "listener_id"), "listener_id"),
    (("source_config", "custom_url"), "custom_url"),
    (("source_config", "resource_spec"), ""),
    (("resource_spec",), ""),
)
_ROW_FIELD = re.compile(r"^(secrets|secret_references)\.(\d+)\.(\w+)$")
FORM_LEVEL = ""


def _text(form: Mapping[str, Any], key: str) -> str:
    value = form.get(key)
    return value.strip() if isinstance(value, str) else ""


def rows(form: Mapping[str, Any], group: str, columns: tuple[str, ...]) -> list[dict[str, str]]:
    """The filled rows of a repeated group (`secrets.0.name`, ...), in order, blank rows
    dropped. Secret values are kept exactly as typed (spaces may matter in a secret)."""
    found: dict[int, dict[str, str]] = {}
    for key, value in form.items():
        match = _ROW_FIELD.match(key)
        if match and match[1] == group and match[3] in columns and isinstance(value, str):
            found.setdefault(int(match[2]), {})[match[3]] = value if match[3] == "value" else value.strip()
    filled = []
    for index in sorted(found):
        row = {column: found[index].get(column, "") for column in columns}
        if any(row.values()):
            filled.append(row)
    return filled


def deployment_values(form: Mapping[str, Any]) -> dict[str, Any]:
    """What the user typed in the create or update form, normalised for re-display."""
    scalars = ("name", "image_uri", "listener_id", "k8s_namespace", "custom_url", *RESOURCE_FIELDS)
    values: dict[str, Any] = {key: _text(form, key) for key in scalars}
    values["secrets"] = rows(form, "secrets", SECRET_COLUMNS)
    values["secret_references"] = rows(form, "secret_references", REFERENCE_COLUMNS)
    values["replace_secrets"] = form.get("replace_secrets") == "on"
    return values


def _resource_spec(values: Mapping[str, Any]) -> dict[str, str]:
    # Numbers go to the API as typed: its validation names the field when one is not a number.
    return {key: values[key] for key in RESOURCE_FIELDS if values.get(key)}


def create_body(values: Mapping[str, Any]) -> dict[str, Any]:
    """The POST /v2/deployments body for the create form's values."""
    source_config: dict[str, Any] = {
        "listener_id": values["listener_id"],
        "resource_spec": _resource_spec(values),
    }
    if values.get("k8s_namespace"):
        source_config["listener_config"] = {"k8s_namespace": values["k8s_namespace"]}
    if values.get("custom_url"):
        source_config["custom_url"] = values["custom_url"]
    return {
        "name": values["name"],
        "source": "external_docker",
        "source_config": source_config,
        "source_revision_config": {"image_uri": values["image_uri"]},
        "secrets": values["secrets"],
        "secret_references": values["secret_references"],
    }


def _same_number(typed: str, current: str) -> bool:
    try:
        return float(typed) == float(current)
    except (TypeError, ValueError):
        return typed == current


def _changed(values: Mapping[str, Any], baseline: Mapping[str, Any]) -> dict[str, Any]:
    """What the user changed in the update form, compared with the state it was opened on."""
    changes: dict[str, Any] = {}
    if values["image_uri"] != baseline.get("image_uri"):
        changes["image_uri"] = values["image_uri"]
    for key in RESOURCE_FIELDS:
        if values.get(key) and not _same_number(values[key], baseline.get(key) or ""):
            changes[key] = values[key]
    if values["secret_references"] != baseline.get("secret_references"):
        changes["secret_references"] = values["secret_references"]
    return changes


def update_body(values: Mapping[str, Any], baseline: Mapping[str, Any]) -> dict[str, Any]:
    """The PATCH body with only what the user changed from `baseline` (the values the form was
    opened with): each part makes a new revision, and a field left alone must not overwrite
    someone else's change to it. Empty when nothing changed."""
    changes = _changed(values, baseline)
    body: dict[str, Any] = {}
    if "image_uri" in changes:
        body["source_revision_config"] = {"image_uri": changes["image_uri"]}
    spec = {key: changes[key] for key in RESOURCE_FIELDS if key in changes}
    if spec:
        body["source_config"] = {"resource_spec": spec}
    if values["replace_secrets"]:
        body["secrets"] = values["secrets"]
    if "secret_references" in changes:
        body["secret_references"] = changes["secret_references"]
    return body


def rebase(values: Mapping[str, Any], baseline: Mapping[str, Any], current: Mapping[str, Any]) -> dict[str, Any]:
    """The user's changes laid over a newer state (after a concurrent update)."""
    return {
        **current,
        **_changed(values, baseline),
        "secrets": values["secrets"],
        "replace_secrets": values["replace_secrets"],
    }


def values_of_deployment(deployment: Mapping[str, Any]) -> dict[str, Any]:
    """The update form's starting values: the deployment as it is (secret values are
    write-only, so the secret rows start empty)."""
    spec = deployment["source_config"]["resource_spec"]
    return {
        "image_uri": deployment["source_revision_config"]["image_uri"],
        **{key: "" if spec.get(key) is None else str(spec[key]) for key in RESOURCE_FIELDS},
        "secrets": [],
        "secret_references": [
            {column: ref[column] for column in REFERENCE_COLUMNS} for ref in deployment["secret_references"]
        ],
        "replace_secrets": False,
    }


def field_key(loc: list[Any] | tuple[Any, ...]) -> str:
    """The form field an API error's `loc` points at; FORM_LEVEL when it names none."""
    parts = tuple(str(p) for p in loc)
    if parts and parts[0] == "body":
        parts = parts[1:]
    for prefix, replacement in _LOC_PREFIXES:
        if parts[: len(prefix)] == prefix:
            rest = parts[len(prefix) :]
            # A rule over the whole spec (min_scale <= max_scale) belongs to its fieldset.
            parts = ((replacement,) if replacement else ()) + rest or ("resource_spec",)
            break
    return ".".join(parts) if parts else FORM_LEVEL


def _message(msg: str) -> str:
    # pydantic prefixes validator messages with "Value error, "; the field says enough.
    return msg.removeprefix("Value error, ")


_NAMED_DETAIL = re.compile(r"^(?P<field>[a-z_][a-z0-9_]*(?:\.[a-z0-9_]+)*): (?P<msg>.+)$", re.DOTALL)


def field_errors(detail: Any) -> dict[str, list[str]]:
    """API error detail -> messages per form field (FORM_LEVEL for the rest)."""
    errors: dict[str, list[str]] = {}
    if isinstance(detail, list):
        for item in detail:
            if isinstance(item, dict):
                key = field_key(item.get("loc") or [])
                errors.setdefault(key, []).append(_message(str(item.get("msg", "is invalid"))))
    elif isinstance(detail, str) and (named := _NAMED_DETAIL.match(detail)):
        # A rule violation's 400 names its field as a dotted prefix ("source_config.listener_id: ...").
        errors[field_key(named["field"].split("."))] = [named["msg"]]
    else:
        errors[FORM_LEVEL] = [str(detail)]
    return errors


def unplaced(errors: Mapping[str, list[str]], fields: set[str]) -> list[str]:
    """Messages whose field is not on the form, to show above it."""
    return [
        message
        for key, messages in errors.items()
        if key not in fields
        for message in (messages if key == FORM_LEVEL else [f"{key}: {m}" for m in messages])
    ]


def new_idempotency_key() -> str:
    """A key rendered into a form, so a double submit creates one object, not two."""
    return uuid.uuid4().hex
