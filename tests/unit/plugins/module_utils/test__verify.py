"""Unit tests of plugins/module_utils/_verify.py against a fake KMS that does real cryptography."""

from __future__ import annotations

import hashlib
import hmac
from collections import Counter

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ansible_collections.byok.kms.plugins.module_utils import _verify as verify
from ansible_collections.byok.kms.plugins.module_utils._errors import ByokError
from ansible_collections.byok.kms.plugins.module_utils._errors import KmsError
from ansible_collections.byok.kms.plugins.module_utils._errors import ValidationError


class FakeKms:
    def __init__(self, spec, state="Enabled"):
        usage = {"SYMMETRIC_DEFAULT": "ENCRYPT_DECRYPT", "HMAC_256": "GENERATE_VERIFY_MAC", "ECC_NIST_P256": "SIGN_VERIFY"}[spec]
        self.meta = {"KeyId": "k1", "Arn": "arn:aws:kms:us-east-1:111122223333:key/k1", "KeySpec": spec,
                     "KeyUsage": usage, "KeyState": state}
        if spec == "SYMMETRIC_DEFAULT":
            self.meta["EncryptionAlgorithms"] = ["SYMMETRIC_DEFAULT"]
        if spec == "HMAC_256":
            self.meta["MacAlgorithms"] = ["HMAC_SHA_256"]
        if spec == "ECC_NIST_P256":
            self.meta["SigningAlgorithms"] = ["ECDSA_SHA_256"]
        self.secret = b"k" * 32
        self.private = ec.generate_private_key(ec.SECP256R1())
        self.calls = Counter()
        self.broken = None

    def public_der(self):
        return self.private.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)

    def call(self, op, **p):
        self.calls[op] += 1
        if op == "DescribeKey":
            if p["KeyId"] not in ("k1", "alias/k"):
                raise KmsError(op, "NotFoundException", "no")
            return {"KeyMetadata": dict(self.meta)}
        if op == "Encrypt":
            aad = repr(sorted(p.get("EncryptionContext", {}).items())).encode()
            return {"CiphertextBlob": b"\0" * 12 + AESGCM(self.secret).encrypt(b"\0" * 12, p["Plaintext"], aad)}
        if op == "Decrypt":
            aad = repr(sorted(p.get("EncryptionContext", {}).items())).encode()
            plain = AESGCM(self.secret).decrypt(b"\0" * 12, p["CiphertextBlob"][12:], aad)
            return {"Plaintext": plain[::-1] if self.broken == "decrypt" else plain}
        if op == "GenerateMac":
            return {"Mac": hmac.new(self.secret, p["Message"], hashlib.sha256).digest()}
        if op == "VerifyMac":
            if self.broken == "mac":
                return {"MacValid": True}
            if hmac.compare_digest(hmac.new(self.secret, p["Message"], hashlib.sha256).digest(), p["Mac"]):
                return {"MacValid": True}
            raise KmsError(op, "KMSInvalidMacException", "invalid")
        if op == "Sign":
            return {"Signature": self.private.sign(p["Message"], ec.ECDSA(hashes.SHA256()))}
        if op == "Verify":
            try:
                self.private.public_key().verify(p["Signature"], p["Message"], ec.ECDSA(hashes.SHA256()))
                return {"SignatureValid": True}
            except InvalidSignature:
                if self.broken == "verify":
                    return {"SignatureValid": True}
                raise KmsError(op, "KMSInvalidSignatureException", "invalid") from None
        if op == "GetPublicKey":
            return {"PublicKey": self.public_der()}
        raise AssertionError(op)


@pytest.mark.parametrize(
    "spec, operations, algorithm",
    [
        ("SYMMETRIC_DEFAULT", ["Encrypt", "Decrypt"], "SYMMETRIC_DEFAULT"),
        ("HMAC_256", ["GenerateMac", "VerifyMac"], "HMAC_SHA_256"),
        ("ECC_NIST_P256", ["Sign", "Verify"], "ECDSA_SHA_256"),
    ],
)
def test_round_trip_fits_the_key(spec, operations, algorithm):
    kms = FakeKms(spec)
    result = verify.verify_key(kms, "alias/k")
    assert result["ok"] is True
    assert result["operations"] == operations
    assert result["algorithm"] == algorithm
    assert result["key_id"] == "k1"
    for op in operations:
        assert kms.calls[op] >= 1


def test_mac_must_be_rejected_for_another_message():
    kms = FakeKms("HMAC_256")
    assert kms.calls["VerifyMac"] == 0
    verify.verify_key(kms, "k1")
    assert kms.calls["VerifyMac"] == 2
    kms.broken = "mac"
    with pytest.raises(ByokError) as e:
        verify.verify_key(kms, "k1")
    assert "different message" in e.value.message


def test_signature_must_be_rejected_for_another_message():
    kms = FakeKms("ECC_NIST_P256")
    kms.broken = "verify"
    with pytest.raises(ByokError) as e:
        verify.verify_key(kms, "k1")
    assert "different message" in e.value.message


def test_decrypt_mismatch_fails():
    kms = FakeKms("SYMMETRIC_DEFAULT")
    kms.broken = "decrypt"
    with pytest.raises(ByokError) as e:
        verify.verify_key(kms, "k1")
    assert "Decrypt did not return" in e.value.message
    assert e.value.details["ok"] is False


def test_public_key_matches_escrow():
    kms = FakeKms("ECC_NIST_P256")
    expected = hashlib.sha256(kms.public_der()).hexdigest()
    result = verify.verify_key(kms, "k1", public_key_sha256=expected.upper())
    assert result["public_key_sha256"] == expected
    assert result["operations"] == ["GetPublicKey", "Sign", "Verify"]
    kms.calls.clear()
    with pytest.raises(ByokError) as e:
        verify.verify_key(kms, "k1", public_key_sha256="0" * 64)
    assert "not the expected one" in e.value.message
    assert kms.calls["Sign"] == 0


@pytest.mark.parametrize("state, hint", [("PendingImport", "import its key material"), ("Disabled", "enable it")])
def test_key_not_enabled(state, hint):
    kms = FakeKms("SYMMETRIC_DEFAULT", state=state)
    with pytest.raises(ByokError) as e:
        verify.verify_key(kms, "k1")
    assert state in e.value.message and hint in e.value.message
    assert kms.calls["Encrypt"] == 0


def test_missing_key():
    with pytest.raises(ByokError) as e:
        verify.verify_key(FakeKms("SYMMETRIC_DEFAULT"), "alias/none")
    assert "no such key" in e.value.message


def test_kms_error_becomes_failed_verification():
    kms = FakeKms("SYMMETRIC_DEFAULT")
    real = kms.call

    def denied(op, **p):
        if op == "Encrypt":
            raise KmsError(op, "AccessDeniedException", "not allowed")
        return real(op, **p)

    kms.call = denied
    with pytest.raises(ByokError) as e:
        verify.verify_key(kms, "k1")
    assert "AccessDeniedException" in e.value.message
    assert e.value.details["error"]["code"] == "AccessDeniedException"


@pytest.mark.parametrize("kwargs, option", [({"key": ""}, "key"), ({"key": "k1", "public_key_sha256": "xyz"}, "public_key_sha256")])
def test_bad_input_before_any_call(kwargs, option):
    kms = FakeKms("SYMMETRIC_DEFAULT")
    with pytest.raises(ValidationError) as e:
        verify.verify_key(kms, **kwargs)
    assert e.value.option == option
    assert sum(kms.calls.values()) == 0


def test_public_key_on_symmetric_key_is_refused():
    kms = FakeKms("SYMMETRIC_DEFAULT")
    with pytest.raises(ValidationError) as e:
        verify.verify_key(kms, "k1", public_key_sha256="a" * 64)
    assert e.value.option == "public_key_sha256"
    assert kms.calls == Counter({"DescribeKey": 1}), "refused before the round trip"


def test_public_key_of_an_encrypting_asymmetric_key():
    kms = FakeKms("ECC_NIST_P256")
    kms.meta["KeyUsage"] = "ENCRYPT_DECRYPT"  # as an RSA encryption key: public key checked, then Encrypt/Decrypt
    expected = hashlib.sha256(kms.public_der()).hexdigest()
    result = verify.verify_key(kms, "k1", public_key_sha256=expected)
    assert result["public_key_sha256"] == expected
    assert result["operations"] == ["GetPublicKey", "Encrypt", "Decrypt"]
    kms.calls.clear()
    with pytest.raises(ByokError) as e:
        verify.verify_key(kms, "k1", public_key_sha256="0" * 64)
    assert "not the expected one" in e.value.message and e.value.details["public_key_sha256"] == expected
    assert e.value.details["ok"] is False
    assert kms.calls["Encrypt"] == 0, "a wrong public key fails before the round trip"
