"""What the deployment page shows of issue 17: the routed custom URL and its certificate's
Secret, and the LangSmith-only resource_spec fields a deployment sets, marked "no effect here"."""

from __future__ import annotations

from playwright.async_api import expect
from ui_harness import sign_in


async def test_custom_url_and_no_effect_fields_are_shown(page, ui_server, listener):
    body = {
        "name": "routed",
        "source": "external_docker",
        "source_config": {
            "listener_id": listener["id"],
            "listener_config": {"k8s_namespace": "agents"},
            "custom_url": "https://agent.example.org",
            "resource_spec": {"queue_cpu": 1, "sidecars": [{"name": "proxy", "image": "envoy:1"}]},
        },
        "source_revision_config": {"image_uri": "registry.example.com/team/agent:1"},
    }
    async with ui_server.admin() as admin:
        created = await admin.post("/deployments", json=body)
        assert created.status_code == 201, created.text
        plain = await admin.post(
            "/deployments", json={**body, "name": "plain", "source_config": {"listener_id": listener["id"]}}
        )
        assert plain.status_code == 201, plain.text
    await sign_in(page, ui_server)
    await page.goto(f"{ui_server.ui}/deployments/{created.json()['id']}")
    await expect(page.get_by_text("agent.example.org").first).to_be_visible()
    await expect(page.get_by_text("routed-custom-url-tls")).to_be_visible()
    no_effect = page.locator("[data-no-effect]")
    await expect(no_effect).to_contain_text("queue_cpu")
    await expect(no_effect).not_to_contain_text("sidecars")  # rendered into the pod: not "no effect"
    await expect(no_effect).to_contain_text("no effect here")
    await page.goto(f"{ui_server.ui}/deployments/{plain.json()['id']}")
    await expect(page.locator("[data-no-effect]")).to_have_count(0)
