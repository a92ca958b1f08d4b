# -*- coding: utf-8 -*-
# Copyright: byok.kms contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Cryptography of the local KMS: wrapping keys, unwrapping, material checks, ciphertext format.

Nothing here knows about moto: plain values in, plain values (or KmsError) out.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import struct
import threading
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap_with_padding

from ._errors import IncorrectKeyMaterialException, InvalidCiphertextException

# --- key specs -------------------------------------------------------------------------------------

SYMMETRIC = "SYMMETRIC_DEFAULT"
HMAC_LENGTHS = {"HMAC_224": 28, "HMAC_256": 32, "HMAC_384": 48, "HMAC_512": 64}
HMAC_ALGORITHMS = {"HMAC_224": "HMAC_SHA_224", "HMAC_256": "HMAC_SHA_256",
                   "HMAC_384": "HMAC_SHA_384", "HMAC_512": "HMAC_SHA_512"}
RSA_SIZES = {"RSA_2048": 2048, "RSA_3072": 3072, "RSA_4096": 4096}
ECC_CURVES: dict[str, type[ec.EllipticCurve]] = {
    "ECC_NIST_P256": ec.SECP256R1, "ECC_NIST_P384": ec.SECP384R1,
    "ECC_NIST_P521": ec.SECP521R1, "ECC_SECG_P256K1": ec.SECP256K1,
}
ECC_SIGNING = {"ECC_NIST_P256": "ECDSA_SHA_256", "ECC_SECG_P256K1": "ECDSA_SHA_256",
               "ECC_NIST_P384": "ECDSA_SHA_384", "ECC_NIST_P521": "ECDSA_SHA_512"}

OAEP_ALGORITHMS = ("RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256")
KEY_WRAP_ALGORITHMS = ("RSA_AES_KEY_WRAP_SHA_1", "RSA_AES_KEY_WRAP_SHA_256")
WRAPPING_KEY_SIZES = {"RSA_2048": 2048, "RSA_3072": 3072, "RSA_4096": 4096}


def key_kind(key_spec: str) -> str:
    """'symmetric', 'hmac', 'rsa', 'ecc' or 'other'."""
    if key_spec == SYMMETRIC:
        return "symmetric"
    if key_spec in HMAC_LENGTHS:
        return "hmac"
    if key_spec in RSA_SIZES:
        return "rsa"
    if key_spec in ECC_CURVES:
        return "ecc"
    return "other"


def wrapping_algorithms_for(key_spec: str) -> tuple[str, ...]:
    """Wrapping algorithms AWS accepts for material of this key spec (facts file table)."""
    kind = key_kind(key_spec)
    if kind in ("symmetric", "hmac"):
        return OAEP_ALGORITHMS
    if kind == "rsa":
        return KEY_WRAP_ALGORITHMS
    if kind == "ecc":
        return OAEP_ALGORITHMS + KEY_WRAP_ALGORITHMS
    return ()


# --- wrapping key pool -------------------------------------------------------------------------------

class WrappingKeyPool:
    """A few RSA key pairs per size, handed out round robin: consecutive calls get different pairs
    (so a public key of one GetParametersForImport never unwraps for another's token), while a test
    run does not generate a 4096-bit key for every call."""

    def __init__(self, per_size: int = 2) -> None:
        self.per_size = per_size
        self._lock = threading.Lock()
        self._keys: dict[int, list[rsa.RSAPrivateKey]] = {}
        self._next: dict[int, int] = {}

    def take(self, bits: int) -> rsa.RSAPrivateKey:
        with self._lock:
            keys = self._keys.setdefault(bits, [])
            if len(keys) < self.per_size:
                key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
                keys.append(key)
                return key
            index = self._next.get(bits, 0) % len(keys)
            self._next[bits] = index + 1
            return keys[index]


WRAPPING_KEYS = WrappingKeyPool()


def public_key_der(private_key: rsa.RSAPrivateKey) -> bytes:
    return private_key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def _oaep(algorithm: str) -> padding.OAEP:
    digest: hashes.HashAlgorithm = hashes.SHA256() if algorithm.endswith("SHA_256") else hashes.SHA1()
    return padding.OAEP(mgf=padding.MGF1(algorithm=digest), algorithm=digest, label=None)


def unwrap(private_key: rsa.RSAPrivateKey, algorithm: str, blob: bytes) -> bytes:
    """Undo the client's wrapping; InvalidCiphertextException when it was not done with this key/algorithm."""
    try:
        if algorithm in OAEP_ALGORITHMS:
            return private_key.decrypt(blob, _oaep(algorithm))
        if algorithm in KEY_WRAP_ALGORITHMS:
            size = private_key.key_size // 8
            if len(blob) <= size:
                raise ValueError("too short")
            aes_key = private_key.decrypt(blob[:size], _oaep(algorithm))
            if len(aes_key) != 32:
                raise ValueError("the AES key must be 256 bits")
            return aes_key_unwrap_with_padding(aes_key, blob[size:])
    except (ValueError, InvalidUnwrap) as exc:
        raise InvalidCiphertextException(
            "The key material could not be unwrapped with the wrapping key and algorithm of this import token.") from exc
    raise InvalidCiphertextException(f"Unsupported wrapping algorithm {algorithm}.")


# --- material checks ----------------------------------------------------------------------------------

def _der_children_tags(data: bytes) -> list[int]:
    """Tags of the elements of a top-level DER SEQUENCE (enough to tell PKCS#8 from other formats)."""
    def read_len(pos: int) -> tuple[int, int]:
        first = data[pos]
        if first < 0x80:
            return first, pos + 1
        count = first & 0x7F
        if count == 0 or count > 4:
            raise ValueError("bad length")
        return int.from_bytes(data[pos + 1:pos + 1 + count], "big"), pos + 1 + count

    if not data or data[0] != 0x30:
        raise ValueError("not a SEQUENCE")
    length, pos = read_len(1)
    if pos + length != len(data):
        raise ValueError("trailing data")
    tags = []
    while pos < len(data):
        tags.append(data[pos])
        child_len, child_pos = read_len(pos + 1)
        pos = child_pos + child_len
    if pos != len(data):
        raise ValueError("bad element")
    return tags


def load_private_key_material(key_spec: str, material: bytes) -> Any:
    """The private key in an unencrypted PKCS#8 DER blob, checked against the key spec."""
    try:
        tags = _der_children_tags(material)
        # PrivateKeyInfo ::= SEQUENCE { version INTEGER, algorithm SEQUENCE, privateKey OCTET STRING, ... }
        if tags[:3] != [0x02, 0x30, 0x04]:
            raise ValueError("not PKCS#8 PrivateKeyInfo")
        private_key = serialization.load_der_private_key(material, password=None)
    except (ValueError, IndexError, TypeError) as exc:
        raise IncorrectKeyMaterialException(
            "The key material must be an unencrypted private key in PKCS#8 DER format.") from exc
    kind = key_kind(key_spec)
    if kind == "rsa":
        if not isinstance(private_key, rsa.RSAPrivateKey) or private_key.key_size != RSA_SIZES[key_spec]:
            raise IncorrectKeyMaterialException(f"The key material is not an RSA private key of {key_spec}.")
    elif kind == "ecc":
        if not isinstance(private_key, ec.EllipticCurvePrivateKey) or not isinstance(
                private_key.curve, ECC_CURVES[key_spec]):
            raise IncorrectKeyMaterialException(f"The key material is not an EC private key on the curve of {key_spec}.")
    else:
        raise IncorrectKeyMaterialException(f"Key spec {key_spec} does not take a private key.")
    return private_key


def canonical_material(key_spec: str, material: bytes) -> tuple[bytes, Any]:
    """(bytes that identify the material, loaded private key or None). Raises IncorrectKeyMaterialException."""
    kind = key_kind(key_spec)
    if kind == "symmetric":
        if len(material) != 32:
            raise IncorrectKeyMaterialException("Symmetric key material must be exactly 32 bytes (256 bits).")
        return material, None
    if kind == "hmac":
        if len(material) != HMAC_LENGTHS[key_spec]:
            raise IncorrectKeyMaterialException(
                f"Key material for {key_spec} must be exactly {HMAC_LENGTHS[key_spec]} bytes.")
        return material, None
    private_key = load_private_key_material(key_spec, material)
    canonical = private_key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return canonical, private_key


_ID_SECRET = os.urandom(32)  # per server process: material ids cannot be computed by clients


def material_id(key_id: str, canonical: bytes) -> str:
    """KeyMaterialId: 64 hex characters derived from the key id and the material."""
    return hmac.new(_ID_SECRET, key_id.encode() + b"\0" + canonical, hashlib.sha256).hexdigest()


# --- symmetric ciphertext -------------------------------------------------------------------------------

_MAGIC = b"BYOK\x01"


def encrypt_blob(key_id: str, mat_id: str, secret: bytes, plaintext: bytes, aad: bytes) -> bytes:
    """AES-256-GCM under ``secret``; the blob names the key and the material that encrypted it."""
    iv = os.urandom(12)
    sealed = AESGCM(secret).encrypt(iv, plaintext, aad)
    kid = key_id.encode()
    return _MAGIC + struct.pack(">B", len(kid)) + kid + bytes.fromhex(mat_id) + iv + sealed


def parse_blob(blob: bytes) -> tuple[str, str, bytes] | None:
    """(key id, material id, rest) of a blob made by encrypt_blob, None if it is not one."""
    if not blob.startswith(_MAGIC) or len(blob) < len(_MAGIC) + 1:
        return None
    pos = len(_MAGIC)
    kid_len = blob[pos]
    pos += 1
    if len(blob) < pos + kid_len + 32 + 12 + 16:
        raise InvalidCiphertextException("The ciphertext is malformed.")
    key_id = blob[pos:pos + kid_len].decode(errors="replace")
    pos += kid_len
    mat_id = blob[pos:pos + 32].hex()
    return key_id, mat_id, blob[pos + 32:]


def decrypt_rest(secret: bytes, rest: bytes, aad: bytes) -> bytes:
    try:
        return AESGCM(secret).decrypt(rest[:12], rest[12:], aad)
    except Exception as exc:  # cryptography raises InvalidTag
        raise InvalidCiphertextException("The ciphertext or encryption context does not match.") from exc


def encryption_context_aad(context: dict[str, str] | None) -> bytes:
    parts = []
    for key, value in sorted((context or {}).items()):
        parts.append(struct.pack(">I", len(key.encode())) + key.encode())
        parts.append(struct.pack(">I", len(value.encode())) + value.encode())
    return b"".join(parts)


def hmac_mac(key_spec: str, secret: bytes, message: bytes) -> bytes:
    digest = {"HMAC_224": hashlib.sha224, "HMAC_256": hashlib.sha256,
              "HMAC_384": hashlib.sha384, "HMAC_512": hashlib.sha512}[key_spec]
    return hmac.new(secret, message, digest).digest()
