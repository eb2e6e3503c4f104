"""The rendered chart, every scenario, scanned with checkov and kube-score (issue 14): every
finding is fixed in the chart or justified in charts/langgraph-controlplane/security-exceptions.yaml.

Each scenario is scanned on its own: checkov joins the files it is given into one graph, so a
NetworkPolicy of one render would otherwise pass the pods of another.
"""

from __future__ import annotations

import fnmatch
import json
import os
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "charts" / "langgraph-controlplane"
EXCEPTIONS = CHART / "security-exceptions.yaml"
BIN = REPO / ".tools" / "bin"
SCENARIOS = sorted([*(REPO / "values").glob("*.yaml"), *(CHART / "ci").glob("*-values.yaml")])
REPORT = Path(os.environ.get("LGCP_SECURITY_REPORT_DIR", REPO / "artifacts" / "security")) / "chart-scanners.json"


@dataclass(frozen=True)
class Finding:
    scanner: str
    check: str
    resource: str  # Kind/name
    render: str
    detail: str

    def __str__(self) -> str:
        return f"{self.scanner} {self.check} {self.resource} ({self.render}): {self.detail}"


def tool(name: str) -> Path:
    path = BIN / name
    if not path.exists():
        pytest.fail(f"{path} is missing: run `scripts/scanners.sh install`")
    return path


def render(scenario: Path, into: Path) -> Path:
    out = subprocess.run(
        [str(BIN / "helm"), "template", "lgcp", str(CHART), "--namespace", "lgcp-system", "-f", str(scenario)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    target = into / f"{scenario.stem}.yaml"
    target.write_text(out)
    return target


def checkov(rendered: Path) -> list[Finding]:
    proc = subprocess.run(
        [
            str(tool("checkov")),
            "-f",
            str(rendered),
            "--framework",
            "kubernetes",
            "--quiet",
            "--compact",
            "-o",
            "json",
            "--skip-download",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode in (0, 1), f"checkov failed ({proc.returncode}): {proc.stderr[-2000:]}"
    reports = json.loads(proc.stdout)
    found = []
    for report in reports if isinstance(reports, list) else [reports]:
        for failed in report["results"]["failed_checks"]:
            kind, _namespace, name = failed["resource"].split(".")[:3]
            found.append(Finding("checkov", failed["check_id"], f"{kind}/{name}", rendered.stem, failed["check_name"]))
    return found


def kube_score(rendered: Path) -> list[Finding]:
    proc = subprocess.run(
        [str(tool("kube-score")), "score", "-o", "json", str(rendered)], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode in (0, 1), f"kube-score failed ({proc.returncode}): {proc.stderr[-2000:]}"
    found = []
    for obj in json.loads(proc.stdout):
        resource = f"{obj['type_meta']['kind']}/{obj['object_meta']['name']}"
        for check in obj["checks"]:
            if check.get("skipped") or check["grade"] >= 10:  # 10: OK; 5: warning; 1: critical
                continue
            comments = "; ".join(sorted({c.get("summary", "") for c in check.get("comments") or []}))
            found.append(Finding("kube-score", check["check"]["id"], resource, rendered.stem, comments))
    return found


def covers(entry: dict, finding: Finding) -> bool:
    return (
        entry["check"] == finding.check
        and any(fnmatch.fnmatchcase(finding.resource, pattern) for pattern in entry["resources"])
        and any(fnmatch.fnmatchcase(finding.render, pattern) for pattern in entry["renders"])
    )


def test_the_exceptions_file_gives_a_reason_for_every_entry() -> None:
    exceptions = yaml.safe_load(EXCEPTIONS.read_text())
    assert set(exceptions) == {"checkov", "kube-score"}
    for scanner, entries in exceptions.items():
        for entry in entries:
            assert set(entry) == {"check", "resources", "renders", "reason"}, f"{scanner}: {entry}"
            assert len(entry["reason"].split()) >= 8, f"{scanner} {entry['check']}: say why, in a sentence"


def test_every_rendered_scenario_passes_the_scanners_or_is_justified(tmp_path: Path) -> None:
    assert len(SCENARIOS) >= 8, SCENARIOS
    rendered = [render(scenario, tmp_path) for scenario in SCENARIOS]
    with ThreadPoolExecutor(max_workers=2) as pool:  # two cores
        results = list(pool.map(lambda f: checkov(f) + kube_score(f), rendered))
    findings = [finding for found in results for finding in found]
    exceptions = yaml.safe_load(EXCEPTIONS.read_text())
    used: set[tuple[str, int]] = set()
    unexplained = []
    for finding in findings:
        matches = [i for i, entry in enumerate(exceptions[finding.scanner]) if covers(entry, finding)]
        used.update((finding.scanner, i) for i in matches)
        if not matches:
            unexplained.append(str(finding))
    stale = [
        f"{scanner} {entry['check']} {entry['resources']} {entry['renders']}"
        for scanner, entries in exceptions.items()
        for i, entry in enumerate(entries)
        if (scanner, i) not in used
    ]
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(
        json.dumps(
            {
                "scenarios": [f.stem for f in rendered],
                "findings": len(findings),
                "justified_by_entries": len(used),
                "by_scanner": {s: sum(f.scanner == s for f in findings) for s in ("checkov", "kube-score")},
                "unexplained": unexplained,
            },
            indent=1,
        )
    )
    print(
        f"chart scanners: {len(rendered)} renders, {len(findings)} findings, all covered by "
        f"{len(used)} justified entries"
        if not unexplained
        else f"{len(unexplained)} unexplained"
    )
    assert not unexplained, "findings neither fixed nor justified in security-exceptions.yaml:\n" + "\n".join(
        unexplained
    )
    assert not stale, "entries of security-exceptions.yaml that cover no finding any more (drop them):\n" + "\n".join(
        stale
    )
