"""Every integration target, through ansible-playbook, each against its own fresh local KMS server.

A target is a role under tests/integration/targets/ (tasks/main.yml) whose name does not start with
`setup_`; it asserts what it checks itself, so a failed assert fails the playbook and this test.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
TARGETS = sorted(
    p.name for p in (HERE / "targets").iterdir()
    if p.is_dir() and not p.name.startswith("setup_") and (p / "tasks" / "main.yml").exists()
)


def run_playbook(playbook: Path, env: dict, *args: str) -> subprocess.CompletedProcess:
    env = dict(env)
    env.update(
        ANSIBLE_ROLES_PATH=str(HERE / "targets"),
        ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".build" / "collections"),
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_FORCE_COLOR="0",
        ANSIBLE_RETRY_FILES_ENABLED="0",
        ANSIBLE_LOCALHOST_WARNING="0",
        ANSIBLE_INVENTORY_UNPARSED_WARNING="0",
        ANSIBLE_PYTHON_INTERPRETER=sys.executable,
    )
    ansible_playbook = Path(sys.executable).parent / "ansible-playbook"
    return subprocess.run(
        [str(ansible_playbook), str(playbook), *args],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=1200, check=False,
    )


@pytest.mark.parametrize("target", TARGETS)
def test_target(target, kms_env, tmp_path):
    env = dict(kms_env, BYOK_TEST_TMP=str(tmp_path))
    result = run_playbook(HERE / "target.yml", env, "-e", f"byok_target={target}")
    assert result.returncode == 0, f"{target} failed:\n{result.stdout[-20000:]}\n{result.stderr[-5000:]}"
