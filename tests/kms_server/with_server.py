"""Run a command with a fresh local KMS server: `with_server.py -- ansible-playbook ...`.

The command gets BYOK_KMS_ENDPOINT (the server's URL) and AWS_ENDPOINT_URL (so that anything
boto3 does without an explicit endpoint also stays on loopback), plus fake credentials.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kms_server.launch import kms_server  # noqa: E402


def endpoint_env(url: str) -> dict:
    env = dict(os.environ)
    env.update(
        BYOK_KMS_ENDPOINT=url,
        AWS_ENDPOINT_URL=url,
        AWS_ACCESS_KEY_ID=env.get("AWS_ACCESS_KEY_ID", "testing"),
        AWS_SECRET_ACCESS_KEY=env.get("AWS_SECRET_ACCESS_KEY", "testing"),
        AWS_DEFAULT_REGION=env.get("AWS_DEFAULT_REGION", "us-east-1"),
        AWS_EC2_METADATA_DISABLED="true",
    )
    return env


def main() -> int:
    args = sys.argv[1:]
    if args[:1] == ["--"]:
        args = args[1:]
    if not args:
        print("usage: with_server.py -- COMMAND [ARGS...]", file=sys.stderr)
        return 2
    with kms_server() as url:
        return subprocess.call(args, env=endpoint_env(url))


if __name__ == "__main__":
    sys.exit(main())
