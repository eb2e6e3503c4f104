"""The revision state machine of the contract (pure logic, no I/O): which moves a listener may
report, and what an unfinished revision becomes when a newer one supersedes it."""

from __future__ import annotations

from lgcp_contract.statuses import FINISHED, REPORTABLE, RevisionStatus

__all__ = ["REPORTABLE", "UNFINISHED", "can_move", "superseded_status"]

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

# Revisions a newer one supersedes: CREATING, QUEUED, AWAITING_DEPLOY, DEPLOYING, UNKNOWN.
UNFINISHED = frozenset(RevisionStatus) - FINISHED


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
