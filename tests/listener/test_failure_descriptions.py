"""Log lines about a desired state that does not parse carry no secret value."""

from __future__ import annotations

import pytest
from lgcp_contract.desired_state import DesiredDeployment
from lgcp_listener.observability.failures import describe_failure
from pydantic import ValidationError


def test_invalid_desired_state_is_described_without_its_secret_values() -> None:
    bad = {
        "id": "d1",
        "name": "a",
        "namespace": "ns",
        "status": "READY",
        "secrets": [{"value": "sk-must-not-be-logged"}],
    }  # no name: the error's input is the secret
    with pytest.raises(ValidationError) as caught:
        DesiredDeployment.model_validate(bad)
    assert "sk-must-not-be-logged" in str(caught.value)  # what logging str(exc) used to leak
    described = describe_failure(caught.value)
    assert "sk-must-not-be-logged" not in described
    assert "secrets.0.name" in described


def test_other_failures_are_described_by_their_message() -> None:
    assert describe_failure(RuntimeError("API answered 503")) == "API answered 503"
