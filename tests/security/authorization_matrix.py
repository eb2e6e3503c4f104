"""The expected answer of every route to every role: the one reviewed table of who may do what.

Columns: admin, deployer, viewer and listener keys of the default tenant; no key; a revoked key
(an admin's); an admin key of another tenant, calling on the default tenant's objects. The
objects named in a path are fresh ones of the default tenant (test_authorization_matrix.py).
A new route fails the test until it has a row here.

What the rows say, beyond "the role may" (2xx) and "the role may not" (403):
- no key and a revoked key: 401 on the API; on the UI a redirect (303) to the sign-in page,
  which also ends a session whose key was revoked. A listener key cannot sign in to the UI (401
  on the sign-in form), so every UI page sends it to the sign-in page too.
- another tenant's admin: 404 for the default tenant's objects (their existence is not
  revealed), its own (empty) lists for collections, 400 for a deployment on a listener it cannot
  see, 207 (each id not found) for a bulk delete, 403 on the listener API (role admin).
- POST /v2/tenants: only the platform's bootstrap key (not in the matrix) creates tenants.
- the listener API (`/v2/listener-api`) takes listener keys only: it answers decrypted secrets.
  `.../deleted` answers 409 to the listener: the fresh deployment is not AWAITING_DELETE (the
  role check passed).
- public: /ok, /readyz, /metrics (the pod's probes and scrape; the chart exposes only the API
  and UI paths through the ingress), the OpenAPI document and its docs page, and the sign-in page.
- /o/{tenant}/host/deployments[/{id}]: LangSmith's dashboard links, a redirect (307) into the UI
  for anyone; the UI page behind it checks the session.
- interrupt answers 409 to a deployer: the fresh revision has no active one to fall back to (the
  role check passed).
- UI pages a viewer may open but whose forms only a deployer may post (new, edit, delete), or
  only an admin (move): the page shows; the post is refused (403) by the API behind it.
"""

from __future__ import annotations

from security_support import ROLES

# Mounted apps that are not routes: the UI's static files (CSS, JS, icons; no data, no session).
UNROUTED = {"/ui/static"}

# method path                                                                  admin depl view lstn none revk othr
TABLE = """
GET /api-host/docs                                                                200 200 200 200 200 200 200
GET /api-host/openapi.json                                                        200 200 200 200 200 200 200
POST /api-host/v1/projects/{deployment_id}/deploy_logs                            200 200 200 403 401 401 404
POST /api-host/v1/projects/{deployment_id}/revisions/{revision_id}/build_logs     200 200 200 403 401 401 404
POST /api-host/v1/projects/{deployment_id}/revisions/{revision_id}/deploy_logs    200 200 200 403 401 401 404
GET /api-host/v2/api-keys                                                         200 403 403 403 401 401 200
POST /api-host/v2/api-keys                                                        201 403 403 403 401 401 201
DELETE /api-host/v2/api-keys/{key_id}                                             204 403 403 403 401 401 404
GET /api-host/v2/audit-log                                                        200 403 403 403 401 401 200
DELETE /api-host/v2/deployments                                                   200 200 403 403 401 401 207
GET /api-host/v2/deployments                                                      200 200 200 403 401 401 200
POST /api-host/v2/deployments                                                     201 201 403 403 401 401 400
DELETE /api-host/v2/deployments/{deployment_id}                                   204 204 403 403 401 401 404
GET /api-host/v2/deployments/{deployment_id}                                      200 200 200 403 401 401 404
PATCH /api-host/v2/deployments/{deployment_id}                                    200 200 403 403 401 401 404
POST /api-host/v2/deployments/{deployment_id}/logs                                200 200 200 403 401 401 404
POST /api-host/v2/deployments/{deployment_id}/move                                200 403 403 403 401 401 404
GET /api-host/v2/deployments/{deployment_id}/manifests                            200 200 200 403 401 401 404
GET /api-host/v2/deployments/{deployment_id}/metrics                              200 200 200 403 401 401 404
GET /api-host/v2/deployments/{deployment_id}/revisions                            200 200 200 403 401 401 404
POST /api-host/v2/deployments/{deployment_id}/revisions                           201 201 403 403 401 401 404
GET /api-host/v2/deployments/{deployment_id}/revisions/{revision_id}              200 200 200 403 401 401 404
POST /api-host/v2/deployments/{deployment_id}/revisions/{revision_id}/interrupt   409 409 403 403 401 401 404
GET /api-host/v2/deployments/{deployment_id}/revisions/{revision_id}/logs         200 200 200 403 401 401 404
GET /api-host/v2/deployments/{deployment_id}/revisions/{revision_id}/metrics      200 200 200 403 401 401 404
POST /api-host/v2/deployments/{deployment_id}/revisions/{revision_id}/logs        200 200 200 403 401 401 404
POST /api-host/v2/deployments/{deployment_id}/revisions/{revision_id}/redeploy    201 201 403 403 401 401 404
POST /api-host/v2/listener-api/deployments/{deployment_id}/deleted                403 403 403 409 401 401 403
POST /api-host/v2/listener-api/deployments/{deployment_id}/logs                   403 403 403 204 401 401 403
PUT /api-host/v2/listener-api/deployments/{deployment_id}/manifests               403 403 403 204 401 401 403
POST /api-host/v2/listener-api/deployments/{deployment_id}/metrics                403 403 403 204 401 401 403
POST /api-host/v2/listener-api/deployments/{deployment_id}/status                 403 403 403 200 401 401 403
GET /api-host/v2/listener-api/listeners/{listener_id}/changes                     403 403 403 200 401 401 403
GET /api-host/v2/listener-api/listeners/{listener_id}/desired-state               403 403 403 200 401 401 403
POST /api-host/v2/listener-api/register                                           403 403 403 200 401 401 403
POST /api-host/v2/listener-api/revisions/{revision_id}/status                     403 403 403 200 401 401 403
GET /api-host/v2/listeners                                                        200 200 200 403 401 401 200
POST /api-host/v2/listeners                                                       201 403 403 403 401 401 201
DELETE /api-host/v2/listeners/{listener_id}                                       204 403 403 403 401 401 404
GET /api-host/v2/listeners/{listener_id}                                          200 200 200 403 401 401 404
PATCH /api-host/v2/listeners/{listener_id}                                        200 403 403 403 401 401 404
GET /api-host/v2/revisions                                                        200 200 200 403 401 401 200
GET /api-host/v2/tenants                                                          200 403 403 403 401 401 200
POST /api-host/v2/tenants                                                         403 403 403 403 401 401 403
GET /api-host/v2/tenants/{tenant_id}                                              200 403 403 403 401 401 404
GET /docs/oauth2-redirect                                                         200 200 200 200 200 200 200
GET /metrics                                                                      200 200 200 200 200 200 200
GET /o/{tenant_id}/host/deployments                                               307 307 307 307 307 307 307
GET /o/{tenant_id}/host/deployments/{deployment_id}                               307 307 307 307 307 307 307
GET /ok                                                                           200 200 200 200 200 200 200
GET /readyz                                                                       200 200 200 200 200 200 200
GET /ui                                                                           303 303 303 303 303 303 303
GET /ui/                                                                          303 303 303 303 303 303 303
GET /ui/api-keys                                                                  200 403 403 303 303 303 200
POST /ui/api-keys                                                                 201 403 403 303 303 303 201
POST /ui/api-keys/{key_id}/revoke                                                 303 403 403 303 303 303 404
GET /ui/deployments                                                               200 200 200 303 303 303 200
POST /ui/deployments                                                              303 303 403 303 303 303 400
GET /ui/deployments/new                                                           200 200 200 303 303 303 200
GET /ui/deployments/{deployment_id}                                               200 200 200 303 303 303 404
GET /ui/deployments/{deployment_id}/delete                                        200 200 200 303 303 303 404
POST /ui/deployments/{deployment_id}/delete                                       303 303 403 303 303 303 404
GET /ui/deployments/{deployment_id}/edit                                          200 200 200 303 303 303 404
POST /ui/deployments/{deployment_id}/edit                                         303 303 403 303 303 303 404
GET /ui/deployments/{deployment_id}/logs                                          200 200 200 303 303 303 404
GET /ui/deployments/{deployment_id}/metrics                                       200 200 200 303 303 303 404
GET /ui/deployments/{deployment_id}/move                                          200 200 200 303 303 303 404
POST /ui/deployments/{deployment_id}/move                                         303 403 403 303 303 303 404
GET /ui/deployments/{deployment_id}/revisions/{revision_id}                       200 200 200 303 303 303 404
POST /ui/deployments/{deployment_id}/revisions/{revision_id}/redeploy             303 303 403 303 303 303 404
GET /ui/deployments/{deployment_id}/status.json                                   200 200 200 303 303 303 404
GET /ui/listeners                                                                 200 200 200 303 303 303 200
GET /ui/sign-in                                                                   200 200 200 200 200 200 200
POST /ui/sign-in                                                                  303 303 303 401 401 401 303
POST /ui/sign-out                                                                 303 303 303 303 303 303 303
GET /ui/{unknown:path}                                                            404 404 404 404 404 404 404
"""


def _parse(table: str) -> dict[tuple[str, str], dict[str, int]]:
    expected: dict[tuple[str, str], dict[str, int]] = {}
    for line in table.strip().splitlines():
        method, path, *codes = line.split()
        assert len(codes) == len(ROLES), f"{method} {path}: {len(codes)} answers for {len(ROLES)} roles"
        assert (method, path) not in expected, f"{method} {path} twice"
        expected[(method, path)] = dict(zip(ROLES, map(int, codes), strict=True))
    return expected


EXPECTED = _parse(TABLE)
