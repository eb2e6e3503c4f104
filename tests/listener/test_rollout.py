"""Deriving a revision's rollout outcome from Deployment and pod status (pure)."""

from typing import Any

from lgcp_contract import labels as L
from lgcp_listener.status.rollout import derive


def deployment(
    rev: str = "r1", generation: int = 2, observed: int = 2, replicas: int = 2, **status: Any
) -> dict[str, Any]:
    return {
        "metadata": {"generation": generation, "labels": {L.REVISION_ID: rev}},
        "spec": {"replicas": replicas},
        "status": {"observedGeneration": observed, **status},
    }


def pod(
    rev: str = "r1", waiting: dict[str, str] | None = None, restarts: int = 0, last_exit: int | None = None
) -> dict[str, Any]:
    cs = {"name": "c", "restartCount": restarts, "state": {"waiting": waiting} if waiting else {"running": {}}}
    if last_exit is not None:
        cs["lastState"] = {"terminated": {"exitCode": last_exit}}
    return {"metadata": {"labels": {L.REVISION_ID: rev}}, "status": {"containerStatuses": [cs]}}


def test_complete_when_all_updated_and_available() -> None:
    d = deployment(replicas=2, updatedReplicas=2, availableReplicas=2)
    assert derive(d, [pod(), pod()], "r1").state == "complete"


def test_progressing_while_controller_has_not_observed_generation() -> None:
    d = deployment(generation=3, observed=2, replicas=1, updatedReplicas=1, availableReplicas=1)
    assert derive(d, [], "r1").state == "progressing"


def test_progressing_while_old_replicas_remain() -> None:
    d = deployment(replicas=1, updatedReplicas=1, availableReplicas=1)
    d["status"]["replicas"] = 2
    assert derive(d, [], "r1").message.startswith("1 old replicas")


def test_progressing_for_other_revision() -> None:
    assert derive(deployment(rev="r0"), [], "r1").state == "progressing"
    assert derive(None, [], "r1").state == "progressing"


def test_image_pull_failure() -> None:
    r = derive(deployment(updatedReplicas=2), [pod(waiting={"reason": "ImagePullBackOff", "message": "nope"})], "r1")
    assert r.state == "failed" and "image pull failure" in r.message and "nope" in r.message


def test_crash_loop_reports_restarts_and_exit_code() -> None:
    r = derive(deployment(), [pod(waiting={"reason": "CrashLoopBackOff"}, restarts=4, last_exit=1)], "r1")
    assert (
        r.state == "failed" and "crash loop" in r.message and "4 restarts" in r.message and "exit code 1" in r.message
    )


def test_failures_of_old_revision_pods_are_ignored() -> None:
    d = deployment(replicas=1, updatedReplicas=1, availableReplicas=1)
    d["status"]["replicas"] = 1
    assert derive(d, [pod(rev="r0", waiting={"reason": "CrashLoopBackOff"})], "r1").state == "complete"


def test_progress_deadline_exceeded() -> None:
    d = deployment(
        conditions=[
            {
                "type": "Progressing",
                "status": "False",
                "reason": "ProgressDeadlineExceeded",
                "message": "ReplicaSet x has timed out progressing.",
            }
        ]
    )
    r = derive(d, [], "r1")
    assert r.state == "failed" and r.message.startswith("progress deadline exceeded")


def test_zero_replicas_is_complete() -> None:
    assert derive(deployment(replicas=0), [], "r1").state == "complete"


def test_with_an_autoscaler_complete_only_once_it_reached_its_minimum() -> None:
    # A new Deployment under an HPA starts at one replica; min_scale 3 is the HPA's to reach.
    one = deployment(replicas=1, updatedReplicas=1, availableReplicas=1)
    state = derive(one, [], "r1", min_replicas=3)
    assert state.state == "progressing" and "autoscaler" in state.message
    three = deployment(replicas=3, updatedReplicas=3, availableReplicas=3)
    assert derive(three, [], "r1", min_replicas=3).state == "complete"
    # Scaled above the minimum by the HPA: still complete.
    five = deployment(replicas=5, updatedReplicas=5, availableReplicas=5)
    assert derive(five, [], "r1", min_replicas=3).state == "complete"
