"""Picking a free Redis database number (pure)."""

import pytest
from lgcp_listener.databases.shared.redis_numbers import NoRedisDatabaseLeft, pick_free


def test_lowest_free_number_above_zero() -> None:
    assert pick_free([], 16) == 1
    assert pick_free([1, 2, 4], 16) == 3


def test_none_left_is_a_clear_error() -> None:
    with pytest.raises(NoRedisDatabaseLeft, match="LGCP_LISTENER_AGENT_REDIS_DATABASES"):
        pick_free(range(1, 4), 4)
