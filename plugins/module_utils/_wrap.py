# -*- coding: utf-8 -*-
# Copyright: byok.kms contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Wrapping key material for KMS ImportKeyMaterial. Private to byok.kms.

The four wrapping algorithms KMS accepts (kms-import-facts.md, "Import, step by step", step 2):

- ``RSAES_OAEP_SHA_256`` / ``RSAES_OAEP_SHA_1``: RSA-OAEP with the public key from
  GetParametersForImport; the OAEP hash and the MGF1 hash are both SHA-256 / both SHA-1; empty label.
- ``RSA_AES_KEY_WRAP_SHA_256`` / ``RSA_AES_KEY_WRAP_SHA_1``: a random 32-byte AES key wraps the material
  with AES key wrap with padding (RFC 5649); the AES key is encrypted with RSA-OAEP as above; the
  result is the RSA part (exactly the modulus length) followed by the wrapped material.

These are the same operations as AWS's guide does with ``openssl pkeyutl -encrypt ... -pkeyopt
rsa_padding_mode:oaep -pkeyopt rsa_oaep_md:sha256 -pkeyopt rsa_mgf1_md:sha256`` and ``openssl enc
-id-aes256-wrap-pad -K <hex> -iv A65959A6``; the unit tests check both directions against that CLI.
"""

from __future__ import annotations

import os

from ansible_collections.byok.kms.plugins.module_utils._errors import ByokError
from ansible_collections.byok.kms.plugins.module_utils._errors import ValidationError
from ansible_collections.byok.kms.plugins.module_utils._material import key_spec_family

try:
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import padding
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.keywrap import aes_key_wrap_with_padding

    HAS_CRYPTOGRAPHY = True
    CRYPTOGRAPHY_IMPORT_ERROR: str | None = None
except ImportError as _import_error:  # pragma: no cover - exercised by ansible-test sanity (import)
    HAS_CRYPTOGRAPHY = False
    CRYPTOGRAPHY_IMPORT_ERROR = str(_import_error)

OAEP_ALGORITHMS: tuple[str, ...] = ("RSAES_OAEP_SHA_256", "RSAES_OAEP_SHA_1")
KEY_WRAP_ALGORITHMS: tuple[str, ...] = ("RSA_AES_KEY_WRAP_SHA_256", "RSA_AES_KEY_WRAP_SHA_1")
WRAPPING_ALGORITHMS: tuple[str, ...] = OAEP_ALGORITHMS + KEY_WRAP_ALGORITHMS
WRAPPING_KEY_SPECS: tuple[str, ...] = ("RSA_2048", "RSA_3072", "RSA_4096")
DEFAULT_WRAPPING_KEY_SPEC = "RSA_4096"
"""The wrapping key spec AWS prefers."""

WRAPPING_KEY_BITS: dict[str, int] = {"RSA_2048": 2048, "RSA_3072": 3072, "RSA_4096": 4096}
AES_KEY_LENGTH = 32
"""Length of the one-time AES key of RSA_AES_KEY_WRAP_* (AES-256, as ``-id-aes256-wrap-pad``)."""

# Hash name and digest length (hLen) of each algorithm's OAEP step.
_HASH: dict[str, tuple[str, int]] = {
    "RSAES_OAEP_SHA_256": ("sha256", 32),
    "RSAES_OAEP_SHA_1": ("sha1", 20),
    "RSA_AES_KEY_WRAP_SHA_256": ("sha256", 32),
    "RSA_AES_KEY_WRAP_SHA_1": ("sha1", 20),
}


def _require_cryptography() -> None:
    if not HAS_CRYPTOGRAPHY:
        raise ByokError(f"the Python library cryptography is required to wrap key material: {CRYPTOGRAPHY_IMPORT_ERROR}")


def allowed_wrapping_algorithms(key_spec: str) -> tuple[str, ...]:
    """Wrapping algorithms KMS accepts for material of ``key_spec``: symmetric and HMAC material is
    wrapped with RSAES_OAEP_*, RSA private keys with RSA_AES_KEY_WRAP_*, EC private keys with either."""
    family = key_spec_family(key_spec)
    if family in ("symmetric", "hmac"):
        return OAEP_ALGORITHMS
    if family == "rsa":
        return KEY_WRAP_ALGORITHMS
    return WRAPPING_ALGORITHMS


def default_wrapping_algorithm(key_spec: str) -> str:
    """RSAES_OAEP_SHA_256 for symmetric and HMAC material, RSA_AES_KEY_WRAP_SHA_256 for RSA and ECC
    (key wrap fits every EC key whatever the wrapping key size)."""
    family = key_spec_family(key_spec)
    return "RSAES_OAEP_SHA_256" if family in ("symmetric", "hmac") else "RSA_AES_KEY_WRAP_SHA_256"


def oaep_capacity(wrapping_key_spec: str, algorithm: str) -> int:
    """Largest plaintext (bytes) RSA-OAEP encrypts with this wrapping key and hash: k - 2*hLen - 2."""
    k = WRAPPING_KEY_BITS[wrapping_key_spec] // 8
    return k - 2 * _HASH[algorithm][1] - 2


def _check_choice(option: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValidationError(option, value, f"allowed: {', '.join(choices)}")


def check_wrapping(key_spec: str, material_length: int, algorithm: str, wrapping_key_spec: str) -> None:
    """Fail (ValidationError naming ``wrapping_algorithm`` or ``wrapping_key_spec``) before any call to
    KMS when ``algorithm`` is unknown or not allowed for ``key_spec``, ``wrapping_key_spec`` is unknown,
    or the material (``material_length`` bytes) does not fit the OAEP capacity of the wrapping key."""
    _check_choice("wrapping_algorithm", algorithm, WRAPPING_ALGORITHMS)
    _check_choice("wrapping_key_spec", wrapping_key_spec, WRAPPING_KEY_SPECS)
    allowed = allowed_wrapping_algorithms(key_spec)
    if algorithm not in allowed:
        raise ValidationError(
            "wrapping_algorithm", algorithm, f"allowed for key spec {key_spec}: {', '.join(allowed)}"
        )
    if algorithm in OAEP_ALGORITHMS:
        capacity = oaep_capacity(wrapping_key_spec, algorithm)
        if material_length > capacity:
            fitting = [spec for spec in WRAPPING_KEY_SPECS if oaep_capacity(spec, algorithm) >= material_length]
            key_wrap = [a for a in allowed if a in KEY_WRAP_ALGORITHMS]
            alternatives = []
            if fitting:
                alternatives.append(f"wrapping_key_spec {' or '.join(fitting)}")
            if key_wrap:
                alternatives.append(f"wrapping_algorithm {' or '.join(key_wrap)}")
            option, value = ("wrapping_key_spec", wrapping_key_spec) if fitting else ("wrapping_algorithm", algorithm)
            what = "; use " + ", or ".join(alternatives) if alternatives else ""
            raise ValidationError(
                option,
                value,
                f"{algorithm} with {wrapping_key_spec} wraps at most {capacity} bytes, the {key_spec} material is "
                f"{material_length} bytes{what}",
            )


def load_wrapping_public_key(public_key_der: bytes) -> rsa.RSAPublicKey:
    """The RSA public key from GetParametersForImport (DER SubjectPublicKeyInfo); ByokError unless it is
    an RSA 2048, 3072 or 4096-bit key."""
    _require_cryptography()
    key = None
    try:
        key = serialization.load_der_public_key(bytes(public_key_der))
    except (ValueError, UnsupportedAlgorithm, TypeError):
        key = None
    if key is None:
        raise ByokError("the wrapping public key is not a DER SubjectPublicKeyInfo (as GetParametersForImport returns it)")
    if not isinstance(key, rsa.RSAPublicKey):
        raise ByokError(f"the wrapping public key is a {type(key).__name__} key, not RSA")
    if key.key_size not in WRAPPING_KEY_BITS.values():
        raise ByokError(f"the wrapping public key is RSA {key.key_size} bits; KMS wrapping keys are RSA 2048, 3072 or 4096 bits")
    return key


def _oaep(algorithm: str) -> padding.OAEP:
    hash_algorithm = hashes.SHA256() if _HASH[algorithm][0] == "sha256" else hashes.SHA1()  # nosec - SHA-1 OAEP is a KMS option
    return padding.OAEP(mgf=padding.MGF1(algorithm=hash_algorithm), algorithm=hash_algorithm, label=None)


def _random_aes_key() -> bytearray:
    """A new random AES key in a bytearray (wiped by the caller). Read straight into the bytearray where
    the OS allows, so that no immutable copy of the key is left behind."""
    key = bytearray(AES_KEY_LENGTH)
    try:
        with open("/dev/urandom", "rb", buffering=0) as source:
            filled = source.readinto(key)
    except OSError:
        filled = 0
    if filled != AES_KEY_LENGTH:
        key[:] = os.urandom(AES_KEY_LENGTH)
    return key


def wrap_key_material(material: bytes, public_key_der: bytes, algorithm: str) -> bytes:
    """EncryptedKeyMaterial for ImportKeyMaterial: ``material`` wrapped with the RSA public key from
    GetParametersForImport (DER SubjectPublicKeyInfo) by ``algorithm`` (one of WRAPPING_ALGORITHMS).

    For RSA_AES_KEY_WRAP_* the one-time AES key lives in a bytearray that is zeroed before returning;
    it is never returned. (cryptography's RSA encrypt only takes ``bytes``, so one short-lived immutable
    copy exists for the duration of that call; Python gives no way to wipe it.)
    """
    _check_choice("wrapping_algorithm", algorithm, WRAPPING_ALGORITHMS)
    public_key = load_wrapping_public_key(public_key_der)
    if algorithm in OAEP_ALGORITHMS:
        k = public_key.key_size // 8
        capacity = k - 2 * _HASH[algorithm][1] - 2
        if len(material) > capacity:
            raise ValidationError(
                "wrapping_algorithm",
                algorithm,
                f"{algorithm} with an RSA {public_key.key_size}-bit wrapping key wraps at most {capacity} bytes, "
                f"the material is {len(material)} bytes",
            )
        return public_key.encrypt(bytes(material), _oaep(algorithm))
    aes_key = _random_aes_key()
    try:
        wrapped_material = aes_key_wrap_with_padding(aes_key, bytes(material))
        wrapped_aes_key = public_key.encrypt(bytes(aes_key), _oaep(algorithm))
    finally:
        aes_key[:] = bytes(len(aes_key))
    return wrapped_aes_key + wrapped_material
