"""Unit tests of plugins/module_utils/_escrow.py on a real temporary directory."""

from __future__ import annotations

import os
import stat

import pytest
from cryptography.hazmat.primitives import serialization

from ansible_collections.byok.kms.plugins.module_utils import _escrow as escrow
from ansible_collections.byok.kms.plugins.module_utils._errors import ByokError
from ansible_collections.byok.kms.plugins.module_utils._errors import ValidationError
from ansible_collections.byok.kms.plugins.module_utils._material import key_check_value


def mode_of(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def private_dir(tmp_path):
    d = tmp_path / "escrow"
    d.mkdir(mode=0o700)
    os.chmod(d, 0o700)
    return d


@pytest.fixture(params=[0o022, 0o000, 0o077, 0o277])
def umask(request):
    old = os.umask(request.param)
    yield request.param
    os.umask(old)


def test_creates_symmetric_material_0600_whatever_the_umask(private_dir, umask):
    path = private_dir / "a.key"
    result = escrow.ensure_escrow(str(path), "SYMMETRIC_DEFAULT")
    data = path.read_bytes()
    assert len(data) == 32
    assert mode_of(path) == 0o600
    assert result["changed"] is True and result["created"] is True
    assert result["key_check_value"] == key_check_value(data)
    assert result["length"] == 32
    assert os.listdir(private_dir) == ["a.key"]  # no temporary file left behind
    assert data.hex() not in repr(result) and repr(data) not in repr(result)


def test_second_run_changes_nothing_and_keeps_material(private_dir):
    path = private_dir / "a.key"
    first = escrow.ensure_escrow(str(path), "SYMMETRIC_DEFAULT")
    data = path.read_bytes()
    second = escrow.ensure_escrow(str(path), "SYMMETRIC_DEFAULT")
    assert second["changed"] is False and second["created"] is False
    assert path.read_bytes() == data
    assert second["key_check_value"] == first["key_check_value"]
    assert second["diff"]["before"] == second["diff"]["after"]


@pytest.mark.parametrize("spec, length", [("HMAC_224", 28), ("HMAC_256", 32), ("HMAC_384", 48), ("HMAC_512", 64)])
def test_hmac_lengths(private_dir, spec, length):
    path = private_dir / f"{spec}.key"
    result = escrow.ensure_escrow(str(path), spec)
    assert len(path.read_bytes()) == length
    assert result["mac_algorithm"] == "HMAC_SHA_" + spec.split("_")[1]
    assert "key_check_value" not in result


@pytest.mark.parametrize("spec, curve", [("ECC_NIST_P256", "secp256r1"), ("ECC_SECG_P256K1", "secp256k1")])
def test_ecc_material_is_pkcs8_pem(private_dir, spec, curve):
    path = private_dir / "sign.pem"
    result = escrow.ensure_escrow(str(path), spec)
    pem = path.read_bytes()
    assert pem.startswith(b"-----BEGIN PRIVATE KEY-----\n") and pem.endswith(b"-----END PRIVATE KEY-----\n")
    assert all(len(line) <= 64 for line in pem.splitlines())
    key = serialization.load_pem_private_key(pem, password=None)
    assert key.curve.name == curve
    assert result["curve"] == curve
    assert len(result["public_key_sha256"]) == 64


def test_rsa_material(private_dir):
    result = escrow.ensure_escrow(str(private_dir / "rsa.pem"), "RSA_2048")
    assert result["key_size"] == 2048


def test_missing_directories_are_created_private(tmp_path, umask):
    path = tmp_path / "x" / "y" / "a.key"
    escrow.ensure_escrow(str(path), "HMAC_256")
    assert mode_of(tmp_path / "x") == 0o700
    assert mode_of(tmp_path / "x" / "y") == 0o700
    assert mode_of(path) == 0o600


def test_world_readable_directory_is_refused(tmp_path):
    os.chmod(tmp_path, 0o755)
    with pytest.raises(ByokError) as e:
        escrow.ensure_escrow(str(tmp_path / "a.key"), "SYMMETRIC_DEFAULT")
    assert "0755" in e.value.message and "chmod 0700" in e.value.message
    assert os.listdir(tmp_path) == []


def test_check_mode_writes_nothing(tmp_path):
    path = tmp_path / "new" / "a.key"
    result = escrow.ensure_escrow(str(path), "SYMMETRIC_DEFAULT", check_mode=True)
    assert result["changed"] is True and result["created"] is True
    assert result["diff"]["before"]["state"] == "absent"
    assert not (tmp_path / "new").exists()


def test_mode_is_fixed(private_dir):
    path = private_dir / "a.key"
    escrow.ensure_escrow(str(path), "SYMMETRIC_DEFAULT")
    os.chmod(path, 0o644)
    checked = escrow.ensure_escrow(str(path), "SYMMETRIC_DEFAULT", check_mode=True)
    assert checked["changed"] is True and mode_of(path) == 0o644
    assert checked["diff"]["before"]["mode"] == "0644" and checked["diff"]["after"]["mode"] == "0600"
    fixed = escrow.ensure_escrow(str(path), "SYMMETRIC_DEFAULT")
    assert fixed["changed"] is True and fixed["created"] is False
    assert mode_of(path) == 0o600


def test_mode_fails_without_fix(private_dir):
    path = private_dir / "a.key"
    escrow.ensure_escrow(str(path), "SYMMETRIC_DEFAULT")
    os.chmod(path, 0o640)
    with pytest.raises(ByokError) as e:
        escrow.ensure_escrow(str(path), "SYMMETRIC_DEFAULT", fix_permissions=False)
    assert "0640" in e.value.message
    assert mode_of(path) == 0o640


def test_existing_material_must_fit_the_spec(private_dir):
    path = private_dir / "a.key"
    path.write_bytes(os.urandom(16))
    os.chmod(path, 0o600)
    with pytest.raises(ValidationError) as e:
        escrow.ensure_escrow(str(path), "SYMMETRIC_DEFAULT")
    assert e.value.option == "path"
    assert "32 bytes" in e.value.message
    with pytest.raises(ValidationError):
        escrow.ensure_escrow(str(path), "ECC_NIST_P256")


def test_read_back_mismatch_removes_the_file(private_dir, monkeypatch):
    path = private_dir / "a.key"
    monkeypatch.setattr(escrow, "read_file", lambda p: b"\0" * 32)
    with pytest.raises(ByokError) as e:
        escrow.ensure_escrow(str(path), "SYMMETRIC_DEFAULT")
    assert "does not read back" in e.value.message
    assert os.listdir(private_dir) == []


def test_failed_write_leaves_no_temporary_file(private_dir, monkeypatch):
    def broken_fsync(fd):
        raise OSError(5, "I/O error")

    monkeypatch.setattr(escrow.os, "fsync", broken_fsync)
    with pytest.raises(OSError):
        escrow.ensure_escrow(str(private_dir / "a.key"), "SYMMETRIC_DEFAULT")
    assert os.listdir(private_dir) == []


def test_file_appearing_during_write_is_not_overwritten(private_dir, monkeypatch):
    path = private_dir / "a.key"
    real_link = os.link

    def racing_link(src, dst):
        with open(dst, "wb") as f:
            f.write(b"other writer")
        return real_link(src, dst)

    monkeypatch.setattr(escrow.os, "link", racing_link)
    with pytest.raises(ByokError) as e:
        escrow.ensure_escrow(str(path), "SYMMETRIC_DEFAULT")
    assert "not overwritten" in e.value.message
    assert path.read_bytes() == b"other writer"
    assert os.listdir(private_dir) == ["a.key"]


@pytest.mark.parametrize("kwargs, option", [({"key_spec": "AES_128"}, "key_spec"), ({"path": ""}, "path")])
def test_bad_input(private_dir, kwargs, option):
    args = {"path": str(private_dir / "a.key"), "key_spec": "SYMMETRIC_DEFAULT", **kwargs}
    with pytest.raises(ValidationError) as e:
        escrow.ensure_escrow(**args)
    assert e.value.option == option


def test_directory_as_path_is_refused(private_dir):
    with pytest.raises(ValidationError) as e:
        escrow.ensure_escrow(str(private_dir), "SYMMETRIC_DEFAULT")
    assert e.value.option == "path"
