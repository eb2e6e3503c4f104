"""The revision state machine of the contract (pure logic, no I/O)."""

from __future__ import annotations

from enum import StrEnum


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


S = RevisionStatus
_IN_FLIGHT_TARGETS = {S.AWAITING_DEPLOY, S.DEPLOYING, S.DEPLOYED, S.DEPLOY_FAILED}

# Moves a listener may report. A report of the current status is always allowed (it carries
# new events): the listener is level-triggered and repeats itself. DEPLOY_FAILED may recover,
# because Kubernetes keeps retrying (an image pushed late, a crash fixed by a config change).
_ALLOWED: dict[RevisionStatus, frozenset[RevisionStatus]] = {
    S.CREATING: frozenset({S.QUEUED, *_IN_FLIGHT_TARGETS}),
    S.QUEUED: frozenset(_IN_FLIGHT_TARGETS),
    S.AWAITING_DEPLOY: frozenset({S.DEPLOYING, S.DEPLOYED, S.DEPLOY_FAILED}),
    S.DEPLOYING: frozenset({S.DEPLOYED, S.DEPLOY_FAILED}),
    S.DEPLOY_FAILED: frozenset({S.DEPLOYING, S.DEPLOYED}),
    S.DEPLOYED: frozenset(),
    S.SKIPPED: frozenset(),
    S.INTERRUPTED: frozenset(),
    S.UNKNOWN: frozenset({S.QUEUED, *_IN_FLIGHT_TARGETS}),
}

# What a listener may report at all; SKIPPED and INTERRUPTED are the API's own decisions.
REPORTABLE = frozenset({S.AWAITING_DEPLOY, S.DEPLOYING, S.DEPLOYED, S.DEPLOY_FAILED, S.UNKNOWN})
UNFINISHED = frozenset({S.CREATING, S.QUEUED, S.AWAITING_DEPLOY, S.DEPLOYING, S.UNKNOWN})


def can_move(current: RevisionStatus, target: RevisionStatus) -> bool:
    """Whether a listener's report moving `current` to `target` is legal."""
    if current == target:
        return True
    if target == S.UNKNOWN:
        return current not in (S.DEPLOYED, S.SKIPPED, S.INTERRUPTED)
    return target in _ALLOWED[current]


def superseded_status(current: RevisionStatus) -> RevisionStatus | None:
    """What an unfinished revision becomes when a newer one is created, or None if finished.

    One that never started is SKIPPED; one the listener was already rolling out INTERRUPTED.
    """
    if current in (S.CREATING, S.QUEUED):
        return S.SKIPPED
    if current in UNFINISHED:
        return S.INTERRUPTED
    return None
