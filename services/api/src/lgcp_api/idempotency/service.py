"""Idempotency-Key on POST: a retry with the same key and body gets the first answer again.

The key row is inserted inside the request's own transaction, before the work. A concurrent
retry blocks on that row until the first transaction ends: if it committed, the retry reads
the stored answer; if it rolled back, the retry does the work itself. So nothing is done twice
and no answer is lost.

What is stored of the request is an HMAC keyed with LGCP_SECRET_KEY, never a plain hash: the
body carries secret values, and a plain digest of it lets whoever reads the table test guesses
of them offline. Rows written before migration 0004 hold such a plain SHA-256 (scheme
`sha256`); a retry is still checked against them, never by writing one, until they expire
(RETENTION_HOURS after they were written).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import Annotated, TypeVar

import asyncpg
from fastapi import Depends, HTTPException, Request, status
from fastapi.responses import JSONResponse

from ..auth.principal import Principal
from ..core.database import Conn
from ..core.notifications import Notifier
from ..http.deps import AfterCommit, AfterCommitJobs, IdempotencyKey, ListenerNotifier, SecretKey, Transaction
from ..http.etags import etag
from . import repository

T = TypeVar("T")
MAX_KEY_LENGTH = 255
HMAC_SCHEME = "hmac-sha256"
LEGACY_SCHEME = "sha256"
# Domain separation: the same secret key also keys the HMAC of API keys and the UI's cookies.
_HMAC_CONTEXT = b"lgcp idempotency request v1"


@dataclass(frozen=True)
class StoredAnswer:
    status_code: int
    body: object


def _canonical(method: str, path: str, body: object) -> bytes:
    """What makes two requests 'the same': method, path and the canonical JSON body."""
    return json.dumps([method, path, body], sort_keys=True, separators=(",", ":")).encode()


def request_hmac(secret_key: str, method: str, path: str, body: object) -> bytes:
    """The stored digest of a request: HMAC-SHA256 under a key derived from `secret_key`."""
    derived = hmac.new(secret_key.encode(), _HMAC_CONTEXT, hashlib.sha256).digest()
    return hmac.new(derived, _canonical(method, path, body), hashlib.sha256).digest()


def legacy_request_hash(method: str, path: str, body: object) -> bytes:
    """The plain SHA-256 that rows of scheme `sha256` hold; computed to check them, never stored."""
    return hashlib.sha256(_canonical(method, path, body)).digest()


@dataclass(frozen=True)
class RequestDigest:
    """How one request is recognised: its HMAC (stored), and the plain SHA-256 that legacy rows
    hold (only compared, never stored)."""

    mac: bytes
    legacy: bytes

    def matches(self, scheme: str, stored: bytes) -> bool:
        return hmac.compare_digest(self.mac if scheme == HMAC_SCHEME else self.legacy, stored)


def request_digest(secret_key: str, method: str, path: str, body: object) -> RequestDigest:
    return RequestDigest(request_hmac(secret_key, method, path, body), legacy_request_hash(method, path, body))


def _key_error(msg: str) -> HTTPException:
    return HTTPException(
        status.HTTP_422_UNPROCESSABLE_CONTENT,
        [{"loc": ["header", "Idempotency-Key"], "msg": msg, "type": "value_error"}],
    )


def check_key(key: str) -> None:
    if not key or len(key) > MAX_KEY_LENGTH:
        raise _key_error(f"must be 1..{MAX_KEY_LENGTH} characters")


async def claim(conn: Conn, api_key_id: uuid.UUID, key: str, digest: RequestDigest) -> StoredAnswer | None:
    """Reserves `key` for this request, or returns the answer already given for it.

    Must run inside the transaction that does the work.
    """
    check_key(key)
    await repository.drop_expired_claim(conn, api_key_id, key)
    if await repository.insert_claim(conn, api_key_id, key, digest.mac, HMAC_SCHEME):
        return None
    row = await repository.find_claim(conn, api_key_id, key)
    if not digest.matches(row["request_hash_scheme"], row["request_hash"]):
        raise _key_error("this key was already used for a different request")
    return StoredAnswer(row["status_code"], row["response"])


def replay(stored: StoredAnswer) -> JSONResponse:
    """The stored answer, marked so a client can tell it is a replay."""
    return JSONResponse(stored.body, status_code=stored.status_code, headers={"Idempotent-Replayed": "true"})


async def run_once(
    conn: Conn,
    secret_key: str,
    api_key_id: uuid.UUID,
    key: str | None,
    path: str,
    body: object,
    work: Callable[[Conn], Awaitable[tuple[object, T]]],
    status_code: int = 201,
) -> JSONResponse | tuple[object, T]:
    """Runs `work(conn)` (returning the JSON answer and anything else the caller needs) at most
    once per Idempotency-Key. `conn` must be in the transaction that commits the work (the
    request's `Transaction`). Returns the replayed response for a retry, else work's result.
    `secret_key` keys the stored request digest."""
    if key is not None:
        digest = request_digest(secret_key, "POST", path, body)
        stored = await claim(conn, api_key_id, key, digest)
        if stored is not None:
            return replay(stored)
    answer, extra = await work(conn)
    if key is not None:
        await repository.store_answer(conn, api_key_id, key, status_code, answer)
    return answer, extra


DeploymentWork = Callable[[Conn], Awaitable[tuple[object, asyncpg.Record]]]


@dataclass(frozen=True)
class Creation:
    """What a creating POST needs to run at most once per Idempotency-Key, and to wake the
    listener of the deployment it changed once the transaction has committed. A dependency
    (`CreateOnce`), so that an endpoint declares one parameter instead of six."""

    request: Request
    conn: Conn
    secret_key: str
    key: str | None
    after_commit: AfterCommit
    notifier: Notifier

    async def run(
        self,
        principal: Principal,
        body: object,
        work: Callable[[Conn], Awaitable[tuple[object, T]]],
        status_code: int = 201,
    ) -> JSONResponse | tuple[object, T]:
        """`run_once` in the request's transaction, keyed by the request's path and header;
        `status_code` is the one a replay answers with."""
        return await run_once(
            self.conn, self.secret_key, principal.api_key_id, self.key, self.request.url.path, body, work, status_code
        )

    async def deployment_change(
        self, principal: Principal, body: object, work: DeploymentWork, change: str, *, answer_is_deployment: bool
    ) -> JSONResponse:
        """A 201 with what `work` answered (it returns the JSON answer and the deployment row it
        changed); the deployment's listener hears `change` after commit, a retry is the first
        answer again and wakes no one. With `answer_is_deployment` the answer carries the
        deployment's ETag (an answer of another resource must not)."""
        outcome = await self.run(principal, body, work)
        if isinstance(outcome, JSONResponse):
            return outcome
        answer, deployment = outcome
        self.after_commit.add(partial(self.notifier.notify, deployment["listener_id"], deployment["id"], change))
        headers = {"ETag": etag(deployment["version"])} if answer_is_deployment else None
        return JSONResponse(answer, status_code=201, headers=headers)


async def _creation(
    request: Request,
    conn: Transaction,
    secret_key: SecretKey,
    after_commit: AfterCommitJobs,
    notifier: ListenerNotifier,
    idempotency_key: IdempotencyKey = None,
) -> Creation:
    return Creation(request, conn, secret_key, idempotency_key, after_commit, notifier)


# Function scope like the transaction it holds: FastAPI refuses a request-scoped dependency on it.
CreateOnce = Annotated[Creation, Depends(_creation, scope="function")]
