"""ansible-lint, `production` profile, on the roles and playbooks (configuration in .ansible-lint)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from test_targets import ROOT

ANSIBLE_LINT = Path(sys.executable).parent / "ansible-lint"


def test_roles_and_playbooks_pass_the_production_profile():
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".build" / "collections"), NO_COLOR="1")
    env["PATH"] = f"{ANSIBLE_LINT.parent}:{env.get('PATH', '')}"
    result = subprocess.run(
        [str(ANSIBLE_LINT), "--profile", "production", "--nocolor", "roles", "playbooks"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=900, check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-10000:]
    assert "Profile 'production' was required, and it passed" in output
