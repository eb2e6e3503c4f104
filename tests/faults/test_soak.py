"""bench/soak.py as CI runs it: a minute of churn (the issue's hour is `--minutes 60`), and
nothing acknowledged may be missing or doubled at the end."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_a_minute_of_churn_loses_nothing_acknowledged(faults_cluster) -> None:
    # On the suite's running cluster, which soak.py reuses (and leaves running).
    proc = subprocess.run(
        [sys.executable, str(REPO / "bench" / "soak.py"), "--minutes", "1", "--deployments", "30", "--rate", "2"],
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    figures = json.loads(proc.stdout[proc.stdout.index("{") :])
    assert sum(figures["writes_during_churn"].values()) >= 60, figures  # the churn really ran
    assert figures["errors_by_kind"] == {}, figures
    assert figures["revisions_found_in_api"] == figures["revisions_acknowledged_live"], figures
    assert figures["revisions_found_in_database"] == figures["revisions_acknowledged_live"], figures
    assert figures["deployments_found_in_cluster"] == figures["deployments_acknowledged_live"], figures
