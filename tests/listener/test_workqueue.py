"""The latest-state-only work queue with per-key backoff."""

import asyncio

from lgcp_listener.kube.workqueue import WorkQueue, backoff_delay


def test_backoff_doubles_caps_and_jitters() -> None:
    assert backoff_delay(1, 0.5, 60, 1.0) == 0.5
    assert backoff_delay(3, 0.5, 60, 1.0) == 2.0
    assert backoff_delay(30, 0.5, 60, 1.0) == 60
    assert backoff_delay(3, 0.5, 60, 0.0) == 1.0


async def test_keeps_only_latest_value_and_queues_key_once() -> None:
    q: WorkQueue[int] = WorkQueue()
    q.put("a", 1)
    q.put("b", 1)
    q.put("a", 2)
    assert len(q) == 2
    assert await q.get() == ("a", 2)
    assert await q.get() == ("b", 1)


async def test_key_put_while_active_is_redone_after_done_not_concurrently() -> None:
    q: WorkQueue[int] = WorkQueue()
    q.put("a", 1)
    assert await q.get() == ("a", 1)
    q.put("a", 2)
    assert len(q) == 0  # not handed to a second worker while the first works on it
    q.done("a", failed=False)
    assert await q.get() == ("a", 2)


async def test_failure_retries_after_backoff_and_success_resets() -> None:
    q: WorkQueue[int] = WorkQueue(base_delay=0.01, max_delay=0.05)
    q.put("a", 1)
    await q.get()
    delay = q.done("a", failed=True)
    assert delay is not None
    assert 0.005 <= delay <= 0.01 and q.failures("a") == 1
    assert len(q) == 0
    assert await asyncio.wait_for(q.get(), 1) == ("a", 1)
    q.done("a", failed=False)
    assert q.failures("a") == 0


async def test_a_failing_key_does_not_block_others() -> None:
    q: WorkQueue[int] = WorkQueue(base_delay=10, max_delay=10)
    q.put("bad", 1)
    await q.get()
    q.done("bad", failed=True)
    q.put("good", 1)
    assert await asyncio.wait_for(q.get(), 1) == ("good", 1)


async def test_forgotten_key_is_skipped() -> None:
    q: WorkQueue[int] = WorkQueue()
    q.put("a", 1)
    q.put("b", 1)
    q.forget("a")
    assert await asyncio.wait_for(q.get(), 1) == ("b", 1)


async def test_urgent_keys_go_first_and_a_promoted_key_is_handed_out_once() -> None:
    q: WorkQueue[int] = WorkQueue()
    for key in ("status-1", "status-2", "new"):
        q.put(key, 1)
    q.put("new", 2, urgent=True)  # promoted: queued once, now ahead of the others
    q.put("created", 1, urgent=True)
    assert len(q) == 4
    assert [(await q.get())[0] for _ in range(4)] == ["new", "created", "status-1", "status-2"]
    for key in ("new", "created", "status-1", "status-2"):
        q.done(key, failed=False)
    assert len(q) == 0
    q.put("later", 1)
    assert await q.get() == ("later", 1)  # the promoted key's stale entry was skipped, not handed out again


async def test_an_urgent_put_while_active_is_redone_urgently() -> None:
    q: WorkQueue[int] = WorkQueue()
    q.put("a", 1)
    q.put("b", 1)
    assert (await q.get())[0] == "a"
    q.put("a", 2, urgent=True)
    q.done("a", failed=False)
    assert await q.get() == ("a", 2)  # ahead of b


async def test_a_forgotten_key_is_no_longer_counted() -> None:
    """Issue 14 defect 5: `forget` left the key counted, so the queue depth metric overcounted."""
    q: WorkQueue[int] = WorkQueue()
    q.put("a", 1)
    q.put("b", 1, urgent=True)
    q.forget("a")
    q.forget("b")
    assert len(q) == 0
    q.put("a", 2)
    assert len(q) == 1
    assert await asyncio.wait_for(q.get(), 1) == ("a", 2)


async def test_done_with_again_after_brings_the_key_back() -> None:
    q: WorkQueue[int] = WorkQueue()
    q.put("a", 1)
    await q.get()
    q.put("b", 1, urgent=True)
    assert q.done("a", failed=False, again_after=0) == 0
    assert [(await q.get())[0] for _ in range(2)] == ["b", "a"], "behind the urgent keys"
    q.done("a", failed=False, again_after=0.01)
    assert len(q) == 0
    assert await asyncio.wait_for(q.get(), 1) == ("a", 1)
