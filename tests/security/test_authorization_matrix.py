"""Every route of the API and the UI, called by every role, answers what authorization_matrix.py
says (issue 14). The routes come from the app: a route without an entry in the table fails.

Each call gets fresh objects for its path (a deployment, revision, listener or key of the
default tenant, made by the platform admin), so one role's delete never changes another's answer.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

from authorization_matrix import EXPECTED, UNROUTED
from fastapi.routing import APIRoute
from security_support import ADMIN_KEY, ROLES, Caller, asgi_client, csrf_of, ui_session, unique

REPORT = Path(os.environ.get("LGCP_SECURITY_REPORT", "artifacts/security/authorization-matrix.json"))


def app_routes(app) -> list[tuple[str, str]]:
    """(method, path) of every route the app serves, HEAD left out (answered as GET)."""
    found: list[tuple[str, str]] = []

    def walk(routes) -> None:
        for route in routes:
            contexts = getattr(route, "effective_route_contexts", None)
            if contexts is not None:  # an included router (FastAPI >= 0.165)
                for context in contexts() if callable(contexts) else contexts:
                    for method in sorted(context.methods or ()):
                        if method != "HEAD":
                            found.append((method, context.path))
            elif isinstance(route, APIRoute) or getattr(route, "methods", None):
                for method in sorted(route.methods or ()):
                    if method != "HEAD":
                        found.append((method, route.path))
            elif getattr(route, "path", None) not in UNROUTED:
                raise AssertionError(f"a mounted app at {route.path!r}: add it to UNROUTED with a reason or route it")

    walk(app.routes)
    return sorted(set(found))


def test_every_route_has_an_entry(security_app) -> None:
    routes = set(app_routes(security_app))
    missing = routes - set(EXPECTED)
    stale = set(EXPECTED) - routes
    assert not missing, f"routes without an entry in authorization_matrix.py: {sorted(missing)}"
    assert not stale, f"entries of authorization_matrix.py for routes the app no longer has: {sorted(stale)}"


class World:
    """The objects each call's path names, made fresh for it in the default tenant."""

    def __init__(self, app, admin) -> None:
        self.app, self.admin = app, admin
        self.settings = app.state.settings

    async def setup(self) -> None:
        listener = await self.admin.post(
            f"{self.api}/listeners",
            json={"compute_id": unique("matrix"), "compute_config": {"k8s_namespaces": ["agents"]}},
        )
        assert listener.status_code == 201, listener.text
        self.listener = listener.json()
        key = await self.key("listener")
        self.listener_api = asgi_client(self.app, {"X-Api-Key": key["key"]})
        tenants = (await self.admin.get(f"{self.api}/tenants")).json()["resources"]
        self.default_tenant = next(t["id"] for t in tenants if t["name"] == "default")

    @property
    def api(self) -> str:
        return f"{self.settings.api_prefix}/v2"

    async def deployment(self) -> dict:
        created = await self.admin.post(f"{self.api}/deployments", json=deployment_create(self))
        assert created.status_code == 201, created.text
        return created.json()

    async def key(self, role: str = "viewer", tenant_id: str | None = None) -> dict:
        headers = {"X-Tenant-Id": tenant_id} if tenant_id else {}
        created = await self.admin.post(
            f"{self.api}/api-keys", json={"name": unique("key"), "role": role}, headers=headers
        )
        assert created.status_code == 201, created.text
        return created.json()

    async def fresh_listener(self) -> dict:
        created = await self.admin.post(
            f"{self.api}/listeners",
            json={"compute_id": unique("spare"), "compute_config": {"k8s_namespaces": ["agents"]}},
        )
        assert created.status_code == 201, created.text
        return created.json()

    async def path_and_body(self, method: str, path: str) -> tuple[str, object, dict]:
        """The path with fresh objects in it, and a body valid for a caller allowed to call it."""
        values: dict[str, str] = {}
        deployment: dict | None = None
        if "{deployment_id}" in path or (path.endswith("/deployments") and method == "DELETE"):
            deployment = await self.deployment()
            values["deployment_id"] = deployment["id"]
            values["revision_id"] = deployment["latest_revision_id"]
        if path.endswith("/manifests") and method == "GET" and deployment is not None:
            reported = await self.listener_api.put(
                f"{self.api}/listener-api/deployments/{deployment['id']}/manifests", json=manifests_body(deployment)
            )
            assert reported.status_code == 204, reported.text
        if "{revision_id}" in path and deployment is None:
            deployment = await self.deployment()
            values["revision_id"] = deployment["latest_revision_id"]
        if "{listener_id}" in path:
            listener = self.listener if "listener-api" in path else await self.fresh_listener()
            values["listener_id"] = listener["id"]
        if "{key_id}" in path:
            values["key_id"] = (await self.key())["id"]
        if "{tenant_id}" in path:
            values["tenant_id"] = self.default_tenant
        values["unknown:path"] = "no-such-page"
        filled = path
        for name, value in values.items():
            filled = filled.replace("{" + name + "}", value)
        return filled, body_for(method, path, deployment, self), {"deployment": deployment}


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat()


def manifests_body(deployment: dict | None) -> dict:
    assert deployment is not None
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": deployment["name"], "namespace": "agents"}}
    return {"revision_id": deployment["latest_revision_id"], "manifests": [service]}


def body_for(method: str, path: str, deployment: dict | None, world: World) -> object:
    v2 = path.split("/v2", 1)[-1] if "/v2/" in path else None
    bodies: dict[tuple[str, str], object] = {
        ("POST", "/deployments"): None,  # made per call below (a unique name)
        ("PATCH", "/deployments/{deployment_id}"): {
            "source_revision_config": {"image_uri": "registry.example.com/team/agent:2"}
        },
        ("POST", "/deployments/{deployment_id}/revisions"): {
            "source_revision_config": {"image_uri": "registry.example.com/team/agent:3"}
        },
        ("POST", "/listeners"): {"compute_id": unique("new"), "compute_config": {"k8s_namespaces": ["agents"]}},
        ("PATCH", "/listeners/{listener_id}"): {"compute_config": {"k8s_namespaces": ["agents", "more"]}},
        ("POST", "/listener-api/register"): {"compute_id": unique("registered"), "k8s_namespaces": ["agents"]},
        ("POST", "/listener-api/revisions/{revision_id}/status"): {"status": "DEPLOYING", "message": None},
        ("POST", "/listener-api/deployments/{deployment_id}/status"): {"status": "READY"},
        ("POST", "/tenants"): {"name": unique("tenant")},
        ("POST", "/api-keys"): {"name": unique("new-key"), "role": "viewer"},
        ("POST", "/listener-api/deployments/{deployment_id}/logs"): {
            "entries": [{"timestamp": "2026-01-01T00:00:00Z", "message": "matrix"}]
        },
    }
    if v2 == "/deployments" and method == "POST":
        return None
    if (method, v2) == ("PUT", "/listener-api/deployments/{deployment_id}/manifests"):
        return manifests_body(deployment)
    if (method, v2) == ("POST", "/listener-api/deployments/{deployment_id}/metrics"):
        assert deployment is not None
        point = {"revision_id": deployment["latest_revision_id"], "timestamp": now_iso(), "values": {"cpu_cores": 0.1}}
        return {"points": [point]}
    return bodies.get((method, v2)) if v2 is not None else None


async def call(world: World, caller: Caller, method: str, path: str) -> int:
    filled, body, made = await world.path_and_body(method, path)
    settings = world.settings
    if path.startswith(settings.ui_prefix):
        return await call_ui(world, caller, method, path, filled, made.get("deployment"))
    params: dict[str, str] = {}
    if method == "DELETE" and path.endswith("/v2/deployments"):
        params["deployment_ids"] = made["deployment"]["id"]
    if method == "GET" and path.endswith("/v2/revisions"):
        params["revision_ids"] = (await world.deployment())["latest_revision_id"]
    if method == "POST" and path.endswith("/v2/deployments"):
        body = json.loads(json.dumps(deployment_create(world)))
    if method == "POST" and path.endswith("/move"):
        # To another listener of the tenant; the two report no common data store.
        body = {"listener_id": (await world.fresh_listener())["id"], "allow_new_databases": True}
    async with asgi_client(world.app, caller.api_headers()) as client:
        response = await client.request(method, filled, json=body, params=params)
    return response.status_code


def deployment_create(world: World) -> dict:
    """A valid create body on the world's listener, under a new name."""
    return {
        "name": unique("agent"),
        "source": "external_docker",
        "source_config": {
            "listener_id": world.listener["id"],
            "listener_config": {"k8s_namespace": "agents"},
            "resource_spec": {"min_scale": 1, "max_scale": 1, "cpu": 0.1, "memory_mb": 128},
        },
        "source_revision_config": {"image_uri": "registry.example.com/team/agent:1"},
        "secrets": [{"name": "OPENAI_API_KEY", "value": "sk-matrix"}],
    }


async def call_ui(world: World, caller: Caller, method: str, path: str, filled: str, deployment: dict | None) -> int:
    ui = world.settings.ui_prefix
    client = caller.ui
    assert client is not None
    if method == "GET":
        return (await client.get(filled)).status_code
    # The session's token as of now (a revoked key's first page ended its session: a new one).
    form: dict[str, str] = {"csrf_token": csrf_of((await client.get(f"{ui}/sign-in")).text)}
    relative = path[len(ui) :]
    if relative == "/sign-in":
        form["api_key"] = caller.key or ""
    elif relative == "/deployments":
        form.update(
            name=unique("ui-agent"),
            listener_id=world.listener["id"],
            k8s_namespace="agents",
            image_uri="registry.example.com/team/agent:1",
            min_scale="1",
            max_scale="1",
            cpu="0.1",
            memory_mb="128",
        )
    elif relative.endswith("/edit"):
        form.update(
            image_uri="registry.example.com/team/agent:2", min_scale="1", max_scale="1", cpu="0.1", memory_mb="128"
        )
    elif relative.endswith("/move"):
        form.update(listener_id=(await world.fresh_listener())["id"], allow_new_databases="on")
    elif relative.endswith("/delete") and deployment is not None:
        form["confirm_name"] = deployment["name"]
    elif relative == "/api-keys":
        form.update(name=unique("ui-key"), role="viewer")
    status = (await client.post(filled, data=form)).status_code
    if relative in ("/sign-in", "/sign-out"):  # back to the role's own session for the next route
        await client.aclose()
        caller.ui, caller.csrf = await ui_session(world.app, ui, caller.key)
    return status


async def callers(world: World) -> dict[str, Caller]:
    """One caller per role; the UI sessions are signed in before the revoked key is revoked."""
    made: dict[str, Caller] = {}
    for role in ("admin", "deployer", "viewer", "listener"):
        made[role] = Caller(role, (await world.key(role))["key"])
    made["no key"] = Caller("no key", None)
    revoked = await world.key("admin")
    made["revoked key"] = Caller("revoked key", revoked["key"])
    other = await world.admin.post(f"{world.api}/tenants", json={"name": unique("other")})
    assert other.status_code == 201, other.text
    other_tenant = other.json()["id"]
    made["other tenant"] = Caller("other tenant", (await world.key("admin", other_tenant))["key"])
    for caller in made.values():
        caller.ui, caller.csrf = await ui_session(world.app, world.settings.ui_prefix, caller.key)
    assert (await world.admin.delete(f"{world.api}/api-keys/{revoked['id']}")).status_code == 204
    return made


def write_report(answers: dict[str, dict[str, int]]) -> int:
    """Keeps what every role got (for docs/reliability.md); answers the number of calls."""
    checked = sum(len(row) for row in answers.values())
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    summary = {"routes": len(answers), "roles": len(ROLES), "checked": checked, "answers": answers}
    REPORT.write_text(json.dumps(summary, indent=1))
    return checked


async def test_every_route_answers_every_role_as_the_matrix_says(security_app) -> None:
    async with asgi_client(security_app, {"X-Api-Key": ADMIN_KEY}) as admin:
        world = World(security_app, admin)
        await world.setup()
        roles = await callers(world)
        answers: dict[str, dict[str, int]] = {}
        wrong: list[str] = []
        try:
            for method, path in app_routes(security_app):
                expected = EXPECTED[(method, path)]
                row = answers.setdefault(f"{method} {path}", {})
                for role in ROLES:
                    got = await call(world, roles[role], method, path)
                    row[role] = got
                    if got != expected[role]:
                        wrong.append(f"{method} {path} as {role}: {got}, expected {expected[role]}")
        finally:
            await world.listener_api.aclose()
            for caller in roles.values():
                if caller.ui is not None:
                    await caller.ui.aclose()
    checked = write_report(answers)
    print(f"authorization matrix: {len(answers)} routes x {len(ROLES)} roles = {checked} calls checked")
    assert not wrong, "\n".join(wrong)
