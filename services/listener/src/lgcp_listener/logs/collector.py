"""What the listener reads for the logs of its agents: each agent pod's container log since
the last read (bounded: the last MAX_LINES lines and MAX_BYTES per container per read) and the
pods' Kubernetes events. Needs `get` on `pods/log` and `list` on `pods` and `events` in the
agents' namespaces, and the `get` on Secrets that the reference checks already use (the values
of `secret_references` are redacted too), nothing more."""

from __future__ import annotations

import asyncio
import base64
import binascii
import datetime as dt
import logging
from dataclasses import dataclass, field

from kubernetes_asyncio.client.exceptions import ApiException
from lgcp_contract import labels as L
from lgcp_contract.desired_state import DesiredDeployment

from ..kube.client import Kube
from ..objects import Manifest
from ..render.agent import SERVER
from .crashes import Reported, crash_entries
from .lines import Entry, Redact, level_of, redactor, split_timestamp

log = logging.getLogger(__name__)
MAX_LINES = 500  # per container and read
MAX_BYTES = 256 * 1024  # per container and read
MAX_MESSAGE_CHARS = 8 * 1024  # the API's bound on one entry


@dataclass
class Cursor:
    """Where the last read of each container and the events of each deployment stopped."""

    containers: dict[tuple[str, str], dt.datetime] = field(default_factory=dict)
    events: dict[str, str] = field(default_factory=dict)  # event uid -> the count already shipped
    crashes: Reported = field(default_factory=dict)


class LogCollector:
    def __init__(self, kube: Kube, platform_secrets: tuple[str, ...] = ()) -> None:
        self.kube = kube
        self.platform_secrets = platform_secrets
        self.cursors: dict[str, Cursor] = {}

    def forget(self, keep: set[str]) -> None:
        """Drops the cursors of deployments no longer desired."""
        for deployment_id in set(self.cursors) - keep:
            del self.cursors[deployment_id]

    async def collect(self, desired: DesiredDeployment) -> list[Entry]:
        """New entries of one deployment since the last call, secret values redacted."""
        cursor = self.cursors.setdefault(desired.id, Cursor())
        # Before any read: when a value cannot be known, nothing is read, so nothing is lost.
        redact = await self._redactor(desired)
        selector = f"{L.DEPLOYMENT_ID}={desired.id},{L.COMPONENT}={SERVER}"
        pods, _ = await self.kube.list("Pod", desired.namespace, label_selector=selector)
        entries: list[Entry] = []
        for pod in pods:
            entries += await self._containers(desired, pod, cursor)
            entries += crash_entries(pod, cursor.crashes)
            entries += await self._events(pod, cursor)
        return [
            Entry(e.timestamp, e.level, e.origin, redact(e.message)[:MAX_MESSAGE_CHARS], e.revision_id) for e in entries
        ]

    async def _redactor(self, desired: DesiredDeployment) -> Redact:
        """Redaction of every secret value the agent may print: its own secrets (the API sends
        their values), the platform's, and the keys it reads from Secrets of its namespace
        (`secret_references`: values the API never knows, read here on every call because a
        Secret changes without a new revision). A referenced Secret that cannot be read raises
        (the shipping loop retries); one that is gone has no value the agent could get now."""
        values = [s.value.get_secret_value() for s in desired.secrets] + list(self.platform_secrets)
        names = sorted({ref.secret_name for ref in desired.secret_references})
        found = await asyncio.gather(*(self.kube.get("Secret", desired.namespace, name) for name in names))
        data = {name: (secret or {}).get("data") or {} for name, secret in zip(names, found, strict=True)}
        for ref in desired.secret_references:
            encoded = data[ref.secret_name].get(ref.secret_key)
            if encoded is not None:
                values.append(_decoded(encoded))
        return redactor(values)

    async def _containers(self, desired: DesiredDeployment, pod: Manifest, cursor: Cursor) -> list[Entry]:
        meta = pod["metadata"]
        revision_id = (meta.get("labels") or {}).get(L.REVISION_ID)
        entries: list[Entry] = []
        spec = pod["spec"]
        # Init containers too: one that fails keeps the agent from ever starting.
        for container in (spec.get("initContainers") or []) + (spec.get("containers") or []):
            key = (meta["name"], container["name"])
            since = cursor.containers.get(key)
            text = await self._read_log(desired.namespace, meta["name"], container["name"], since)
            for line in text.splitlines():
                stamp, message = split_timestamp(line)
                if stamp is None or (since is not None and stamp <= since) or not message.strip():
                    continue
                entries.append(Entry(stamp, level_of(message), "container", message, revision_id))
                cursor.containers[key] = stamp
        return entries

    async def _read_log(self, namespace: str, pod: str, container: str, since: dt.datetime | None) -> str:
        query = [("container", container), ("timestamps", "true"), ("limitBytes", str(MAX_BYTES))]
        query.append(
            ("sinceTime", since.isoformat().replace("+00:00", "Z")) if since else ("tailLines", str(MAX_LINES))
        )
        try:
            resp = await self.kube.api.call_api(
                f"/api/v1/namespaces/{namespace}/pods/{pod}/log",
                "GET",
                query_params=query,
                # The log is plain text, but the API server refuses `Accept: text/plain` with 406
                # (it negotiates only its own media types; seen on the real node): ask for any.
                header_params={"Accept": "*/*"},
                auth_settings=["BearerToken"],
                _preload_content=False,
                _request_timeout=30,
            )
            try:
                data: bytes = await resp.read()
            finally:
                resp.release()
        except ApiException as exc:
            log.debug("no log for %s/%s/%s: %s", namespace, pod, container, exc.status)
            return ""
        if resp.status != 200:
            # A container not started yet answers 400 and a pod just gone 404: nothing to read.
            # Anything else is this listener's fault or the cluster's: said, not swallowed.
            if resp.status not in (400, 404):
                log.warning("log of %s/%s/%s not readable: HTTP %s", namespace, pod, container, resp.status)
            return ""
        return data.decode(errors="replace")

    async def _events(self, pod: Manifest, cursor: Cursor) -> list[Entry]:
        meta = pod["metadata"]
        revision_id = (meta.get("labels") or {}).get(L.REVISION_ID)
        events, _ = await self.kube.list(
            "Event", meta["namespace"], field_selector=f"involvedObject.kind=Pod,involvedObject.name={meta['name']}"
        )
        entries: list[Entry] = []
        for event in events:
            uid, count = event["metadata"]["uid"], str(event.get("count") or event.get("series", {}).get("count") or 1)
            if cursor.events.get(uid) == count:
                continue
            cursor.events[uid] = count
            when = event.get("lastTimestamp") or event.get("eventTime") or event["metadata"]["creationTimestamp"]
            stamp, _ = split_timestamp(f"{when} x")
            level = "WARNING" if event.get("type") == "Warning" else "INFO"
            text = f"{meta['name']}: {event.get('reason', '')}: {event.get('message', '')}"
            entries.append(Entry(stamp or dt.datetime.now(dt.UTC), level, "event", text, revision_id))
        return entries


def _decoded(encoded: str) -> str:
    """A Secret's data value as the agent's environment holds it (the kubelet decodes base64)."""
    try:
        return base64.b64decode(encoded, validate=True).decode(errors="replace")
    except binascii.Error:
        return encoded  # not base64 (the API server refuses that): redact what is there
