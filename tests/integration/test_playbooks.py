"""Whole-playbook runs of playbooks/*.yml (the role byok.kms.external_key and what is built on it), each test
against its own fresh local KMS server: the role twice (second run changes nothing), renew after forcing a
short expiry, rotate, revoke (with and without confirmation), and declarations the role must reject."""

from __future__ import annotations

import base64
import datetime
import json
import os
import re
import stat
from pathlib import Path

import pytest

from test_targets import ROOT
from test_targets import run_playbook

PLAYBOOKS = ROOT / "playbooks"
RECAP = re.compile(r"^(\S+)\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)


def recap(output: str) -> dict:
    """{host: {"ok": n, "changed": n, "failed": n}} from the PLAY RECAP."""
    return {m[0]: {"ok": int(m[1]), "changed": int(m[2]), "failed": int(m[4])} for m in RECAP.findall(output)}


def changed_tasks(output: str) -> list[str]:
    """Names of the tasks that reported a change (the TASK line before each `changed:` line)."""
    task, found = None, []
    for line in output.splitlines():
        if line.startswith("TASK ["):
            task = line
        elif line.startswith("changed:") and task not in found:
            found.append(task)
    return found


def ok(result, what: str) -> str:
    assert result.returncode == 0, f"{what} failed:\n{result.stdout[-15000:]}\n{result.stderr[-3000:]}"
    return result.stdout


@pytest.fixture
def material_b64() -> str:
    return base64.b64encode(os.urandom(32)).decode()


@pytest.fixture
def declarations(tmp_path, material_b64) -> Path:
    """A vars file with one key per material source and kind of key (JSON is YAML)."""
    escrow = tmp_path / "escrow"
    data = {
        "external_key_defaults": {"generate": True, "escrow_dir": str(escrow), "valid_days": 365, "tags": {"env": "test"},
                                  "wrapping_key_spec": "RSA_2048"},
        "external_key_keys": [
            {"alias": "app-sym", "description": "symmetric, generated"},
            {"alias": "app-hmac", "key_spec": "HMAC_256", "valid_days": 90},
            {"alias": "app-ecc", "key_spec": "ECC_NIST_P256", "valid_days": None},
            {"alias": "app-b64", "generate": False, "material_b64": material_b64},
            {"alias": "app-disabled", "key_spec": "HMAC_512", "enabled": False},
            {"alias": "app-waiting", "generate": False, "tags": {"state": "waiting"}},
        ],
    }
    path = tmp_path / "keys.yml"
    path.write_text(json.dumps(data))
    return path


def playbook(name: str, kms_env: dict, *args: str):
    return run_playbook(PLAYBOOKS / name, kms_env, "-e", f"byok_kms_endpoint_url={kms_env['BYOK_KMS_ENDPOINT']}",
                        "-e", "byok_aws_region=us-east-1", *args)


def key_of(kms_client, alias: str) -> dict:
    return kms_client.describe_key(KeyId=f"alias/{alias}")["KeyMetadata"]


def test_role_twice_second_run_changes_nothing(kms_env, kms_client, declarations, tmp_path, material_b64):
    first = ok(playbook("byok.yml", kms_env, "-e", f"@{declarations}", "-v"), "first run")
    assert recap(first)["localhost"]["changed"] > 0
    # the secret given in base64 never shows, in any form, even at -v
    raw = base64.b64decode(material_b64)
    for form in (material_b64, raw.hex(), raw.hex().upper()):
        assert form not in first

    states = {a: key_of(kms_client, a)["KeyState"] for a in ("app-sym", "app-hmac", "app-ecc", "app-b64", "app-disabled", "app-waiting")}
    assert states == {"app-sym": "Enabled", "app-hmac": "Enabled", "app-ecc": "Enabled", "app-b64": "Enabled",
                      "app-disabled": "Disabled", "app-waiting": "PendingImport"}
    assert key_of(kms_client, "app-ecc")["ExpirationModel"] == "KEY_MATERIAL_DOES_NOT_EXPIRE"
    assert key_of(kms_client, "app-hmac")["ExpirationModel"] == "KEY_MATERIAL_EXPIRES"
    # the three verified keys did their round trip
    assert first.count("verified Encrypt/Decrypt") == 2 and "verified GenerateMac/VerifyMac" in first
    assert "verified GetPublicKey/Sign/Verify" in first

    escrow = tmp_path / "escrow"
    assert sorted(os.listdir(escrow)) == ["app-disabled.key", "app-ecc.pem", "app-hmac.key", "app-sym.key"]
    assert stat.S_IMODE(os.stat(escrow).st_mode) == 0o700
    for name in os.listdir(escrow):
        assert stat.S_IMODE(os.stat(escrow / name).st_mode) == 0o600
    escrowed = {name: (escrow / name).read_bytes() for name in os.listdir(escrow)}

    second = ok(playbook("byok.yml", kms_env, "-e", f"@{declarations}"), "second run")
    assert recap(second)["localhost"]["changed"] == 0, changed_tasks(second)
    assert changed_tasks(second) == []
    assert "unchanged" in second and " changed\n" not in second.replace('"', "\n")
    assert {name: (escrow / name).read_bytes() for name in os.listdir(escrow)} == escrowed


def test_check_mode_on_an_empty_account_changes_nothing(kms_env, kms_client, declarations, tmp_path):
    out = ok(playbook("byok.yml", kms_env, "-e", f"@{declarations}", "--check"), "check mode run")
    assert recap(out)["localhost"]["changed"] > 0
    assert kms_client.list_aliases()["Aliases"] == [] or all(
        a["AliasName"].startswith("alias/aws/") for a in kms_client.list_aliases()["Aliases"]
    )
    assert not (tmp_path / "escrow").exists()


def test_renew_after_forcing_a_short_expiry(kms_env, kms_client, declarations, tmp_path):
    ok(playbook("byok.yml", kms_env, "-e", f"@{declarations}"), "first run")
    soon = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=2)).replace(microsecond=0)
    force = tmp_path / "force.yml"
    force.write_text(json.dumps([{
        "name": "Force a short expiry", "hosts": "localhost", "connection": "local", "gather_facts": False,
        "tasks": [{"byok.kms.kms_key_material": {
            "key": "alias/app-sym", "key_material_path": str(tmp_path / "escrow" / "app-sym.key"),
            "valid_to": soon.isoformat(), "endpoint_url": kms_env["BYOK_KMS_ENDPOINT"], "region": "us-east-1"}}],
    }]))
    ok(run_playbook(force, kms_env), "forcing a short expiry")
    assert key_of(kms_client, "app-sym")["ValidTo"] <= soon + datetime.timedelta(seconds=1)

    renew = ok(playbook("renew.yml", kms_env, "-e", f"@{declarations}", "-e", "byok_renew_within_days=30"), "renew")
    assert "alias/app-sym: expires" in renew
    assert recap(renew)["localhost"]["changed"] >= 1
    valid_to = key_of(kms_client, "app-sym")["ValidTo"]
    assert valid_to > datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=360)
    # only the expiring key was touched
    assert all("app-sym" in t or "Import" in t or "Summary" in t or "TASK [" in t for t in changed_tasks(renew))

    again = ok(playbook("renew.yml", kms_env, "-e", f"@{declarations}", "-e", "byok_renew_within_days=30"), "renew again")
    assert "nothing expires within 30 days" in again
    assert recap(again)["localhost"]["changed"] == 0


def test_rotate_keeps_old_data_decryptable_and_escrow_complete(kms_env, kms_client, declarations, tmp_path):
    ok(playbook("byok.yml", kms_env, "-e", f"@{declarations}"), "first run")
    old = kms_client.encrypt(KeyId="alias/app-sym", Plaintext=b"before rotation")["CiphertextBlob"]
    escrow = tmp_path / "escrow"
    old_material = (escrow / "app-sym.key").read_bytes()

    out = ok(playbook("rotate.yml", kms_env, "-e", f"@{declarations}", "-e", '{"byok_rotate_aliases": ["app-sym"]}'), "rotate")
    assert recap(out)["localhost"]["changed"] > 0
    assert kms_client.decrypt(CiphertextBlob=old)["Plaintext"] == b"before rotation"
    rotations = kms_client.list_key_rotations(KeyId=key_of(kms_client, "app-sym")["KeyId"], IncludeKeyMaterial="ALL_KEY_MATERIAL")["Rotations"]
    assert sorted(r["KeyMaterialState"] for r in rotations) == ["CURRENT", "NON_CURRENT"]

    archived = [n for n in os.listdir(escrow) if n.startswith("app-sym.until-")]
    assert len(archived) == 1
    assert (escrow / archived[0]).read_bytes() == old_material
    assert (escrow / "app-sym.key").read_bytes() != old_material
    assert not (escrow / "app-sym.next.key").exists()
    for name in os.listdir(escrow):
        assert stat.S_IMODE(os.stat(escrow / name).st_mode) == 0o600

    # the declaration now holds the rotated material: the role changes nothing
    again = ok(playbook("byok.yml", kms_env, "-e", f"@{declarations}"), "role after rotation")
    assert recap(again)["localhost"]["changed"] == 0, changed_tasks(again)


def test_rotate_refuses_non_symmetric_keys(kms_env, declarations):
    out = playbook("rotate.yml", kms_env, "-e", f"@{declarations}", "-e", '{"byok_rotate_aliases": ["app-hmac"]}')
    assert out.returncode != 0
    assert "only symmetric keys rotate" in out.stdout


def test_revoke_asks_then_revokes_and_byok_restores(kms_env, kms_client, declarations):
    ok(playbook("byok.yml", kms_env, "-e", f"@{declarations}"), "first run")
    unconfirmed = playbook("revoke.yml", kms_env, "-e", '{"byok_revoke_aliases": ["app-sym"]}')
    assert unconfirmed.returncode != 0
    assert "Not confirmed; nothing was revoked" in unconfirmed.stdout
    assert key_of(kms_client, "app-sym")["KeyState"] == "Enabled"

    revoked = ok(playbook("revoke.yml", kms_env, "-e", '{"byok_revoke_aliases": ["app-sym", "alias/app-hmac"]}', "-e", "confirm=yes"), "revoke")
    assert recap(revoked)["localhost"]["changed"] == 1 or recap(revoked)["localhost"]["changed"] >= 1
    assert key_of(kms_client, "app-sym")["KeyState"] == "PendingImport"
    assert key_of(kms_client, "app-hmac")["KeyState"] == "PendingImport"
    assert key_of(kms_client, "app-ecc")["KeyState"] == "Enabled"

    again = ok(playbook("revoke.yml", kms_env, "-e", '{"byok_revoke_aliases": ["app-sym"]}', "-e", "confirm=yes"), "revoke again")
    assert recap(again)["localhost"]["changed"] == 0

    restored = ok(playbook("byok.yml", kms_env, "-e", f"@{declarations}"), "restore from escrow")
    assert recap(restored)["localhost"]["changed"] > 0
    assert key_of(kms_client, "app-sym")["KeyState"] == "Enabled"
    assert key_of(kms_client, "app-hmac")["KeyState"] == "Enabled"


@pytest.mark.parametrize(
    "declaration, message",
    [
        ({"alias": "x", "key_spec": "AES_256"}, "key_spec"),
        ({"alias": "x", "colour": "blue"}, "colour"),
        ({"alias": "x", "valid_days": "many"}, "valid_days"),
        ({"alias": "x", "generate": True}, "generate: true needs escrow_dir"),
        ({"alias": "x", "generate": True, "escrow_dir": "relative/dir"}, "must be an absolute path"),
        ({"alias": "x", "material_path": "/nonexistent/material.bin"}, "is not a file on the controller"),
        ({"alias": "x", "generate": True, "escrow_dir": "/tmp", "material_b64": "AAAA"}, "give one material source"),
        ({"alias": "x", "material_path": "/etc/hostname", "valid_days": 400}, "valid_days 400 must be 1-365"),
        ({"alias": "aws/mine"}, "reserved for AWS"),
        ({"description": "no alias"}, "every declaration needs an alias"),
    ],
)
def test_malformed_declarations_are_rejected_before_any_call(kms_env, kms_client, tmp_path, declaration, message):
    path = tmp_path / "bad.yml"
    path.write_text(json.dumps({"external_key_keys": [declaration]}))
    out = playbook("byok.yml", kms_env, "-e", f"@{path}")
    assert out.returncode != 0
    assert message in out.stdout, out.stdout[-4000:]
    assert [a for a in kms_client.list_aliases()["Aliases"] if not a["AliasName"].startswith("alias/aws/")] == []
