"""Key material never shows: a playbook runs kms_key_material at -vvvv with --diff, ANSIBLE_LOG_PATH and
tracebacks on (import, check mode, re-run, a file others can read, rotation, refused material, wrong length),
and neither its output nor the log holds any material in raw, base64 or hex form."""

from __future__ import annotations

import base64
import secrets
import string

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from test_targets import run_playbook

PRINTABLE = string.ascii_letters + string.digits


def printable_material(length: int) -> bytes:
    """Random material of printable characters, so that its raw form can be searched in text."""
    return "".join(secrets.choice(PRINTABLE) for dummy in range(length)).encode()


def forms(material: bytes) -> set[str]:
    found = {base64.b64encode(material).decode(), material.hex(), material.hex().upper()}
    try:
        text = material.decode("ascii")
    except UnicodeDecodeError:
        text = ""
    if text and text.isprintable():
        found.add(text)
    return found


PLAYBOOK = """
- hosts: localhost
  connection: local
  gather_facts: false
  module_defaults:
    group/byok.kms.kms:
      endpoint_url: "{{ lookup('ansible.builtin.env', 'BYOK_KMS_ENDPOINT') }}"
      region: us-east-1
      access_key: testing
      secret_key: testing
  tasks:
    - name: Refuse to run anywhere but on the local server
      ansible.builtin.assert:
        that: lookup('ansible.builtin.env', 'BYOK_KMS_ENDPOINT') is match('http://127\\.')
    - ansible.builtin.include_role: {name: setup_kms_key_material}
    - name: Keys
      ansible.builtin.command: "{{ kms_tool }} create-key {{ item }}"
      loop: [SYMMETRIC_DEFAULT EXTERNAL alias/s-sym, HMAC_256 EXTERNAL alias/s-mac, ECC_NIST_P256 EXTERNAL alias/s-ec]
    - name: Import (check mode, diff)
      byok.kms.kms_key_material:
        key: alias/s-sym
        key_material: "{{ lookup('ansible.builtin.env', 'SECRET_SYM_A') }}"
        valid_days: 30
      check_mode: true
    - name: Import symmetric, HMAC and EC (from a file), twice each
      byok.kms.kms_key_material:
        key: "{{ item.key }}"
        key_material: "{{ lookup('ansible.builtin.env', item.env) if item.env else omit }}"
        key_material_path: "{{ item.path | default(omit) }}"
        valid_days: 30
      loop:
        - {key: alias/s-sym, env: SECRET_SYM_A}
        - {key: alias/s-sym, env: SECRET_SYM_A}
        - {key: alias/s-mac, env: SECRET_MAC}
        - {key: alias/s-mac, env: SECRET_MAC}
        - {key: alias/s-ec, env: "", path: "{{ lookup('ansible.builtin.env', 'SECRET_EC_PATH') }}"}
        - {key: alias/s-ec, env: "", path: "{{ lookup('ansible.builtin.env', 'SECRET_EC_PATH') }}"}
        - {key: alias/s-sym, env: "", path: "{{ lookup('ansible.builtin.env', 'SECRET_SYM_A_PATH') }}"}
    - name: Refused material (B with state=present)
      byok.kms.kms_key_material:
        key: alias/s-sym
        key_material: "{{ lookup('ansible.builtin.env', 'SECRET_SYM_B') }}"
      ignore_errors: true
    - name: Wrong length
      byok.kms.kms_key_material:
        key: alias/s-sym
        key_material: "{{ lookup('ansible.builtin.env', 'SECRET_SHORT') }}"
      ignore_errors: true
    - name: Wrong HMAC material
      byok.kms.kms_key_material:
        key: alias/s-mac
        key_material: "{{ lookup('ansible.builtin.env', 'SECRET_SYM_B') }}"
      ignore_errors: true
    - name: Rotate to B
      byok.kms.kms_key_material:
        key: alias/s-sym
        state: rotated
        key_material: "{{ lookup('ansible.builtin.env', 'SECRET_SYM_B') }}"
    - name: Revoke
      byok.kms.kms_key_material:
        key: alias/s-sym
        state: absent
"""


def test_material_never_shows(kms_env, tmp_path):
    sym_a, sym_b, mac, short = printable_material(32), printable_material(32), printable_material(32), printable_material(31)
    ec_key = ec.generate_private_key(ec.SECP256R1())
    ec_pem = ec_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    ec_der = ec_key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    ec_path = tmp_path / "ec.pem"
    ec_path.write_bytes(ec_pem)
    ec_path.chmod(0o600)
    sym_a_path = tmp_path / "sym_a.bin"  # readable by others: the module warns, naming the file, not the material
    sym_a_path.write_bytes(sym_a)
    sym_a_path.chmod(0o644)
    playbook = tmp_path / "secrets.yml"
    playbook.write_text(PLAYBOOK)
    log = tmp_path / "ansible.log"
    env = dict(
        kms_env, BYOK_TEST_TMP=str(tmp_path), ANSIBLE_LOG_PATH=str(log),
        SECRET_SYM_A=base64.b64encode(sym_a).decode(), SECRET_SYM_B=base64.b64encode(sym_b).decode(),
        SECRET_MAC=base64.b64encode(mac).decode(), SECRET_SHORT=base64.b64encode(short).decode(),
        SECRET_EC_PATH=str(ec_path), SECRET_SYM_A_PATH=str(sym_a_path),
        ANSIBLE_DISPLAY_TRACEBACK="always",  # tracebacks of every error and warning in the output and the log
    )
    result = run_playbook(playbook, env, "-vvvv", "--diff")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-20000:]
    logged = log.read_text()

    # The runs happened and were logged in full, at -vvvv: results, diffs, refusals.
    for text in (output, logged):
        assert "AnsiballZ_kms_key_material.py" in text
        assert "only ever accepts the material first imported" in text
        assert "exactly 32 bytes" in text
        assert "another HMAC" in text
        assert '"action": "rotate"' in text
        assert "--- before" in text
        assert f"key_material_path {sym_a_path} is readable by its group or by others (mode 0644)" in text

    secrets_ = set()
    for material in (sym_a, sym_b, mac, short, ec_der, ec_pem):
        secrets_ |= forms(material)
    pem_body = [line for line in ec_pem.decode().splitlines() if line and not line.startswith("-----")]
    secrets_ |= set(pem_body)
    for secret in secrets_:
        assert secret not in output, "key material in the output of ansible-playbook -vvvv"
        assert secret not in logged, "key material in ANSIBLE_LOG_PATH"
