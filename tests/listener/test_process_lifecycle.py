"""The listener's run: start-up reads that fail, a lease lost while starting, and a shutdown
whose lease release fails (issue 14 defects 1-3), in-process against the real API, Postgres,
Redis and the local cluster."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import traceback
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from lgcp_listener import app as listener_app
from lgcp_listener.app import Listener
from lgcp_listener.control_plane.client import ControlPlane
from lgcp_listener.databases.mode import DatabaseMode
from lgcp_listener.kube.lease import LeaderElection
from lgcp_listener.reconcile.controller import Controller
from lgcp_listener.settings import Settings
from listener_support import eventually
from processes_support import Stack

SECRET = "sk-lifecycle-must-not-be-logged"


def invalid_desired_state(request: httpx.Request) -> httpx.Response:
    """A desired state whose secret has no name: pydantic's message would repeat its value."""
    deployment = {"id": "d1", "name": "a", "namespace": "ns", "status": "READY", "secrets": [{"value": SECRET}]}
    return httpx.Response(200, json={"listener_id": "l1", "deployments": [deployment]})


async def test_a_start_up_read_that_does_not_parse_is_logged_and_raised_without_its_secrets(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Defect 1: the start-up retry logged str(exc), which for a ValidationError is the input."""
    control_plane = ControlPlane("http://api.test", "key", transport=httpx.MockTransport(invalid_desired_state))
    caplog.set_level(logging.DEBUG)
    try:
        with pytest.raises(listener_app.StartupError) as caught:
            await listener_app._retry(lambda: control_plane.desired_state("l1"), "desired state", attempts=2)
    finally:
        await control_plane.close()
    assert "retrying" in caplog.text and "secrets.0.name" in caplog.text, caplog.text
    assert SECRET not in caplog.text
    # What reaches the process' last words (a traceback on stderr) carries no secret either.
    assert SECRET not in "".join(traceback.format_exception(caught.value))
    assert "secrets.0.name" in str(caught.value)


def configure(monkeypatch: pytest.MonkeyPatch, stack: Stack, **overrides: str) -> Settings:
    env = {**stack.env, "LGCP_LISTENER_POD_NAME": "in-process", **overrides}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return Settings()


def steal_lease(stack: Stack) -> None:
    """Another holder takes the lease (as after a long pause of this replica)."""
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    patch = {"spec": {"holderIdentity": "someone-else", "renewTime": now, "leaseDurationSeconds": 3600}}
    stack.cluster.kubectl(
        "patch",
        "lease",
        stack.env["LGCP_LISTENER_LEASE_NAME"],
        "-n",
        stack.namespace,
        "--type=merge",
        "-p",
        json.dumps(patch),
    )


def holder(stack: Stack) -> str | None:
    found = stack.cluster.kubectl(
        "get",
        "lease",
        stack.env["LGCP_LISTENER_LEASE_NAME"],
        "-n",
        stack.namespace,
        "-o",
        "jsonpath={.spec.holderIdentity}",
        check=False,
    )
    return found.stdout.strip() if found.returncode == 0 else None


@pytest.mark.cluster
async def test_registration_retries_stop_when_the_lease_is_lost(monkeypatch: pytest.MonkeyPatch, stack: Stack) -> None:
    """Defect 2: registration retried for minutes (30 attempts) after the lease was gone."""
    settings = configure(
        monkeypatch, stack, LGCP_LISTENER_API_KEY="lgcp_not_a_key", LGCP_LISTENER_NAMESPACES=stack.namespace
    )
    listener = Listener(settings)
    run = asyncio.create_task(listener.run())
    try:
        await eventually(lambda: holder(stack) == "in-process", 20)
        steal_lease(stack)
        # The lease is seen lost within its renew deadline (2 s of a 3 s lease) and a round.
        await asyncio.wait_for(asyncio.shield(run), 10)
    finally:
        run.cancel()
        await asyncio.gather(run, return_exceptions=True)
    assert listener.listener_id is None


@pytest.mark.cluster
async def test_a_lease_lost_during_the_first_sync_is_not_taken_for_synced(
    monkeypatch: pytest.MonkeyPatch, stack: Stack
) -> None:
    """Defect 2: `_first()` took the lease task's return (lost) for the awaited sync: the listener
    read the desired state and started its workers without the lease."""
    settings = configure(monkeypatch, stack)
    never = asyncio.Event()

    async def never_synced(self: Controller) -> None:  # the informers' lists stall
        await never.wait()

    monkeypatch.setattr(Controller, "wait_synced", never_synced)
    listener = Listener(settings)
    run = asyncio.create_task(listener.run())
    try:
        await eventually(lambda: listener.controller is not None, 30)
        steal_lease(stack)
        await asyncio.wait_for(asyncio.shield(run), 10)
    finally:
        run.cancel()
        await asyncio.gather(run, return_exceptions=True)
    assert listener.controller is not None and not listener.controller.loaded, "read the desired state unsynced"


def listening(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.cluster
async def test_a_failing_lease_release_still_closes_everything(
    monkeypatch: pytest.MonkeyPatch, stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    """Defect 3: `election.release()` raising skipped closing the control-plane client, the
    database pool, the Kubernetes client and the health server."""
    from harness import processes

    port = processes.free_port()
    settings = configure(monkeypatch, stack, LGCP_LISTENER_HEALTH_PORT=str(port))

    async def failing_release(self: LeaderElection) -> None:
        raise RuntimeError("the API server went away")

    monkeypatch.setattr(LeaderElection, "release", failing_release)
    closed: list[str] = []
    open_mode = listener_app.open_database_mode

    def recording_mode(*args: Any, **kwargs: Any) -> DatabaseMode:
        mode = open_mode(*args, **kwargs)
        close = mode.close

        async def recorded_close() -> None:
            await close()
            closed.append(type(mode).__name__)

        mode.close = recorded_close  # type: ignore[method-assign]
        return mode

    monkeypatch.setattr(listener_app, "open_database_mode", recording_mode)
    listener = Listener(settings)
    run = asyncio.create_task(listener.run())
    try:
        await eventually(listener.ready, 30)
        await eventually(lambda: listener.controller is not None and listener.controller.loaded, 30)
        assert listening(port)
    finally:
        run.cancel()
        await asyncio.gather(run, return_exceptions=True)
    assert not listening(port), "the health server is still serving"
    assert listener.kube is not None and listener.kube.api.rest_client.pool_manager.closed
    assert listener.control_plane is not None and listener.control_plane.closed
    assert closed == ["SharedMode"], "the database mode (its admin pool) is closed"
    assert "the API server went away" in caplog.text, "the failed release is logged"


@pytest.mark.cluster
async def test_the_default_namespace_is_where_a_deployment_naming_none_goes(stack: Stack) -> None:
    """Issue 14 defect 8: listener.defaultNamespace (LGCP_LISTENER_DEFAULT_NAMESPACE) had no
    effect; the API took the first of the registered namespaces, in the order configured."""
    from listener_support import make_namespace

    other = make_namespace(stack.cluster)
    try:
        stack.start(LGCP_LISTENER_NAMESPACES=f"{stack.namespace},{other}", LGCP_LISTENER_DEFAULT_NAMESPACE=other)
        listener_id = await stack.registered()
        body = {
            "name": "agent-default-ns",
            "source": "external_docker",
            "source_config": {
                "listener_id": listener_id,
                "resource_spec": {"min_scale": 1, "max_scale": 1, "cpu": 0.1, "memory_mb": 128},
            },
            "source_revision_config": {"image_uri": "registry.test/agent:1"},
        }
        created = await stack.admin.post("/deployments", json=body)
        assert created.status_code == 201, created.text
        assert created.json()["source_config"]["listener_config"]["k8s_namespace"] == other
        await eventually(
            lambda: (
                stack.cluster.kubectl("get", "deployment", "agent-default-ns", "-n", other, check=False).returncode == 0
            ),
            60,
        )
    finally:
        stack.cluster.kubectl("delete", "namespace", other, "--wait=false", check=False)
