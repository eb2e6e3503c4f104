"""What every object the listener renders shares: its labels and metadata (owner included), and
the security contexts that Pod Security "restricted" admits."""

from __future__ import annotations

import base64

from lgcp_contract import labels as L
from lgcp_contract.desired_state import DesiredDeployment

from ..objects import Manifest
from .context import Owner, RenderContext


def labels(desired: DesiredDeployment, ctx: RenderContext, component: str) -> dict[str, str]:
    """The listener's labels: what selects, fences and finds everything it made."""
    return {
        L.MANAGED_BY: L.MANAGED_BY_VALUE,
        L.LISTENER: ctx.compute_id,
        L.INSTANCE: desired.name,
        L.COMPONENT: component,
        L.DEPLOYMENT_ID: desired.id,
    }


def selector(desired: DesiredDeployment, component: str) -> dict[str, str]:
    """The pods of one component of one deployment."""
    return {L.DEPLOYMENT_ID: desired.id, L.COMPONENT: component}


def metadata(
    desired: DesiredDeployment, ctx: RenderContext, name: str, component: str, owner: Owner | None
) -> Manifest:
    """An object's metadata; with `owner`, the agent's Deployment owns it (garbage collection)."""
    meta: Manifest = {
        "name": name,
        "namespace": desired.namespace,
        "labels": labels(desired, ctx, component),
        "annotations": {},
    }
    if owner is not None:
        meta["ownerReferences"] = [
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "name": owner.name,
                "uid": owner.uid,
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ]
    return meta


def b64(value: str) -> str:
    """A Secret's `data` value."""
    return base64.b64encode(value.encode()).decode()


def container_security_context() -> Manifest:
    """A container as Pod Security "restricted" requires, with a read-only root filesystem."""
    return {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def pod_security_context(uid: int) -> Manifest:
    """A pod running as `uid` (user, group and volume group), as "restricted" requires."""
    return {
        "runAsNonRoot": True,
        "runAsUser": uid,
        "runAsGroup": uid,
        "fsGroup": uid,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
