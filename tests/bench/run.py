"""`make bench`: KMS API calls per key and wall time of the main job, against the local KMS server.

API calls per key are the figure that matters in production (KMS request quotas are per account and
region: GetParametersForImport allows 1 per second, CreateKey 5). Each scenario runs a playbook through
ansible-playbook on a fresh local server and reads the server's call log (/byok-api/calls).

    python tests/bench/run.py [--keys N] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE.parent))

from kms_server.launch import kms_server  # noqa: E402
from kms_server.testing import control  # noqa: E402
from kms_server.with_server import endpoint_env  # noqa: E402


def calls_since(url: str, seq: int) -> dict:
    return control(url, f"calls?since={seq}")


def run_playbook(url: str, playbook: Path, extra_vars: dict) -> tuple[float, dict]:
    """Run a playbook; return its wall time and the KMS calls it made."""
    seq = calls_since(url, 0)["seq"]
    env = endpoint_env(url)
    env.update(
        ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".build" / "collections"),
        ANSIBLE_PYTHON_INTERPRETER=sys.executable,
        ANSIBLE_LOCALHOST_WARNING="0",
        ANSIBLE_INVENTORY_UNPARSED_WARNING="0",
        ANSIBLE_NOCOLOR="1",
    )
    started = time.monotonic()
    result = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), str(playbook), "-e", json.dumps(extra_vars)],
        env=env, cwd=ROOT, capture_output=True, text=True, check=False,
    )
    elapsed = time.monotonic() - started
    if result.returncode != 0:
        raise SystemExit(f"{playbook.name} failed:\n{result.stdout[-5000:]}\n{result.stderr[-2000:]}")
    return elapsed, calls_since(url, seq)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keys", type=int, default=10)
    parser.add_argument("--json", default=str(ROOT / "tests" / "output" / "bench.json"))
    args = parser.parse_args()

    rows = []
    with tempfile.TemporaryDirectory() as tmp, kms_server() as url:
        os.chmod(tmp, 0o700)
        for i in range(args.keys):
            path = Path(tmp, f"material-{i}.bin")
            path.write_bytes(os.urandom(32))
            path.chmod(0o600)
        job = {"bench_keys": args.keys, "bench_dir": tmp}
        for scenario in ("first run (create + import)", "second run (no change)"):
            seconds, calls = run_playbook(url, HERE / "keys.yml", job)
            rows.append((scenario, args.keys, seconds, calls))
        for scenario in ("amazon.aws.kms_key, first run", "amazon.aws.kms_key, no change"):
            seconds, calls = run_playbook(url, HERE / "amazon_aws_kms_key.yml", {})
            rows.append((scenario, 1, seconds, calls))

    print(f"{'scenario':34} {'keys':>4} {'seconds':>8} {'s/key':>6} {'calls':>6} {'calls/key':>9}  calls by operation")
    report = []
    for scenario, keys, seconds, calls in rows:
        ops = ", ".join(f"{op} {n}" for op, n in sorted(calls["calls"].items()))
        print(f"{scenario:34} {keys:>4} {seconds:>8.1f} {seconds / keys:>6.2f} {calls['total']:>6} "
              f"{calls['total'] / keys:>9.1f}  {ops}")
        report.append({"scenario": scenario, "keys": keys, "seconds": round(seconds, 2),
                       "calls": calls["total"], "calls_per_key": calls["total"] / keys, "by_operation": calls["calls"]})
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwritten to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
