"""Whole-playbook runs of playbooks/*.yml (the role byok.kms.external_key and what is built on it), each test
against its own fresh local KMS server, each playbook run by its FQCN (`ansible-playbook byok.kms.byok`) so that
it resolves through the collection path: the demo, the role twice (second run changes nothing, secrets never in
the -vvv output), check mode, renew after forcing a short expiry, rotate, revoke (with and without
confirmation), material that cannot be escrowed is not imported, and declarations the role must reject."""

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
ADMIN = "arn:aws:iam::123456789012:role/KeyAdmin"
USER = "arn:aws:iam::123456789012:role/App"
PARTNER = "210987654321"
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
def material_file(tmp_path) -> Path:
    """Symmetric material supplied as a file on the controller (raw bytes, mode 0600)."""
    path = tmp_path / "supplied" / "app-file.bin"
    path.parent.mkdir(mode=0o700)
    path.write_bytes(os.urandom(32))
    path.chmod(0o600)
    return path


@pytest.fixture
def declarations(tmp_path, material_b64, material_file) -> Path:
    """A vars file with one key per material source and kind of key (JSON is YAML)."""
    escrow = tmp_path / "escrow"
    data = {
        "external_key_defaults": {"generate": True, "escrow_dir": str(escrow), "valid_days": 365, "tags": {"env": "test"},
                                  "wrapping_key_spec": "RSA_2048"},
        "external_key_keys": [
            {"alias": "app-sym", "description": "symmetric, generated", "admins": [ADMIN], "users": [USER],
             "external_account_ids": [PARTNER]},
            {"alias": "app-hmac", "key_spec": "HMAC_256", "valid_days": 90},
            {"alias": "app-ecc", "key_spec": "ECC_NIST_P256", "valid_days": None},
            {"alias": "app-b64", "generate": False, "material_b64": material_b64},
            {"alias": "app-file", "generate": False, "material_path": str(material_file)},
            {"alias": "app-disabled", "key_spec": "HMAC_512", "enabled": False},
            {"alias": "app-waiting", "generate": False, "tags": {"state": "waiting"}},
        ],
    }
    path = tmp_path / "keys.yml"
    path.write_text(json.dumps(data))
    return path


def playbook(name: str, kms_env: dict, *args: str):
    """Run playbooks/NAME by its FQCN, byok.kms.NAME without .yml (the file must exist: no typo hides behind it)."""
    assert (PLAYBOOKS / name).is_file()
    assert kms_env["BYOK_KMS_ENDPOINT"].startswith("http://127."), "the local KMS server only, never AWS"
    return run_playbook(f"byok.kms.{Path(name).stem}", kms_env, "-e", f"byok_kms_endpoint_url={kms_env['BYOK_KMS_ENDPOINT']}",
                        "-e", "byok_aws_region=us-east-1", *args)


def secret_forms(material: bytes) -> list[str]:
    """How key material could show up in text: base64, hex (both cases), and for PEM files every body line."""
    forms = [base64.b64encode(material).decode(), material.hex(), material.hex().upper()]
    if material.startswith(b"-----BEGIN"):
        body = [line for line in material.decode().splitlines() if line and not line.startswith("-----")]
        forms = ["".join(body)] + [line for line in body if len(line) >= 16]
    return forms


def key_of(kms_client, alias: str) -> dict:
    return kms_client.describe_key(KeyId=f"alias/{alias}")["KeyMetadata"]


def test_role_twice_second_run_changes_nothing(kms_env, kms_client, declarations, tmp_path, material_b64, material_file):
    first_run = playbook("byok.yml", kms_env, "-e", f"@{declarations}", "-vvv")
    first = ok(first_run, "first run")
    assert recap(first)["localhost"]["changed"] > 0

    states = {a: key_of(kms_client, a)["KeyState"]
              for a in ("app-sym", "app-hmac", "app-ecc", "app-b64", "app-file", "app-disabled", "app-waiting")}
    assert states == {"app-sym": "Enabled", "app-hmac": "Enabled", "app-ecc": "Enabled", "app-b64": "Enabled",
                      "app-file": "Enabled", "app-disabled": "Disabled", "app-waiting": "PendingImport"}
    assert key_of(kms_client, "app-ecc")["ExpirationModel"] == "KEY_MATERIAL_DOES_NOT_EXPIRE"
    assert key_of(kms_client, "app-hmac")["ExpirationModel"] == "KEY_MATERIAL_EXPIRES"
    # the declaration's admins, users and other accounts reach the key policy, its tags the key (defaults merged)
    policy = json.loads(kms_client.get_key_policy(KeyId=key_of(kms_client, "app-sym")["KeyId"], PolicyName="default")["Policy"])
    principals = json.dumps([st.get("Principal") for st in policy["Statement"]])
    for principal in (ADMIN, USER, f"arn:aws:iam::{PARTNER}:root"):
        assert principal in principals
    tags = kms_client.list_resource_tags(KeyId=key_of(kms_client, "app-sym")["KeyId"])["Tags"]
    assert {"TagKey": "env", "TagValue": "test"} in tags
    # the verified keys did their round trip (app-sym, app-b64, app-file; app-hmac; app-ecc)
    assert first.count("verified Encrypt/Decrypt") == 3 and "verified GenerateMac/VerifyMac" in first
    assert "verified GetPublicKey/Sign/Verify" in first

    escrow = tmp_path / "escrow"
    assert sorted(os.listdir(escrow)) == ["app-disabled.key", "app-ecc.pem", "app-hmac.key", "app-sym.key"]
    assert stat.S_IMODE(os.stat(escrow).st_mode) == 0o700
    for name in os.listdir(escrow):
        assert stat.S_IMODE(os.stat(escrow / name).st_mode) == 0o600
    escrowed = {name: (escrow / name).read_bytes() for name in os.listdir(escrow)}
    assert sorted(os.listdir(material_file.parent)) == [material_file.name]  # no copy or temporary file beside it

    # no material, from any source, shows in any form, even at -vvv (stdout and stderr)
    shown = first_run.stdout + first_run.stderr
    assert "TASK [byok.kms.external_key : Import key material given in base64" in shown  # -vvv output really is here
    for name, material in [("material_b64", base64.b64decode(material_b64)), ("material_path", material_file.read_bytes()),
                           *escrowed.items()]:
        for form in secret_forms(material):
            assert form not in shown, f"{name} shows in the -vvv output"

    second = ok(playbook("byok.yml", kms_env, "-e", f"@{declarations}"), "second run")
    assert recap(second)["localhost"]["changed"] == 0, changed_tasks(second)
    assert changed_tasks(second) == []
    assert "unchanged" in second and " changed\n" not in second.replace('"', "\n")
    assert {name: (escrow / name).read_bytes() for name in os.listdir(escrow)} == escrowed

    # check mode on the account as it is now predicts no change either
    checked = ok(playbook("byok.yml", kms_env, "-e", f"@{declarations}", "--check"), "check mode run")
    assert recap(checked)["localhost"]["changed"] == 0, changed_tasks(checked)


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

    others = ("app-hmac", "app-b64", "app-file", "app-disabled")
    before = {a: key_of(kms_client, a)["ValidTo"] for a in others}

    renew = ok(playbook("renew.yml", kms_env, "-e", f"@{declarations}", "-e", "byok_renew_within_days=30"), "renew")
    assert "alias/app-sym: expires" in renew
    assert recap(renew)["localhost"]["changed"] >= 1
    valid_to = key_of(kms_client, "app-sym")["ValidTo"]
    assert valid_to > datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=360)
    # only the expiring key was touched: the others keep their expiry and were not even in the role's loops
    assert {a: key_of(kms_client, a)["ValidTo"] for a in others} == before
    assert "(item=alias/app-sym" in renew
    for alias in others:
        assert f"alias/{alias}" not in renew.split("Re-import the material of the expiring keys", 1)[1]

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
    assert recap(revoked)["localhost"]["changed"] == 1  # one task, the loop over both keys
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


def test_material_that_cannot_be_escrowed_is_never_imported(kms_env, kms_client, tmp_path):
    """An escrow directory others may write is refused: the generated material is never written, so never imported."""
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    path = tmp_path / "keys.yml"
    path.write_text(json.dumps({"external_key_keys": [
        {"alias": "app-unsafe", "generate": True, "escrow_dir": str(shared), "valid_days": 30},
        {"alias": "app-safe", "generate": True, "escrow_dir": str(tmp_path / "private"), "valid_days": 30},
    ]}))
    out = playbook("byok.yml", kms_env, "-e", f"@{path}")
    assert out.returncode != 0
    assert f"escrow directory {shared} has mode 0777" in out.stdout, out.stdout[-4000:]
    assert os.listdir(shared) == []
    # the keys exist (key phase) but no material went in, not even the one whose escrow succeeded
    assert key_of(kms_client, "app-unsafe")["KeyState"] == "PendingImport"
    assert key_of(kms_client, "app-safe")["KeyState"] == "PendingImport"


def test_demo_by_fqcn_from_nothing(kms_env, kms_client):
    """`make demo` runs this playbook: three keys with generated, escrowed material, verified, then the summary
    and the expiry report; the escrow directory does not stay behind."""
    result = run_playbook("byok.kms.demo", kms_env)
    out = ok(result, "demo")
    assert recap(out)["localhost"]["failed"] == 0
    for alias, spec, state, verified in [("demo-symmetric", "SYMMETRIC_DEFAULT", "Enabled", "verified Encrypt/Decrypt"),
                                         ("demo-hmac", "HMAC_256", "Enabled", "verified GenerateMac/VerifyMac"),
                                         ("demo-signing", "ECC_NIST_P256", "Enabled", "verified GetPublicKey/Sign/Verify")]:
        meta = key_of(kms_client, alias)
        assert (meta["Origin"], meta["KeySpec"], meta["KeyState"]) == ("EXTERNAL", spec, state)
        summary = [line for line in out.splitlines() if f"alias/{alias} " in line and "verified" in line]
        assert summary and verified in summary[0], out[-6000:]
    report = out.split("Expiry report", 1)[1]
    assert re.search(r"alias/demo-hmac\s+expires \d{4}-\d\d-\d\d, in\s+89 days", report), report[:2000]
    assert re.search(r"alias/demo-symmetric\s+expires \d{4}-\d\d-\d\d, in 364 days", report)
    assert re.search(r"alias/demo-signing\s+never expires", report)
    escrow_dirs = set(re.findall(r"(/\S*byok-demo-escrow-[^\s/'\"]+)", out))
    assert escrow_dirs and not any(os.path.exists(d) for d in escrow_dirs)
