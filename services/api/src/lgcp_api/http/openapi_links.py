"""OpenAPI links: how the answer of one operation names the object the next operates on.

Clients and stateful test tools (schemathesis' stateful phase) follow them: a deployment
created is then read, changed, redeployed and deleted by its id, instead of random ids that
only ever find nothing.
"""

from __future__ import annotations

from typing import Any

# (method, path of the answering operation, its status) -> [(link name, method, target path,
# parameters)]. Paths are relative to <prefix>/v2; a parameter is a runtime expression.
_CREATED_DEPLOYMENT = {"deployment_id": "$response.body#/id"}
_CREATED_REVISION = {"deployment_id": "$request.path.deployment_id", "revision_id": "$response.body#/id"}
_REVISION = "/deployments/{deployment_id}/revisions/{revision_id}"
LINKS: dict[tuple[str, str, str], list[tuple[str, str, str, dict[str, str]]]] = {
    ("post", "/deployments", "201"): [
        ("GetDeployment", "get", "/deployments/{deployment_id}", _CREATED_DEPLOYMENT),
        ("PatchDeployment", "patch", "/deployments/{deployment_id}", _CREATED_DEPLOYMENT),
        ("ListRevisions", "get", "/deployments/{deployment_id}/revisions", _CREATED_DEPLOYMENT),
        ("CreateRevision", "post", "/deployments/{deployment_id}/revisions", _CREATED_DEPLOYMENT),
        (
            "GetLatestRevision",
            "get",
            "/deployments/{deployment_id}/revisions/{revision_id}",
            {**_CREATED_DEPLOYMENT, "revision_id": "$response.body#/latest_revision_id"},
        ),
        ("DeleteDeployment", "delete", "/deployments/{deployment_id}", _CREATED_DEPLOYMENT),
    ],
    ("post", "/deployments/{deployment_id}/revisions", "201"): [
        ("GetRevision", "get", "/deployments/{deployment_id}/revisions/{revision_id}", _CREATED_REVISION),
        (
            "RedeployRevision",
            "post",
            "/deployments/{deployment_id}/revisions/{revision_id}/redeploy",
            _CREATED_REVISION,
        ),
        ("RevisionLogs", "get", "/deployments/{deployment_id}/revisions/{revision_id}/logs", _CREATED_REVISION),
    ],
    ("post", "/listeners", "201"): [
        ("GetListener", "get", "/listeners/{listener_id}", {"listener_id": "$response.body#/id"}),
        ("PatchListener", "patch", "/listeners/{listener_id}", {"listener_id": "$response.body#/id"}),
        ("DeleteListener", "delete", "/listeners/{listener_id}", {"listener_id": "$response.body#/id"}),
    ],
    ("post", "/api-keys", "201"): [
        ("RevokeApiKey", "delete", "/api-keys/{key_id}", {"key_id": "$response.body#/id"}),
    ],
    ("post", "/tenants", "201"): [
        ("GetTenant", "get", "/tenants/{tenant_id}", {"tenant_id": "$response.body#/id"}),
    ],
}


def add_links(spec: dict[str, Any], v2_prefix: str) -> dict[str, Any]:
    """Adds LINKS to the answers of `spec` (in place); a link whose operations are missing
    is an error, so a renamed route cannot silently drop its links."""
    paths = spec["paths"]
    for (method, path, status), links in LINKS.items():
        response = paths[v2_prefix + path][method]["responses"][status]
        response["links"] = {
            name: {"operationId": paths[v2_prefix + target][target_method]["operationId"], "parameters": parameters}
            for name, target_method, target, parameters in links
        }
    return spec
