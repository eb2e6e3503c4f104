#!/usr/bin/env python3
"""First request benchmark on the real local node: from the API's 201 to the first 200 through the
ingress, for N agents created together, beside the floor measured in the same run.

For each N: N sample agents are created at once through the API on the ingress; each one's time
runs from its 201 to the first `GET <host>/lgp/<name>/ok` answering 200 (p50, p99). The floor is
the same objects without the control plane: the Deployment, Service and Ingress the listener
rendered for one of them, renamed N times, `kubectl apply`-ed together, each timed from the apply
to its first 200 through the ingress (they reuse that agent's env Secret, so their database is
already migrated: the floor leaves out the database the listener makes). Then the RSS at rest of
the node's processes and of the chart's pods.

Needs `make demo` (the node, the release in namespace `lgcp`, the images):

    .venv/bin/python bench/first_request.py --n 1 5 20
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import threading
import time
import uuid
from pathlib import Path

import httpx
import psutil
from lgcp_local_stack import node
from lgcp_local_stack.control_plane import ControlPlane
from lgcp_local_stack.release import Release, ReleaseConfig

IMAGE = "localhost/lgcp-sample-agent:1"
# Host processes of the node (scripts/cluster/real.sh), by executable name.
NODE_PROCESSES = (
    "etcd",
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kubelet",
    "kube-proxy",
    "containerd",
    "containerd-shim-runc-v2",
    "traefik",
    "local-volumes",
)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def first_200(url: str, started: float, timeout: float = 600) -> float:
    """Seconds from `started` until `url` answers 200 (polled every 100 ms)."""
    deadline = started + timeout
    with httpx.Client(timeout=5) as client:
        while time.monotonic() < deadline:
            try:
                if client.get(url).status_code == 200:
                    return time.monotonic() - started
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
    raise TimeoutError(f"{url} did not answer 200 within {timeout}s")


def run_parallel(jobs: list) -> list:
    results: list = [None] * len(jobs)
    errors: list = []

    def work(i: int, job) -> None:
        try:
            results[i] = job()
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i, job)) for i, job in enumerate(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return results


def through_control_plane(
    release: Release, plane: ControlPlane, listener_id: str, n: int
) -> tuple[list[float], list[dict]]:
    run = uuid.uuid4().hex[:4]

    def one(i: int):
        def job() -> tuple[float, dict]:
            # 50m each: 20 of them beside the chart fit in the node's 2 cores of requests.
            deployment = plane.create(f"bench-{run}-{i}", IMAGE, listener_id, cpu=0.05, memory_mb=384)
            started = time.monotonic()  # the 201 is in
            return first_200(f"{release.agent_url(deployment['name'])}/ok", started), deployment

        return job

    results = run_parallel([one(i) for i in range(n)])
    return [r[0] for r in results], [r[1] for r in results]


def floor_objects(release: Release, source: dict, name: str) -> list[dict]:
    """The source agent's Deployment, Service and Ingress as the listener rendered them, renamed."""
    ns = release.agents_namespace
    out = []
    for kind in ("deployment", "service", "ingress"):
        obj = copy.deepcopy(release.node.get_json(kind, source["name"], "-n", ns))
        meta = obj["metadata"]
        obj["metadata"] = {"name": name, "namespace": ns, "labels": {"app": name}}
        del meta
        obj.pop("status", None)
        spec = obj["spec"]
        if kind == "deployment":
            spec["selector"] = {"matchLabels": {"app": name}}
            spec["template"]["metadata"] = {
                "labels": {"app": name},
                "annotations": spec["template"]["metadata"].get("annotations", {}),
            }
            for env in spec["template"]["spec"]["containers"][0]["env"]:
                if env["name"] == "MOUNT_PREFIX":
                    env["value"] = env["value"].rsplit("/", 1)[0] + f"/{name}"
        elif kind == "service":
            spec["selector"] = {"app": name}
            for key in ("clusterIP", "clusterIPs"):
                spec.pop(key, None)
        else:
            path = spec["rules"][0]["http"]["paths"][0]
            path["path"] = path["path"].rsplit("/", 1)[0] + f"/{name}"
            path["backend"]["service"]["name"] = name
        out.append(obj)
    return out


def floor(release: Release, source: dict, n: int) -> list[float]:
    names = [f"floor-{uuid.uuid4().hex[:4]}-{i}" for i in range(n)]
    manifest = {
        "apiVersion": "v1",
        "kind": "List",
        "items": [o for name in names for o in floor_objects(release, source, name)],
    }
    started = time.monotonic()
    release.node.kubectl("apply", "-f", "-", input=json.dumps(manifest))
    applied = time.monotonic()
    try:
        times = run_parallel(
            [(lambda name=name: first_200(f"{release.agent_url(name)}/ok", started)) for name in names]
        )
    finally:
        release.node.kubectl("delete", "-f", "-", "--wait=false", input=json.dumps(manifest), check=False)
    print(f"    floor: kubectl apply of {3 * n} objects took {applied - started:.2f}s")
    return times


def rss_at_rest(release: Release) -> dict[str, float]:
    """MiB of resident memory: the node's host processes, and the pods by namespace/component."""
    pods = release.node.get_json("pods", "--all-namespaces")["items"]
    by_uid = {
        p["metadata"]["uid"]: (
            p["metadata"]["namespace"],
            p["metadata"]["labels"].get("app.kubernetes.io/component")
            or p["metadata"]["labels"].get("app.kubernetes.io/name")
            or p["metadata"]["labels"].get("k8s-app")
            or p["metadata"]["name"],
        )
        for p in pods
    }
    totals: dict[str, float] = {}
    for proc in psutil.process_iter(["name", "memory_info"]):
        try:
            cgroup = Path(f"/proc/{proc.pid}/cgroup").read_text()
        except OSError:
            continue
        rss = proc.info["memory_info"].rss / 2**20 if proc.info["memory_info"] else 0
        owner = next((by_uid[uid] for uid in by_uid if uid.replace("-", "_") in cgroup or uid in cgroup), None)
        if owner:
            key = f"pod {owner[0]}/{owner[1]}"
        elif proc.info["name"] in NODE_PROCESSES:
            key = f"node {proc.info['name']}"
        else:
            continue
        totals[key] = totals.get(key, 0.0) + rss
    return dict(sorted(totals.items()))


def remove(plane: ControlPlane, deployments: list[dict]) -> None:
    """Deletes them through the API and waits (at most 3 min) until the API has forgotten them."""
    for deployment in deployments:
        plane.delete(deployment["id"])
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and any(plane.find(d["name"]) for d in deployments):
        time.sleep(1)


def pods_gone(release: Release, deployments: list[dict], timeout: float = 180) -> None:
    """Waits until their pods have terminated too (a terminating pod still holds its CPU request)."""
    prefixes = tuple(f"pod/{d['name']}-" for d in deployments)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pods = release.node.kubectl("get", "pods", "-n", release.agents_namespace, "-o", "name").stdout.split()
        if not any(pod.startswith(prefixes) for pod in pods):
            return
        time.sleep(2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, nargs="+", default=[1, 5, 20])
    parser.add_argument("--namespace", default="lgcp", help="the release `make demo` installed")
    parser.add_argument("--base-path", default="/")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    release = Release(node.describe(), ReleaseConfig(namespace=args.namespace, base_path=args.base_path))
    results: dict = {"rss_mib_at_rest": rss_at_rest(release)}
    with ControlPlane(release.api_url, release.admin_key) as plane:
        listener_id = plane.listener_id(release.compute_id)
        for n in args.n:
            print(f"N={n}", flush=True)
            times, created = through_control_plane(release, plane, listener_id, n)
            # The floor's copies need the room of the agents they stand beside (at N = 20 both
            # sets together asked more CPU than the 2-core node has: copies stayed Pending):
            # all but the first go first, the floor reuses the first one's Secret.
            remove(plane, created[1:])
            pods_gone(release, created[1:])
            floor_times = floor(release, created[0], n)
            row = {
                "p50": statistics.median(times),
                "p99": percentile(times, 0.99),
                "floor_p50": statistics.median(floor_times),
                "floor_p99": percentile(floor_times, 0.99),
            }
            results[f"n={n}"] = row
            print(
                f"    201 -> first 200: p50 {row['p50']:.2f}s p99 {row['p99']:.2f}s;"
                f" floor p50 {row['floor_p50']:.2f}s p99 {row['floor_p99']:.2f}s",
                flush=True,
            )
            remove(plane, created[:1])
            time.sleep(10)  # the floor's copies are deleted without waiting
    for key, mib in results["rss_mib_at_rest"].items():
        print(f"    RSS {key}: {mib:.0f} MiB")
    node_total = sum(v for k, v in results["rss_mib_at_rest"].items() if k.startswith("node "))
    chart_total = sum(v for k, v in results["rss_mib_at_rest"].items() if k.startswith(f"pod {args.namespace}/"))
    print(f"    RSS at rest: node processes {node_total:.0f} MiB, the chart's pods {chart_total:.0f} MiB")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
