"""Renders the status report as text for `python -m localcloud status`."""

from __future__ import annotations

from typing import Any

from . import faults


def _section(title: str, rows: list[str]) -> list[str]:
    return [f"{title} ({len(rows)})"] + [f"  {row}" for row in rows] if rows else [f"{title}: none"]


def render(report: dict[str, Any]) -> str:
    owner = report.get("owner", {}).get("user", "?")
    lines = [f"local cloud of {owner} running at {report['endpoint']} (pid {report['pid']}, "
             f"up {report['uptime_s']} s)"]
    labels = report.get("labels", {})
    if labels.get("missing"):
        lines.append("DetectLabels answers from: nothing, the model is not installed (see the note below)")
    else:
        lines.append(f"DetectLabels answers from: {labels.get('source', '?')} ({labels.get('model_version', '?')})")
    lines += _section(
        "Lambda functions",
        [
            f"{f['name']}  {f['handler']}  {f['memory_mb']} MB  {f['timeout_s']} s  [{f['region']}]"
            for f in report["functions"]
        ],
    )
    lines += _section(
        "warm execution environments",
        [f"{name}: {count}" for name, count in sorted(report["warm_environments"].items())],
    )
    lines += _section(
        "state machines",
        [f"{m['name']}  ({m['type']}, {m['region']})" for m in report["state_machines"]],
    )
    lines += _section(
        "recent executions",
        [
            f"{e['status']:<9} {e['state_machine']}/{e['name']}  started {e['start']}"
            for e in report["recent_executions"]
        ],
    )
    apis = []
    for api in report["rest_apis"]:
        apis.append(f"{api['name']} ({api['id']}, {api['region']})")
        apis += [f"  stage {stage}: {url}" for stage, url in api["stages"].items()]
    lines += _section("REST APIs", apis)
    lines += _section("S3 buckets", report["buckets"])
    lines += _section("DynamoDB tables", report["tables"])
    lines += _section("fault rules", [faults.describe(rule) for rule in report.get("faults", [])])
    iam = report.get("iam")
    if iam:  # iam denials: python -m localcloud iam denials
        lines.append(f"IAM: {iam['mode']}, {iam['denials']} call(s) refused"
                     + (" (would be; report only)" if iam["mode"] == "report" else "")
                     + (" - see: python -m localcloud iam denials" if iam["denials"] else ""))
    lines += ["note: " + note for note in report["notes"]]
    return "\n".join(lines)
