"""Every name the listener derives from a deployment's name fits Kubernetes' 63 characters for the
longest name the API accepts (lgcp_contract.names), in every mode, rendered by the real code."""

from __future__ import annotations

import itertools
import re
import uuid

import pytest
from lgcp_contract import labels as L
from lgcp_contract.desired_state import DesiredDeployment
from lgcp_contract.names import DEPLOYMENT_NAME_MAX_LENGTH, DERIVED_SUFFIX_MAX_LENGTH, KUBERNETES_NAME_MAX_LENGTH
from lgcp_listener.configuration import DedicatedConfig, RouteConfig, RoutingMode
from lgcp_listener.databases.dedicated.connections import DedicatedAgentConnections
from lgcp_listener.databases.dedicated.names import owned_names as dedicated_names
from lgcp_listener.databases.dedicated.objects import database_objects
from lgcp_listener.databases.shared.identifiers import identifier, redis_user
from lgcp_listener.objects import Manifest
from lgcp_listener.render.agent import owned_names, render
from lgcp_listener.render.context import Owner, RenderContext

LONGEST = "a" + "b" * (DEPLOYMENT_NAME_MAX_LENGTH - 2) + "z"
DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
# A StatefulSet's pods carry `controller-revision-hash: <name>-<10 characters>`, a label value.
STATEFULSET_NAME_MAX_LENGTH = KUBERNETES_NAME_MAX_LENGTH - 11
SCALES = [(1, 1), (1, 3), (2, 2), (2, 5)]  # plain, HPA, PDB, both


def desired(min_scale: int, max_scale: int) -> DesiredDeployment:
    return DesiredDeployment.model_validate(
        {
            "id": str(uuid.uuid4()),
            "name": LONGEST,
            "namespace": "agents",
            "source_config": {"resource_spec": {"min_scale": min_scale, "max_scale": max_scale}},
            "revision": {"id": str(uuid.uuid4()), "image_uri": "registry.test/agent:1", "status": "QUEUED"},
        }
    )


def everything(d: DesiredDeployment, routing: RoutingMode, dedicated: bool) -> list[Manifest]:
    """What the reconcile step renders for `d` (its dedicated databases' objects included)."""
    ctx = RenderContext(
        "c" * KUBERNETES_NAME_MAX_LENGTH, RouteConfig("ls.example.com", mode=routing, gateway_name="gw")
    )
    conn = DedicatedAgentConnections(
        "postgresql://u:p@h/db", "redis://:p@h/0", postgres_password="p", redis_password="q"
    )
    owner = Owner(d.name, "uid-1")
    extra = database_objects(d, conn, ctx, DedicatedConfig(), owner) if dedicated else []
    return render(d, conn, ctx, owner, database_objects=extra)


def derived(name: str) -> None:
    assert DNS_LABEL.fullmatch(name), name
    assert len(name) <= KUBERNETES_NAME_MAX_LENGTH, (len(name), name)
    assert len(name) - len(LONGEST) <= DERIVED_SUFFIX_MAX_LENGTH, name


@pytest.mark.parametrize(
    "scale, routing, dedicated", list(itertools.product(SCALES, ["ingress", "gateway"], [False, True]))
)
def test_every_rendered_object_name_and_label_value_fits(
    scale: tuple[int, int], routing: RoutingMode, dedicated: bool
) -> None:
    d = desired(*scale)
    objects = everything(d, routing, dedicated)
    kinds = {obj["kind"] for obj in objects}
    assert ("HorizontalPodAutoscaler" in kinds) == (scale[1] > scale[0])
    assert ("PodDisruptionBudget" in kinds) == (scale[0] > 1)
    assert ("HTTPRoute" if routing == "gateway" else "Ingress") in kinds
    assert ("StatefulSet" in kinds) is dedicated
    for obj in objects:
        derived(obj["metadata"]["name"])
        for key, value in obj["metadata"]["labels"].items():
            assert len(value) <= KUBERNETES_NAME_MAX_LENGTH, (obj["kind"], key, value)
        if obj["kind"] == "StatefulSet":
            name = obj["metadata"]["name"]
            assert len(name) <= STATEFULSET_NAME_MAX_LENGTH, name
            derived(f"{name}-0")  # its pod
            for claim in obj["spec"].get("volumeClaimTemplates", []):
                derived(f"{claim['metadata']['name']}-{name}-0")  # the claim its controller makes
    # The names looked up before a first creation are the ones rendered (and fit too).
    looked_up = owned_names(d, "HTTPRoute" if routing == "gateway" else "Ingress")
    if dedicated:
        looked_up += dedicated_names(d.name)
    for _, name in looked_up:
        derived(name)
    assert {(o["kind"], o["metadata"]["name"]) for o in objects} <= set(looked_up)


def test_the_instance_label_is_the_deployment_name_itself() -> None:
    labels = everything(desired(1, 1), "ingress", True)[1]["metadata"]["labels"]
    assert labels[L.INSTANCE] == LONGEST and len(LONGEST) == DEPLOYMENT_NAME_MAX_LENGTH


def test_shared_mode_role_database_and_redis_user_names_fit_postgres_63_bytes() -> None:
    for deployment_id in (str(uuid.uuid4()), "x" * 500):
        assert len(identifier(deployment_id).encode()) <= KUBERNETES_NAME_MAX_LENGTH
        assert redis_user(deployment_id) == identifier(deployment_id)
