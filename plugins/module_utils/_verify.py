# -*- coding: utf-8 -*-
# Copyright: byok.kms contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A cryptographic round trip with a KMS key, fitted to its usage. Private to byok.kms.

- ENCRYPT_DECRYPT: Encrypt a random probe (with an encryption context for symmetric keys), Decrypt,
  compare.
- GENERATE_VERIFY_MAC: GenerateMac over a random probe, VerifyMac must accept it, and must reject the
  same MAC over a different message.
- SIGN_VERIFY: Sign a random probe, Verify must accept it and reject a different message; optionally
  the key's public key must match an expected SHA-256 (the escrowed private key's public half).

The probe is random and not secret; it, the ciphertext, the MAC and the signature are never returned.
Every call is read-only for the key: the round trip changes nothing and may run in check mode.
"""

from __future__ import annotations

import hashlib
import os
from typing import Any

from ansible_collections.byok.kms.plugins.module_utils._errors import ByokError
from ansible_collections.byok.kms.plugins.module_utils._errors import KmsError
from ansible_collections.byok.kms.plugins.module_utils._errors import ValidationError
from ansible_collections.byok.kms.plugins.module_utils._keys import find_key

PROBE_CONTEXT_KEY = "byok:verify"
# Preferred algorithm first; the key's own list (DescribeKey) decides what is allowed.
PREFERRED_ENCRYPTION = ("SYMMETRIC_DEFAULT", "RSAES_OAEP_SHA_256", "RSAES_OAEP_SHA_1")
PREFERRED_SIGNING = (
    "ECDSA_SHA_256", "ECDSA_SHA_384", "ECDSA_SHA_512", "RSASSA_PSS_SHA_256", "RSASSA_PKCS1_V1_5_SHA_256",
)
INVALID_MAC_CODES = ("KMSInvalidMacException",)
INVALID_SIGNATURE_CODES = ("KMSInvalidSignatureException",)


def _pick(preferred: tuple[str, ...], offered: list[str] | None, fallback: str | None = None) -> str:
    offered = list(offered or [])
    for name in preferred:
        if name in offered:
            return name
    if offered:
        return offered[0]
    if fallback:
        return fallback
    raise ByokError("the key offers no algorithm for a round trip")


def _failed(key: str, what: str, metadata: dict, **details: Any) -> ByokError:
    return ByokError(f"verification of {key} failed: {what}", key_id=metadata.get("KeyId"), ok=False, **details)


def _round_trip_encrypt(client: Any, key: str, metadata: dict) -> dict:
    key_id = metadata["KeyId"]
    algorithm = _pick(PREFERRED_ENCRYPTION, metadata.get("EncryptionAlgorithms"), "SYMMETRIC_DEFAULT")
    probe = os.urandom(32)
    params: dict[str, Any] = {"KeyId": key_id, "EncryptionAlgorithm": algorithm}
    if algorithm == "SYMMETRIC_DEFAULT":
        params["EncryptionContext"] = {PROBE_CONTEXT_KEY: hashlib.sha256(probe).hexdigest()[:16]}
    blob = client.call("Encrypt", Plaintext=probe, **params)["CiphertextBlob"]
    plaintext = client.call("Decrypt", CiphertextBlob=blob, **params)["Plaintext"]
    if plaintext != probe:
        raise _failed(key, "Decrypt did not return what Encrypt was given", metadata, algorithm=algorithm)
    return {"operations": ["Encrypt", "Decrypt"], "algorithm": algorithm}


def _expect_rejected(call: Any, valid_field: str, codes: tuple[str, ...]) -> bool:
    """True when KMS rejects the tampered input (field False, or the documented exception)."""
    try:
        return not call()[valid_field]
    except KmsError as e:
        if e.code in codes:
            return True
        raise


def _round_trip_mac(client: Any, key: str, metadata: dict) -> dict:
    key_id = metadata["KeyId"]
    spec = metadata.get("KeySpec", "")
    algorithm = _pick(("HMAC_SHA_" + spec.split("_")[-1],), metadata.get("MacAlgorithms"))
    probe = os.urandom(32)
    mac = client.call("GenerateMac", KeyId=key_id, Message=probe, MacAlgorithm=algorithm)["Mac"]
    if not client.call("VerifyMac", KeyId=key_id, Message=probe, MacAlgorithm=algorithm, Mac=mac).get("MacValid"):
        raise _failed(key, "VerifyMac rejected the MAC that GenerateMac returned", metadata, algorithm=algorithm)
    tampered = bytes([probe[0] ^ 1]) + probe[1:]
    if not _expect_rejected(
        lambda: client.call("VerifyMac", KeyId=key_id, Message=tampered, MacAlgorithm=algorithm, Mac=mac),
        "MacValid", INVALID_MAC_CODES,
    ):
        raise _failed(key, "VerifyMac accepted a MAC for a different message", metadata, algorithm=algorithm)
    return {"operations": ["GenerateMac", "VerifyMac"], "algorithm": algorithm}


def _check_public_key(client: Any, key: str, metadata: dict, expected: str) -> str:
    """The SHA-256 of the key's public key (GetPublicKey), which must be ``expected`` (lower-case hex)."""
    public = client.call("GetPublicKey", KeyId=metadata["KeyId"])["PublicKey"]
    actual = hashlib.sha256(public).hexdigest()
    if actual != expected:
        raise _failed(
            key, f"its public key (SHA-256 {actual}) is not the expected one ({expected}): "
            "the key holds other material than the escrowed one", metadata, public_key_sha256=actual,
        )
    return actual


def _round_trip_sign(client: Any, key: str, metadata: dict) -> dict:
    key_id = metadata["KeyId"]
    algorithm = _pick(PREFERRED_SIGNING, metadata.get("SigningAlgorithms"))
    probe = os.urandom(32)
    signature = client.call("Sign", KeyId=key_id, Message=probe, MessageType="RAW", SigningAlgorithm=algorithm)["Signature"]
    verify = {"KeyId": key_id, "MessageType": "RAW", "SigningAlgorithm": algorithm, "Signature": signature}
    if not client.call("Verify", Message=probe, **verify).get("SignatureValid"):
        raise _failed(key, "Verify rejected the signature that Sign returned", metadata, algorithm=algorithm)
    tampered = bytes([probe[0] ^ 1]) + probe[1:]
    if not _expect_rejected(lambda: client.call("Verify", Message=tampered, **verify), "SignatureValid", INVALID_SIGNATURE_CODES):
        raise _failed(key, "Verify accepted the signature for a different message", metadata, algorithm=algorithm)
    return {"operations": ["Sign", "Verify"], "algorithm": algorithm}


def verify_key(client: Any, key: str, public_key_sha256: str | None = None) -> dict:
    """Round trip with ``key`` (alias, key id or ARN). Returns ``ok``, ``key_id``, ``key_arn``,
    ``key_spec``, ``key_usage``, ``operations``, ``algorithm``; raises ByokError when KMS fails the
    round trip or the key cannot do one."""
    if not key:
        raise ValidationError("key", key, "give an alias (alias/...), key id or key ARN")
    if public_key_sha256 is not None:
        digest = public_key_sha256.lower()
        if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            raise ValidationError("public_key_sha256", public_key_sha256, "must be 64 hexadecimal characters (a SHA-256)")
    metadata = find_key(client, key)
    if metadata is None:
        raise ByokError(f"verification of {key} failed: no such key", ok=False)
    state = metadata.get("KeyState")
    if state != "Enabled":
        hint = " import its key material first" if state == "PendingImport" else " enable it first"
        raise _failed(key, f"the key is {state}, a round trip needs an Enabled key;{hint}", metadata, key_state=state)
    if public_key_sha256 and not metadata.get("KeySpec", "").startswith(("RSA_", "ECC_")):
        raise ValidationError("public_key_sha256", public_key_sha256, f"only RSA and ECC keys have a public key, not {metadata.get('KeySpec')}")
    usage = metadata.get("KeyUsage")
    checked: dict[str, Any] = {}
    try:
        if public_key_sha256:
            checked["public_key_sha256"] = _check_public_key(client, key, metadata, public_key_sha256.lower())
        if usage == "ENCRYPT_DECRYPT":
            details = _round_trip_encrypt(client, key, metadata)
        elif usage == "GENERATE_VERIFY_MAC":
            details = _round_trip_mac(client, key, metadata)
        elif usage == "SIGN_VERIFY":
            details = _round_trip_sign(client, key, metadata)
        else:
            raise ByokError(f"{key} has key usage {usage}: byok.kms verifies ENCRYPT_DECRYPT, GENERATE_VERIFY_MAC and SIGN_VERIFY keys")
    except KmsError as e:
        raise _failed(key, e.message, metadata, error={"code": e.code, "message": e.aws_message, "operation": e.operation}) from None
    if checked:
        details["operations"].insert(0, "GetPublicKey")
    return {
        "ok": True,
        "key_id": metadata["KeyId"],
        "key_arn": metadata.get("Arn"),
        "key_spec": metadata.get("KeySpec"),
        "key_usage": usage,
        **details,
        **checked,
    }
