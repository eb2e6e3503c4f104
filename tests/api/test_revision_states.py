"""The revision state machine as pure logic."""

from __future__ import annotations

import pytest
from lgcp_api.revisions.state_machine import can_move, superseded_status
from lgcp_contract.statuses import RevisionStatus as S


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (S.QUEUED, S.DEPLOYING),
        (S.DEPLOYING, S.DEPLOYED),
        (S.DEPLOYING, S.DEPLOY_FAILED),
        (S.QUEUED, S.DEPLOYED),
        (S.DEPLOY_FAILED, S.DEPLOYED),
        (S.DEPLOYING, S.DEPLOYING),
        (S.DEPLOYED, S.DEPLOYED),
        (S.AWAITING_DEPLOY, S.DEPLOYING),
    ],
)
def test_legal_moves(current, target):
    assert can_move(current, target)


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (S.DEPLOYED, S.DEPLOYING),
        (S.DEPLOYED, S.DEPLOY_FAILED),
        (S.INTERRUPTED, S.DEPLOYED),
        (S.SKIPPED, S.DEPLOYING),
        (S.DEPLOYING, S.QUEUED),
        (S.DEPLOYED, S.UNKNOWN),
    ],
)
def test_illegal_moves(current, target):
    assert not can_move(current, target)


def test_a_newer_revision_skips_queued_and_interrupts_deploying_ones():
    assert superseded_status(S.QUEUED) == S.SKIPPED
    assert superseded_status(S.DEPLOYING) == S.INTERRUPTED
    assert superseded_status(S.AWAITING_DEPLOY) == S.INTERRUPTED
    assert superseded_status(S.DEPLOYED) is None
    assert superseded_status(S.DEPLOY_FAILED) is None
