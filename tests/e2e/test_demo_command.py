"""`make demo` and `make demo-down` as a user runs them (scripts/local_stack.py up|down, here with
a state folder and namespace of their own so as not to meet a demo already running)."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import httpx
import pytest

from e2e_support import eventually

pytestmark = pytest.mark.cluster

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "local_stack.py"


def run_script(*args: str, **popen) -> subprocess.Popen:
    env = {**os.environ, "PATH": f"{REPO / '.tools' / 'bin'}:{REPO / '.venv' / 'bin'}:{os.environ['PATH']}"}
    return subprocess.Popen([sys.executable, str(SCRIPT), *args], cwd=REPO, env=env, text=True, **popen)


def test_demo_reaches_deployed_prints_how_to_use_it_refuses_a_second_run_and_stops(local_cluster):
    state = Path(tempfile.mkdtemp(prefix="lgcp-demo-"))
    state.chmod(0o711)  # PostgreSQL runs as `postgres` below it when we are root
    options = ["--state", str(state), "--namespace", f"lgcp-demo-{uuid.uuid4().hex[:6]}"]
    output = state / "demo.out"
    with open(output, "w") as out:
        demo = run_script("up", *options, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        eventually(lambda: "The control plane is up." in output.read_text() or demo.poll() is not None,
                   "the demo reaching DEPLOYED", timeout=240)
        text = output.read_text()
        assert demo.poll() is None, text
        assert re.search(r"revision \w+: DEPLOYED", text), text
        api = re.search(r"API\s+(http://127\.0\.0\.1:\d+/api-host)", text).group(1)
        assert re.search(r"web UI\s+http://127\.0\.0\.1:\d+/ui", text)

        # The key is not printed; the printed command reads it from the release's Secret.
        export = next(line.strip() for line in text.splitlines() if line.strip().startswith("export LGCP_API_KEY="))
        key = subprocess.run(["bash", "-c", f'{export} && printf %s "$LGCP_API_KEY"'], cwd=REPO,
                             capture_output=True, text=True, check=True).stdout
        assert len(key) >= 20 and key not in text
        listed = httpx.get(f"{api}/v2/deployments", headers={"X-Api-Key": key}).json()["resources"]
        assert [d["name"] for d in listed] == ["sample-agent"]
        assert 'curl -s -H "X-Api-Key: $LGCP_API_KEY"' in text
        # The agent runs in the agents' namespace, which the printed kubectl line looks at.
        assert f"-n {options[3]}-agents get deploy,svc,ingress,hpa" in text
        assert local_cluster.kubectl("get", "deployment", "sample-agent", "-n", f"{options[3]}-agents",
                                     check=False).returncode == 0

        second = run_script("up", *options, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        out2, err2 = second.communicate(timeout=60)
        assert second.returncode == 1
        assert "a demo is already running" in err2 and api in err2

        down = run_script("down", *options, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        assert down.wait(timeout=180) == 0, down.stdout.read()
        assert demo.wait(timeout=30) == 0
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"{api.removesuffix('/api-host')}/ok", timeout=2)
        # The cluster was running before, so it keeps running; the demo's release is gone, and
        # so is the agents' namespace that `helm uninstall` keeps.
        assert local_cluster.kubectl("get", "namespace", options[3], check=False).returncode != 0
        assert local_cluster.kubectl("get", "namespace", f"{options[3]}-agents", check=False).returncode != 0
    finally:
        if demo.poll() is None:
            os.killpg(demo.pid, signal.SIGTERM)
            demo.wait(timeout=60)
        for namespace in (options[3], f"{options[3]}-agents"):
            local_cluster.kubectl("delete", "namespace", namespace, "--wait=false", check=False)
        shutil.rmtree(state, ignore_errors=True)
