"""AWX / Automation Platform: the execution environment definition renders a build context with our collection
and its dependencies (`ansible-builder create`, no container engine needed), and multi_account.yml runs through
ansible-runner (AWX's executor) with credentials in environment variables, as AWX's AWS credential type injects
them, against two accounts on the local KMS server."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import ansible_runner
import yaml
from kms_server.testing import client

from test_targets import ROOT

BIN = Path(sys.executable).parent
ACCOUNTS = {"acct-a": "111111111111", "acct-b": "222222222222"}
ROLE = "ByokKeyManager"
# What AWX's "Amazon Web Services" credential would inject (the local server accepts any).
ACCESS_KEY, SECRET_KEY = "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def test_execution_environment_context_has_collection_and_dependencies(tmp_path):
    # The definition's relative paths (../requirements.txt, ../.build/dist/...) resolved in a copy of the tree.
    tree = tmp_path / "tree"
    (tree / "meta").mkdir(parents=True)
    for name in ("execution-environment.yml", "ee-requirements.yml", "ee-bindep.txt"):
        shutil.copy(ROOT / "meta" / name, tree / "meta" / name)
    shutil.copy(ROOT / "requirements.txt", tree / "requirements.txt")
    dist = tree / ".build" / "dist"
    subprocess.run([str(BIN / "ansible-galaxy"), "collection", "build", "--output-path", str(dist), str(ROOT)],
                   check=True, capture_output=True, text=True)
    (built,) = dist.glob("byok-kms-*.tar.gz")
    built.rename(dist / "byok-kms.tar.gz")

    context = tmp_path / "context"
    result = subprocess.run(
        [str(BIN / "ansible-builder"), "create", "-f", str(tree / "meta" / "execution-environment.yml"), "-c", str(context)],
        capture_output=True, text=True, check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr

    build = context / "_build"
    containerfile = next(p for p in (context / "Containerfile", context / "Dockerfile") if p.exists()).read_text()
    # our collection, as a tarball in the context, installed by the galaxy stage from requirements.yml
    with tarfile.open(build / "collections" / "byok-kms.tar.gz") as tar:
        manifest = json.load(tar.extractfile("MANIFEST.json"))
        names = tar.getnames()
    assert manifest["collection_info"]["namespace"] == "byok" and manifest["collection_info"]["name"] == "kms"
    assert manifest["collection_info"]["dependencies"].get("amazon.aws")
    for member in ("plugins/modules/kms_external_key_info.py", "plugins/modules/key_material_escrow.py",
                   "plugins/modules/kms_key_verify.py", "roles/external_key/tasks/main.yml", "playbooks/multi_account.yml"):
        assert member in names, member
    assert not any(n.startswith((".venv/", ".build/")) for n in names)
    requirements = yaml.safe_load((build / "requirements.yml").read_text())
    collections = {c["name"]: c for c in requirements["collections"]}
    assert "amazon.aws" in collections
    assert collections["/build/collections/byok-kms.tar.gz"]["type"] == "file"
    python = (build / "requirements.txt").read_text()
    for package in ("boto3", "botocore", "cryptography"):
        assert package in python
    assert "ca-certificates" in (build / "bindep.txt").read_text()
    assert "ansible-galaxy collection install" in containerfile and "-r requirements.yml" in containerfile
    assert "ansible-core==2.21.5" in containerfile and "ansible-runner" in containerfile


def _inventory(tmp_path: Path) -> dict:
    hosts = {}
    keys = {
        "acct-a": [{"alias": "orders"}, {"alias": "orders-mac", "key_spec": "HMAC_256"}],
        "acct-b": [{"alias": "ledger", "key_spec": "ECC_NIST_P256"}],
    }
    for host, account in ACCOUNTS.items():
        hosts[host] = {"byok_account_id": account, "external_key_keys": keys[host]}
    return {
        "byok_accounts": {
            "hosts": hosts,
            "vars": {
                "ansible_connection": "local",
                "ansible_python_interpreter": sys.executable,
                "byok_assume_role_name": ROLE,
                "external_key_defaults": {
                    "generate": True,
                    "escrow_dir": str(tmp_path / "escrow") + "/{{ inventory_hostname }}",
                    "valid_days": 365,
                    "wrapping_key_spec": "RSA_2048",
                },
            },
        }
    }


def _run(private_data_dir: Path, kms_endpoint: str):
    assert kms_endpoint.startswith("http://127."), kms_endpoint  # the local KMS server only, never AWS
    return ansible_runner.run(
        private_data_dir=str(private_data_dir),
        playbook=str(ROOT / "playbooks" / "multi_account.yml"),
        forks=2,
        quiet=True,
        extravars={"byok_kms_endpoint_url": kms_endpoint, "byok_aws_region": "us-east-1"},
        # What AWX's "Amazon Web Services" credential type injects, plus what the project needs to find itself.
        envvars={
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "ANSIBLE_COLLECTIONS_PATH": str(ROOT / ".build" / "collections"),
            "ANSIBLE_NOCOLOR": "1",
            # anything boto3 does without the playbooks' endpoint_url also stays on the local server
            "AWS_ENDPOINT_URL": kms_endpoint,
            "AWS_EC2_METADATA_DISABLED": "true",
        },
    )


def _aliases_in(account: str, kms_endpoint: str) -> set[str]:
    creds = client(kms_endpoint, "sts", aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY).assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/{ROLE}", RoleSessionName="check")["Credentials"]
    kms = client(kms_endpoint, aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                 aws_session_token=creds["SessionToken"])
    result = set()
    for alias in kms.list_aliases()["Aliases"]:
        if alias["AliasName"].startswith("alias/aws/"):
            continue
        meta = kms.describe_key(KeyId=alias["TargetKeyId"])["KeyMetadata"]
        assert meta["Arn"].split(":")[4] == account
        result.add((alias["AliasName"], meta["KeyState"]))
    return result


def _ran_in_parallel(events: list, task: str) -> bool:
    """True when every host started ``task`` before any host reported a result of it (events in arrival order)."""
    of_task = [e for e in events if e.get("event_data", {}).get("task") == task]
    starts = {e["event_data"]["host"]: e["counter"] for e in of_task if e["event"] == "runner_on_start"}
    results = [e["counter"] for e in of_task if e["event"].startswith(("runner_on_ok", "runner_on_failed", "runner_item_on_"))]
    assert set(starts) == set(ACCOUNTS) and results, f"no events of {task!r}"
    return max(starts.values()) < min(results)


def test_multi_account_through_ansible_runner(kms_endpoint, tmp_path, monkeypatch):
    # ansible-runner runs `ansible-playbook` from PATH, as in an execution environment
    monkeypatch.setenv("PATH", f"{BIN}:{os.environ.get('PATH', '')}")
    private = tmp_path / "runner"
    (private / "inventory").mkdir(parents=True)
    (private / "inventory" / "hosts.yml").write_text(yaml.safe_dump(_inventory(tmp_path)))

    first = _run(private, kms_endpoint)
    stdout = first.stdout.read()
    assert first.status == "successful", stdout[-15000:]
    assert set(first.stats["changed"]) == set(ACCOUNTS)

    assert _aliases_in(ACCOUNTS["acct-a"], kms_endpoint) == {("alias/orders", "Enabled"), ("alias/orders-mac", "Enabled")}
    assert _aliases_in(ACCOUNTS["acct-b"], kms_endpoint) == {("alias/ledger", "Enabled")}
    for host in ACCOUNTS:
        assert (tmp_path / "escrow" / host).is_dir()
    assert sorted(p.name for p in (tmp_path / "escrow" / "acct-a").iterdir()) == ["orders-mac.key", "orders.key"]

    # the role's set_stats summary reaches AWX's job artifacts, one entry per account
    stats = [e for e in first.events if e.get("event") == "playbook_on_stats"][-1]
    summary = stats["event_data"]["artifact_data"]["byok_kms_summary"]
    assert set(summary) == set(ACCOUNTS)
    assert {r["alias"] for r in summary["acct-a"]} == {"alias/orders", "alias/orders-mac"}
    # accounts run in parallel (forks=2): both accounts started the key task before either finished an item of it
    assert _ran_in_parallel(first.events, "Ensure the EXTERNAL key, its alias, policy, tags and description")
    # the assumed-role credentials never reach the job output
    assert "SessionToken" not in stdout and "session_token" not in stdout

    second = _run(private, kms_endpoint)
    assert second.status == "successful", second.stdout.read()[-15000:]
    assert second.stats["changed"] == {}
    changed = [e["event_data"].get("task") for e in second.events
               if e.get("event") == "runner_on_ok" and e["event_data"].get("res", {}).get("changed")]
    assert changed == []
