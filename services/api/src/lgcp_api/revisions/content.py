"""What a revision pins down (image, resources, sealed secrets, references), and the one way to
build it: a deployment's current content with what a request changes, or an old revision's."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg

from ..core.database import Conn
from ..core.secret_box import SecretBox
from ..deployments.schemas import SecretIn, SecretReference, SourceRevisionConfig
from ..http.errors import rule_violation
from . import repository


@dataclass(frozen=True)
class RevisionContent:
    """What a revision pins down; secrets stay sealed."""

    source_revision_config: dict[str, Any]
    resource_spec: dict[str, Any]
    secret_names: list[str]
    secrets_ciphertext: bytes | None
    secret_references: list[dict[str, Any]]


def seal_secrets(box: SecretBox, secrets: Sequence[SecretIn]) -> tuple[list[str], bytes | None]:
    """The names and the sealed set of `secrets` (no ciphertext for none)."""
    if not secrets:
        return [], None
    return [s.name for s in secrets], box.seal([s.model_dump() for s in secrets])


def first(
    source_revision_config: SourceRevisionConfig,
    resource_spec: dict[str, Any],
    secrets: Sequence[SecretIn],
    secret_references: Sequence[SecretReference],
    box: SecretBox,
) -> RevisionContent:
    """A new deployment's first revision."""
    names, ciphertext = seal_secrets(box, secrets)
    return RevisionContent(
        source_revision_config=source_revision_config.model_dump(mode="json"),
        resource_spec=resource_spec,
        secret_names=names,
        secrets_ciphertext=ciphertext,
        secret_references=[r.model_dump() for r in secret_references],
    )


async def with_changes(
    conn: Conn,
    box: SecretBox,
    deployment: asyncpg.Record,
    *,
    source_revision_config: SourceRevisionConfig | None,
    resource_spec: dict[str, Any] | None,
    secrets: Sequence[SecretIn] | None,
    secret_references: Sequence[SecretReference] | None,
) -> RevisionContent:
    """The deployment's current content with each part given replaced (None keeps it): a PATCH
    of the deployment and a new revision (POST .../revisions) both build theirs here. A new
    `secrets` replaces the whole set; otherwise the latest revision's sealed set is kept."""
    if secrets is not None:
        names, ciphertext = seal_secrets(box, secrets)
    else:
        names = list(deployment["secret_names"])
        ciphertext = await repository.sealed_secrets(conn, deployment["latest_revision_id"])
    content = RevisionContent(
        source_revision_config=(
            source_revision_config.model_dump(mode="json")
            if source_revision_config is not None
            else deployment["source_revision_config"]
        ),
        resource_spec=resource_spec if resource_spec is not None else deployment["source_config"]["resource_spec"],
        secret_names=names,
        secrets_ciphertext=ciphertext,
        secret_references=(
            [r.model_dump() for r in secret_references]
            if secret_references is not None
            else deployment["secret_references"]
        ),
    )
    _check_env_names_unique(content)
    return content


def copy_of(revision: asyncpg.Record) -> RevisionContent:
    """Exactly an earlier revision's content (a redeploy, i.e. a rollback)."""
    return RevisionContent(
        source_revision_config=revision["source_revision_config"],
        resource_spec=revision["resource_spec"],
        secret_names=list(revision["secret_names"]),
        secrets_ciphertext=revision["secrets_ciphertext"],
        secret_references=revision["secret_references"],
    )


def _check_env_names_unique(content: RevisionContent) -> None:
    # A change may replace secrets or references alone; the union must still be unambiguous.
    names = content.secret_names + [r["name"] for r in content.secret_references]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise rule_violation(
            ("secrets",),
            f"environment variable(s) {', '.join(duplicates)} given both as secret and reference",
        )
