"""The dashboard links langgraph-cli prints (`<root>/o/<tenant>/host/deployments/<id>`) lead to
the UI's pages (issue 17)."""

from __future__ import annotations

import uuid

import httpx


async def test_the_cli_status_link_redirects_to_the_ui_page(app, deployment):
    settings = app.state.settings
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as client:
        base = f"{settings.base_path}/o/{deployment['tenant_id']}/host/deployments"
        one = await client.get(f"{base}/{deployment['id']}")
        assert one.status_code == 307
        assert one.headers["location"] == f"{settings.ui_prefix}/deployments/{deployment['id']}"
        listing = await client.get(base)
        assert listing.status_code == 307 and listing.headers["location"] == f"{settings.ui_prefix}/deployments"
        # Only ids: nothing else can be smuggled into the location.
        assert (await client.get(f"{base}/..%2F..%2Fevil")).status_code in (404, 422)
        assert (
            await client.get(f"{settings.base_path}/o/not-a-tenant/host/deployments/{uuid.uuid4()}")
        ).status_code == 422
