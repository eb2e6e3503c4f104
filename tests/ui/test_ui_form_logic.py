"""Pure logic of the UI: form fields to API bodies, API error locations to form fields, and
the same-origin check."""

from __future__ import annotations

import pytest
from lgcp_api.ui import forms
from lgcp_api.ui.csrf import same_origin, token_matches

DEPLOYMENT = {
    "name": "my-agent",
    "source_config": {
        "resource_spec": {
            "min_scale": 1,
            "max_scale": 2,
            "cpu": 0.5,
            "cpu_limit": 0.5,
            "memory_mb": 512,
            "memory_limit_mb": 512,
        }
    },
    "source_revision_config": {"image_uri": "r.example.com/a:1"},
    "secret_references": [{"name": "TOKEN", "secret_name": "s", "secret_key": "k"}],
}


def test_blank_rows_are_dropped_and_the_rest_keep_their_order():
    form = {
        "secrets.2.name": "B",
        "secrets.2.value": " spaced ",
        "secrets.0.name": "A",
        "secrets.0.value": "x",
        "secrets.1.name": " ",
        "secrets.1.value": "",
    }
    assert forms.rows(form, "secrets", forms.SECRET_COLUMNS) == [
        {"name": "A", "value": "x"},
        {"name": "B", "value": " spaced "},
    ]


def test_create_body_nests_fields_where_the_api_expects_them():
    values = forms.deployment_values(
        {
            "name": " my-agent ",
            "image_uri": "r.example.com/a:1",
            "listener_id": "L",
            "k8s_namespace": "agents",
            "cpu": "0.5",
            "max_scale": "",
            "secrets.0.name": "K",
            "secrets.0.value": "v",
        }
    )
    body = forms.create_body(values)
    assert body["name"] == "my-agent"
    assert body["source_config"] == {
        "listener_id": "L",
        "resource_spec": {"cpu": "0.5"},
        "listener_config": {"k8s_namespace": "agents"},
    }
    assert body["secrets"] == [{"name": "K", "value": "v"}]


def test_update_body_holds_only_what_the_user_changed():
    baseline = forms.values_of_deployment(DEPLOYMENT)
    values = dict(baseline)
    assert forms.update_body(values, baseline) == {}
    values.update(cpu="0.50", memory_mb="1024", image_uri="r.example.com/a:2")
    assert forms.update_body(values, baseline) == {
        "source_revision_config": {"image_uri": "r.example.com/a:2"},
        "source_config": {"resource_spec": {"memory_mb": "1024"}},
    }


def test_update_body_replaces_secrets_only_when_asked():
    baseline = forms.values_of_deployment(DEPLOYMENT)
    values = {**baseline, "secrets": [], "replace_secrets": True}
    assert forms.update_body(values, baseline) == {"secrets": []}


def test_rebase_keeps_the_users_changes_and_takes_the_rest_from_the_new_state():
    baseline = forms.values_of_deployment(DEPLOYMENT)
    values = {**baseline, "image_uri": "r.example.com/a:2"}
    newer = {**baseline, "max_scale": "5"}
    rebased = forms.rebase(values, baseline, newer)
    assert rebased["image_uri"] == "r.example.com/a:2" and rebased["max_scale"] == "5"
    assert forms.update_body(rebased, newer) == {"source_revision_config": {"image_uri": "r.example.com/a:2"}}


@pytest.mark.parametrize(
    ("loc", "key"),
    [
        (["body", "name"], "name"),
        (["body", "source_revision_config", "image_uri"], "image_uri"),
        (["body", "source_config", "listener_config", "k8s_namespace"], "k8s_namespace"),
        (["body", "source_config", "resource_spec", "cpu_limit"], "cpu_limit"),
        (["body", "source_config", "resource_spec"], "resource_spec"),
        (["body", "secrets", 1, "name"], "secrets.1.name"),
        (["body"], forms.FORM_LEVEL),
    ],
)
def test_error_locations_map_to_form_fields(loc, key):
    assert forms.field_key(loc) == key


def test_errors_not_on_the_form_are_kept_for_the_summary():
    errors = forms.field_errors(
        [
            {"loc": ["body", "name"], "msg": "Value error, bad name"},
            {"loc": ["body", "source_config", "custom_url"], "msg": "bad url"},
        ]
    )
    assert errors["name"] == ["bad name"]
    assert forms.unplaced(errors, {"name"}) == ["custom_url: bad url"]
    assert forms.field_errors("the deployment is being deleted") == {
        forms.FORM_LEVEL: ["the deployment is being deleted"]
    }


@pytest.mark.parametrize(
    ("origin", "fetch_site", "host", "allowed"),
    [
        ("https://ls.example.com", "same-origin", "ls.example.com", True),
        ("https://ls.example.com", None, "ls.example.com:443", True),
        ("http://127.0.0.1:8080", None, "127.0.0.1:8080", True),
        ("https://evil.example", "cross-site", "ls.example.com", False),
        ("https://ls.example.com:8443", None, "ls.example.com", False),
        ("null", None, "ls.example.com", False),
        (None, "cross-site", "ls.example.com", False),
        (None, "same-origin", "ls.example.com", True),
    ],
)
def test_same_origin(origin, fetch_site, host, allowed):
    assert same_origin(origin, fetch_site, host) is allowed


def test_token_comparison():
    assert token_matches("abc", "abc")
    assert not token_matches("abc", "abd")
    assert not token_matches("abc", None)
