"""The writes a fault case drives through the API, and the ledger of what the API acknowledged.

A client that retries as a careful user of the API would: a create carries an Idempotency-Key
and is sent again with the same key until it is answered; a PATCH carries If-Match and, after an
answer was lost, a 412 whose deployment already shows the change counts as the first attempt
having committed. A 412 can also come from the listener: a status report changes the
deployment's ETag (the status is part of what a GET returns), and the client reads again. Every
answer and transport error is counted, so a case can assert "never a 500" and report what the
fault did to the clients; `Ledger.refusals()` is what no fault or race explains.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

import httpx

# Errors of a request that never got an answer: the API was down, restarting or was killed
# mid-request. The request may or may not have taken effect; only a retry can tell.
NO_ANSWER = (httpx.TransportError,)
# A 503 asks the client to come back; anything else 5xx is a defect the suite reports.
RETRY_STATUS = frozenset({502, 503, 504})
MAX_WAIT = 2.0  # seconds: a client never waits longer than this between attempts


@dataclass
class Ledger:
    """What the API acknowledged: each created deployment, its last acknowledged image and how
    many PATCHes it acknowledged, with every answer and error the clients saw."""

    created: dict[str, str] = field(default_factory=dict)  # name -> id
    images: dict[str, str] = field(default_factory=dict)  # id -> image of the last acknowledged write
    # id -> acknowledged writes that made a revision after the first (PATCHes and rollbacks)
    revisions: Counter[str] = field(default_factory=Counter)
    deleted: dict[str, str] = field(default_factory=dict)  # name -> id, deletion acknowledged
    answers: Counter[str] = field(default_factory=Counter)  # "201", "503", "ConnectError", ...
    replayed: int = 0  # creates answered from the stored first answer (Idempotent-Replayed)
    recovered_patches: int = 0  # PATCHes whose answer was lost and found applied (412 + same image)
    # 412s whose deployment changed between the read and the PATCH only in what the listener
    # reports (status, active revision): a race with the listener, retried, never a refusal.
    status_races: int = 0
    retry_after: set[str] = field(default_factory=set)  # Retry-After values of 503s

    acknowledged: int = 0  # writes answered 2xx (or found applied after a lost answer)

    def refusals(self) -> Counter[str]:
        """Answers that were neither a success nor explained: every non-2xx answer but the 412s of
        a lost answer found applied or of a race with a listener's status report."""
        refused = Counter({k: v for k, v in self.answers.items() if not k.startswith("2") and k[0].isdigit()})
        refused["412"] -= self.recovered_patches + self.status_races
        return +refused  # drops the zero counts

    def summary(self) -> str:
        answers = ", ".join(f"{k}: {v}" for k, v in sorted(self.answers.items()))
        return (
            f"acknowledged {self.acknowledged} writes ({len(self.created) + len(self.deleted)} creates, "
            f"{sum(self.revisions.values())} PATCHes and rollbacks, {len(self.deleted)} deletes); "
            f"answers {{{answers}}}; "
            f"{self.replayed} replayed creates, {self.recovered_patches} PATCHes found applied after a lost answer, "
            f"{self.status_races} PATCHes read again after a listener's status report"
        )


class Writer:
    """Drives creates and PATCHes of deployments on one listener, recording them in a Ledger."""

    def __init__(self, api_url: str, key: str, listener_id: str, namespace: str, deadline: float = 180) -> None:
        self.client = httpx.AsyncClient(base_url=f"{api_url}/v2", headers={"X-Api-Key": key}, timeout=10)
        self.listener_id, self.namespace = listener_id, namespace
        self.ledger = Ledger()
        self._deadline = deadline  # seconds one write may keep retrying before the case fails

    async def aclose(self) -> None:
        await self.client.aclose()

    def body(self, name: str, image: str) -> dict:
        return {
            "name": name,
            "source": "external_docker",
            "source_config": {
                "listener_id": self.listener_id,
                "listener_config": {"k8s_namespace": self.namespace},
                "resource_spec": {"min_scale": 1, "max_scale": 1, "cpu": 0.1, "memory_mb": 128},
            },
            "source_revision_config": {"image_uri": image},
            "secrets": [{"name": "OPENAI_API_KEY", "value": "sk-" + uuid.uuid4().hex}],
        }

    async def _send(self, method: str, path: str, **kwargs) -> httpx.Response | None:
        """One attempt; None when no answer came back (counted by the error's name)."""
        try:
            response = await self.client.request(method, path, **kwargs)
        except NO_ANSWER as exc:
            self.ledger.answers[type(exc).__name__] += 1
            return None
        self.ledger.answers[str(response.status_code)] += 1
        if response.status_code == 503 and "Retry-After" in response.headers:
            self.ledger.retry_after.add(response.headers["Retry-After"])
        return response

    async def _pause(self, response: httpx.Response | None, started: float, what: str) -> None:
        if time.monotonic() - started > self._deadline:
            raise AssertionError(f"{what} still unanswered after {self._deadline}s: {self.ledger.summary()}")
        wait = 0.3
        if response is not None and response.headers.get("Retry-After", "").isdigit():
            wait = min(float(response.headers["Retry-After"]), MAX_WAIT)
        await asyncio.sleep(wait)

    async def _until(self, done: int, what: str, method: str, path: str, **kwargs) -> httpx.Response:
        """Sends the same request until it is answered `done`; a 503, 502, 504 or no answer is
        retried, any other answer fails the case naming `what`."""
        started = time.monotonic()
        while True:
            response = await self._send(method, path, **kwargs)
            if response is not None and response.status_code == done:
                return response
            if response is not None and response.status_code not in RETRY_STATUS:
                raise AssertionError(f"{what}: {response.status_code} {response.text}")
            await self._pause(response, started, what)

    async def create(self, name: str, image: str) -> str:
        """Creates a deployment, retrying with one Idempotency-Key until it is acknowledged."""
        headers = {"Idempotency-Key": str(uuid.uuid4())}
        response = await self._until(
            201, f"create {name}", "POST", "/deployments", json=self.body(name, image), headers=headers
        )
        if response.headers.get("Idempotent-Replayed") == "true":
            self.ledger.replayed += 1
        deployment_id = response.json()["id"]
        self.ledger.created[name] = deployment_id
        self.ledger.images[deployment_id] = image
        self.ledger.acknowledged += 1
        return deployment_id

    async def _read(self, deployment_id: str) -> tuple[str, dict]:
        """The deployment's ETag and body."""
        response = await self._until(200, f"GET {deployment_id}", "GET", f"/deployments/{deployment_id}")
        return response.headers["ETag"], response.json()

    async def patch(self, deployment_id: str, image: str) -> None:
        """Moves a deployment to `image` (a new revision), exactly once, whatever is lost on the way."""
        started = time.monotonic()
        etag, seen = await self._read(deployment_id)
        body = {"source_revision_config": {"image_uri": image}}
        while True:
            response = await self._send("PATCH", f"/deployments/{deployment_id}", json=body, headers={"If-Match": etag})
            if response is not None and response.status_code == 200:
                break
            if response is not None and response.status_code == 412:
                # Only this client writes this deployment: a 412 means an earlier attempt of this
                # very PATCH committed and its answer was lost, or nothing we sent took effect.
                etag, current = await self._read(deployment_id)
                if current["source_revision_config"]["image_uri"] == image:
                    self.ledger.recovered_patches += 1
                    break
                if _written_by_clients(current) == _written_by_clients(seen):
                    self.ledger.status_races += 1
                seen = current
                continue
            if response is not None and response.status_code not in RETRY_STATUS:
                raise AssertionError(f"PATCH {deployment_id}: {response.status_code} {response.text}")
            await self._pause(response, started, f"PATCH {deployment_id}")
        self.ledger.images[deployment_id] = image
        self.ledger.revisions[deployment_id] += 1
        self.ledger.acknowledged += 1

    async def rollback(self, deployment_id: str, revision_id: str, image: str) -> None:
        """Rolls back to an earlier revision (`image` is its image): a new revision with its
        content, sent again with one Idempotency-Key until answered."""
        path = f"/deployments/{deployment_id}/revisions/{revision_id}/redeploy"
        await self._until(
            201, f"rollback {deployment_id}", "POST", path, headers={"Idempotency-Key": str(uuid.uuid4())}
        )
        self.ledger.images[deployment_id] = image
        self.ledger.revisions[deployment_id] += 1
        self.ledger.acknowledged += 1

    async def delete(self, name: str) -> None:
        """Asks for a deployment's deletion (the listener finishes it), retrying until answered."""
        deployment_id = self.ledger.created[name]
        await self._until(204, f"DELETE {name}", "DELETE", f"/deployments/{deployment_id}")
        del self.ledger.created[name]
        self.ledger.deleted[name] = deployment_id
        self.ledger.acknowledged += 1

    async def churn(self, prefix: str, deployments: int, patches_each: int, concurrency: int = 4) -> None:
        """Creates `deployments` deployments and PATCHes each `patches_each` times, `concurrency`
        at a time: a stream of writes for the fault to land in."""
        gate = asyncio.Semaphore(concurrency)

        async def one(i: int) -> None:
            async with gate:
                deployment_id = await self.create(f"{prefix}-{i}", "registry.test/agent:0")
            for n in range(1, patches_each + 1):
                async with gate:
                    await self.patch(deployment_id, f"registry.test/agent:{n}")

        await asyncio.gather(*(one(i) for i in range(deployments)))


def _written_by_clients(deployment: dict) -> tuple:
    """What of a deployment only a client's write changes (a listener reports status and the
    active revision, and moves updated_at)."""
    return tuple(
        str(deployment.get(field))
        for field in (
            "name",
            "source_config",
            "source_revision_config",
            "secrets",
            "secret_references",
            "latest_revision_id",
        )
    )
