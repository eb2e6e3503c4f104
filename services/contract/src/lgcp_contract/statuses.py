"""Deployment and revision statuses, as LangSmith's control-plane API v2 spells them."""

from __future__ import annotations

from enum import StrEnum


class DeploymentStatus(StrEnum):
    AWAITING_DATABASE = "AWAITING_DATABASE"
    READY = "READY"
    UNUSED = "UNUSED"
    AWAITING_DELETE = "AWAITING_DELETE"
    UNKNOWN = "UNKNOWN"


class RevisionStatus(StrEnum):
    CREATING = "CREATING"
    QUEUED = "QUEUED"
    AWAITING_DEPLOY = "AWAITING_DEPLOY"
    DEPLOYING = "DEPLOYING"
    DEPLOY_FAILED = "DEPLOY_FAILED"
    DEPLOYED = "DEPLOYED"
    SKIPPED = "SKIPPED"
    INTERRUPTED = "INTERRUPTED"
    UNKNOWN = "UNKNOWN"


# What a listener may report at all; SKIPPED and INTERRUPTED are the API's own decisions.
REPORTABLE = frozenset(
    {
        RevisionStatus.AWAITING_DEPLOY,
        RevisionStatus.DEPLOYING,
        RevisionStatus.DEPLOYED,
        RevisionStatus.DEPLOY_FAILED,
        RevisionStatus.UNKNOWN,
    }
)
# A revision in one of these has reached its end: nothing the listener does changes it.
FINISHED = frozenset(
    {
        RevisionStatus.DEPLOYED,
        RevisionStatus.DEPLOY_FAILED,
        RevisionStatus.INTERRUPTED,
        RevisionStatus.SKIPPED,
    }
)
