"""422 answers name the field and never carry the input back (it may hold secret values)."""

from __future__ import annotations

from api_support import deployment_body

SECRET = "sk-must-not-come-back"


def assert_no_input_echoed(answer) -> None:
    assert answer.status_code == 422, answer.text
    assert SECRET not in answer.text
    for error in answer.json()["detail"]:
        assert set(error) == {"type", "loc", "msg"}, error


async def test_body_level_error_does_not_echo_secret_values(admin, listener):
    # Two secrets of one name: a check over the whole body, whose input is the whole body.
    body = deployment_body(
        listener["id"], secrets=[{"name": "TOKEN", "value": SECRET}, {"name": "TOKEN", "value": SECRET + "-2"}]
    )
    answer = await admin.post("/deployments", json=body)
    assert_no_input_echoed(answer)
    assert "TOKEN" in answer.text  # the message still says what is wrong
    assert (await admin.get("/deployments")).json()["resources"] == []


async def test_field_error_names_the_field_without_its_value(admin, listener):
    body = deployment_body(listener["id"], secrets=[{"name": "bad name!", "value": SECRET}])
    answer = await admin.post("/deployments", json=body)
    assert_no_input_echoed(answer)
    assert any(error["loc"][:3] == ["body", "secrets", 0] for error in answer.json()["detail"]), answer.text


async def test_query_errors_keep_their_location(admin):
    answer = await admin.get("/deployments", params={"limit": 1000})
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"] == ["query", "limit"]


async def test_an_offset_past_what_postgres_counts_is_a_422_naming_it(admin):
    # schemathesis found it: an offset beyond a bigint overflowed asyncpg's encoder into a 500.
    for path in ("/deployments", "/api-keys"):
        answer = await admin.get(path, params={"offset": 6445739256852158349312})
        assert answer.status_code == 422, (path, answer.text)
        assert answer.json()["detail"][0]["loc"] == ["query", "offset"]
