# -*- coding: utf-8 -*-
# Copyright: byok.kms contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Key material for KMS keys with imported material: load, check, generate, describe. Private to byok.kms.

Pure functions over plain values. Key material is a secret: no function here puts it (or any part
of it) into an exception, a return value other than the material itself, or a description. Errors
name the option the material came from (``key_material`` or ``key_material_path``) and what was
expected, never the material.

What KMS imports (kms-import-facts.md, "Import, step by step"):

- SYMMETRIC_DEFAULT: exactly 32 bytes; HMAC_224/256/384/512: exactly 28/32/48/64 bytes.
- RSA_2048/3072/4096, ECC_NIST_P256/P384/P521, ECC_SECG_P256K1: the private key as unencrypted PKCS#8
  DER. :func:`load_key_material` accepts PEM or DER, PKCS#1/SEC1/PKCS#8, and converts.

Identity checks without writing to KMS use :func:`key_check_value` (symmetric), :func:`hmac_mac`
over :data:`IDENTITY_MESSAGE` (HMAC, compared with GenerateMac) and :func:`public_key_der`
(asymmetric, compared with GetPublicKey).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
from typing import Any

from ansible_collections.byok.kms.plugins.module_utils._errors import ByokError
from ansible_collections.byok.kms.plugins.module_utils._errors import ValidationError

try:
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import cmac
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.ciphers import algorithms

    HAS_CRYPTOGRAPHY = True
    CRYPTOGRAPHY_IMPORT_ERROR: str | None = None
except ImportError as _import_error:  # pragma: no cover - exercised by ansible-test sanity (import)
    HAS_CRYPTOGRAPHY = False
    CRYPTOGRAPHY_IMPORT_ERROR = str(_import_error)

SYMMETRIC_LENGTHS: dict[str, int] = {
    "SYMMETRIC_DEFAULT": 32,
    "HMAC_224": 28,
    "HMAC_256": 32,
    "HMAC_384": 48,
    "HMAC_512": 64,
}
RSA_KEY_SIZES: dict[str, int] = {"RSA_2048": 2048, "RSA_3072": 3072, "RSA_4096": 4096}
# KMS key spec -> curve name as cryptography and OpenSSL spell it (cryptography's ``curve.name``).
ECC_CURVES: dict[str, str] = {
    "ECC_NIST_P256": "secp256r1",
    "ECC_NIST_P384": "secp384r1",
    "ECC_NIST_P521": "secp521r1",
    "ECC_SECG_P256K1": "secp256k1",
}
KEY_SPECS: tuple[str, ...] = tuple(SYMMETRIC_LENGTHS) + tuple(RSA_KEY_SIZES) + tuple(ECC_CURVES)

_HMAC_HASHES: dict[str, str] = {"HMAC_224": "sha224", "HMAC_256": "sha256", "HMAC_384": "sha384", "HMAC_512": "sha512"}

IDENTITY_MESSAGE: bytes = b"byok.kms identity check v1"
"""The fixed message whose HMAC (local) is compared with KMS GenerateMac to tell whether the given HMAC
material is the material on the key. Changing it changes nothing stored: it is only ever used for a
comparison within one run."""

_PEM_BLOCK = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----.*?-----END \1-----", re.DOTALL)
_WHITESPACE = re.compile(r"\s+")


def _require_cryptography() -> None:
    if not HAS_CRYPTOGRAPHY:
        raise ByokError(f"the Python library cryptography is required for this operation: {CRYPTOGRAPHY_IMPORT_ERROR}")


def key_spec_family(key_spec: str) -> str:
    """``symmetric``, ``hmac``, ``rsa`` or ``ecc``. Raises ByokError for a key spec that cannot be imported."""
    if key_spec == "SYMMETRIC_DEFAULT":
        return "symmetric"
    if key_spec in _HMAC_HASHES:
        return "hmac"
    if key_spec in RSA_KEY_SIZES:
        return "rsa"
    if key_spec in ECC_CURVES:
        return "ecc"
    raise ByokError(f"key spec {key_spec!r} cannot hold imported key material; importable key specs: {', '.join(KEY_SPECS)}")


def _secret(length: int) -> str:
    """What ValidationError.value holds instead of a secret."""
    return f"<secret, {length} bytes>"


def decode_key_material_b64(value: str) -> bytes:
    """Decode the ``key_material`` option (standard base64; whitespace and line breaks are ignored).

    The error never echoes the value: it is a secret.
    """
    if isinstance(value, (bytes, bytearray)):
        try:
            value = bytes(value).decode("ascii")
        except UnicodeDecodeError:
            value = "\x00"  # not base64; handled below without the original
    compact = _WHITESPACE.sub("", value) if isinstance(value, str) else ""
    decoded: bytes | None = None
    if compact:
        try:
            decoded = base64.b64decode(compact, validate=True)
        except (binascii.Error, ValueError):
            decoded = None
    if not decoded:
        raise ValidationError(
            "key_material",
            _secret(len(value) if isinstance(value, str) else 0),
            "give the material as standard base64 (RFC 4648, A-Z a-z 0-9 + / and = padding)",
            message="key_material is not valid base64 (the value is not shown: it is a secret); "
            "give the material as standard base64 (RFC 4648, A-Z a-z 0-9 + / and = padding), "
            "e.g. the output of `base64 -w0 material.bin`",
        )
    return decoded


def _expected(key_spec: str) -> str:
    family = key_spec_family(key_spec)
    if family in ("symmetric", "hmac"):
        return f"exactly {SYMMETRIC_LENGTHS[key_spec]} bytes"
    if family == "rsa":
        return f"an unencrypted RSA {RSA_KEY_SIZES[key_spec]}-bit private key (PEM or DER; PKCS#1 or PKCS#8)"
    return f"an unencrypted EC private key on curve {ECC_CURVES[key_spec]} (PEM or DER; SEC1 or PKCS#8)"


def _invalid(key_spec: str, option: str, length: int, what: str) -> ValidationError:
    allowed = f"key spec {key_spec} needs {_expected(key_spec)}"
    return ValidationError(
        option,
        _secret(length),
        allowed,
        message=f"{option}: {what} (the material is not shown: it is a secret); {allowed}",
    )


def _describe_private_key(key: Any) -> str:
    if isinstance(key, rsa.RSAPrivateKey):
        return f"an RSA {key.key_size}-bit private key"
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return f"an EC private key on curve {key.curve.name}"
    return f"a {type(key).__name__.lstrip('_')} private key"


def _parse_private_key(key_spec: str, raw: bytes, option: str) -> Any:
    """The private key object in ``raw`` (PEM or DER), or a ValidationError that names ``option``."""
    _require_cryptography()
    problem: str | None = None
    key: Any = None
    blocks = [(match.group(1).decode("ascii"), match.group(0)) for match in _PEM_BLOCK.finditer(raw)]
    labels = [label for label, _block in blocks]
    private = [(label, block) for label, block in blocks if label.endswith("PRIVATE KEY")]
    if labels:
        if not private:
            problem = f"holds PEM {', '.join(repr(label) for label in labels)}, not a private key"
        elif len(private) > 1:
            problem = f"holds {len(private)} PEM private keys; give exactly one"
        elif private[0][0] == "ENCRYPTED PRIVATE KEY" or b"Proc-Type: 4,ENCRYPTED" in private[0][1]:
            problem = "is an encrypted private key; decrypt it first (e.g. `openssl pkey -in key.pem -out plain.pem`)"
        else:
            try:
                key = serialization.load_pem_private_key(private[0][1], password=None)
            except TypeError:
                problem = "is an encrypted private key; decrypt it first (e.g. `openssl pkey -in key.pem -out plain.pem`)"
            except (ValueError, UnsupportedAlgorithm):
                problem = f"holds a PEM {private[0][0]!r} block that could not be read as a private key"
    else:
        try:
            key = serialization.load_der_private_key(raw, password=None)
        except TypeError:
            problem = "is an encrypted private key; decrypt it first (e.g. `openssl pkey -inform DER -in key.der -out plain.pem`)"
        except (ValueError, UnsupportedAlgorithm):
            problem = "is neither a PEM nor a DER private key (PKCS#1, SEC1 or PKCS#8)"
    if problem is not None:
        raise _invalid(key_spec, option, len(raw), problem)
    return key


def _text_hint(raw: bytes, expected: int) -> str:
    """A hint when raw material of the wrong length is the right material written as hex or base64 text."""
    text = raw.strip()
    if len(text) == 2 * expected and re.fullmatch(rb"[0-9A-Fa-f]+", text):
        return " and looks like hex text: the material must be the raw bytes (e.g. `xxd -r -p key.hex > key.bin`)"
    try:
        decoded_length = len(base64.b64decode(text, validate=True))
    except (binascii.Error, ValueError):
        decoded_length = -1
    if decoded_length == expected:
        return " and looks like base64 text: the material must be the raw bytes (e.g. `base64 -d key.b64 > key.bin`)"
    return ""


def load_key_material(key_spec: str, raw: bytes, option: str) -> bytes:
    """The material to import for ``key_spec``, checked.

    Symmetric and HMAC: ``raw`` itself, after checking its length. RSA and ECC: ``raw`` is a PEM or
    DER private key (PKCS#1 ``RSA PRIVATE KEY``, SEC1 ``EC PRIVATE KEY`` or PKCS#8 ``PRIVATE KEY``),
    unencrypted; its type, size or curve must match the key spec; returns it as unencrypted PKCS#8 DER.
    Errors (ValidationError) name ``option`` and never contain the material.
    """
    raw = bytes(raw)
    family = key_spec_family(key_spec)
    if family in ("symmetric", "hmac"):
        expected = SYMMETRIC_LENGTHS[key_spec]
        if len(raw) != expected:
            raise _invalid(key_spec, option, len(raw), f"is {len(raw)} bytes long{_text_hint(raw, expected)}")
        return raw
    key = _parse_private_key(key_spec, raw, option)
    if family == "rsa":
        if not isinstance(key, rsa.RSAPrivateKey) or key.key_size != RSA_KEY_SIZES[key_spec]:
            raise _invalid(key_spec, option, len(raw), f"is {_describe_private_key(key)}")
    else:
        if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != ECC_CURVES[key_spec]:
            raise _invalid(key_spec, option, len(raw), f"is {_describe_private_key(key)}")
    return key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def aes_cmac(key: bytes, message: bytes) -> bytes:
    """AES-CMAC (NIST SP 800-38B, RFC 4493) of ``message`` under ``key`` (16, 24 or 32 bytes)."""
    _require_cryptography()
    mac = cmac.CMAC(algorithms.AES(bytes(key)))
    mac.update(message)
    return mac.finalize()


def key_check_value(material: bytes) -> str:
    """Key check value of AES key material: AES-CMAC over a 16-byte zero block, first 3 bytes, upper-case
    hex (6 characters), as payment HSMs and AWS Payment Cryptography publish it. Reveals nothing usable
    about the key. Symmetric (AES) material only."""
    if len(material) not in (16, 24, 32):
        raise ByokError(f"a key check value is computed for AES key material (16, 24 or 32 bytes), not for {len(material)} bytes")
    return aes_cmac(material, bytes(16))[:3].hex().upper()


def public_key_der(private_pkcs8_der: bytes) -> bytes:
    """The DER SubjectPublicKeyInfo of a private key (what KMS GetPublicKey returns as PublicKey)."""
    _require_cryptography()
    try:
        key = serialization.load_der_private_key(bytes(private_pkcs8_der), password=None)
    except (TypeError, ValueError, UnsupportedAlgorithm):
        key = None
    if key is None:
        raise ByokError("the key material is not an unencrypted DER private key (the material is not shown: it is a secret)")
    return key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def mac_algorithm(key_spec: str) -> str:
    """The KMS MacAlgorithm for an HMAC key spec: HMAC_256 -> HMAC_SHA_256."""
    if key_spec_family(key_spec) != "hmac":
        raise ByokError(f"key spec {key_spec} is not an HMAC key spec; HMAC key specs: {', '.join(_HMAC_HASHES)}")
    return "HMAC_SHA_" + key_spec.split("_", 1)[1]


def hmac_mac(key_spec: str, material: bytes, message: bytes) -> bytes:
    """HMAC of ``message`` with the hash of ``key_spec`` (HMAC_224 -> SHA-224, ...), as KMS GenerateMac
    computes it with MacAlgorithm :func:`mac_algorithm`."""
    mac_algorithm(key_spec)  # validates the key spec
    return hmac.new(bytes(material), message, _HMAC_HASHES[key_spec]).digest()


def generate_key_material(key_spec: str) -> bytes:
    """New key material for ``key_spec``: random bytes of the right length (symmetric, HMAC), or a new
    private key of the right size or curve as unencrypted PKCS#8 DER (RSA, ECC)."""
    family = key_spec_family(key_spec)
    if family in ("symmetric", "hmac"):
        return secrets.token_bytes(SYMMETRIC_LENGTHS[key_spec])
    _require_cryptography()
    if family == "rsa":
        key: Any = rsa.generate_private_key(public_exponent=65537, key_size=RSA_KEY_SIZES[key_spec])
    else:
        curve = {"ECC_NIST_P256": ec.SECP256R1, "ECC_NIST_P384": ec.SECP384R1, "ECC_NIST_P521": ec.SECP521R1, "ECC_SECG_P256K1": ec.SECP256K1}
        key = ec.generate_private_key(curve[key_spec]())
    return key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def describe_key_material(key_spec: str, material: bytes) -> dict[str, Any]:
    """Non-secret facts about checked material (as :func:`load_key_material` returns it) for results and
    diffs: family, length (symmetric, HMAC), key_check_value (symmetric), key_size (RSA), curve (ECC),
    public_key_sha256 (asymmetric: SHA-256 hex of the DER SubjectPublicKeyInfo). Never the material."""
    family = key_spec_family(key_spec)
    facts: dict[str, Any] = {"key_spec": key_spec, "family": family}
    if family in ("symmetric", "hmac"):
        facts["length"] = len(material)
        if family == "symmetric":
            facts["key_check_value"] = key_check_value(material)
        else:
            facts["mac_algorithm"] = mac_algorithm(key_spec)
        return facts
    public = public_key_der(material)
    key = serialization.load_der_public_key(public)
    if isinstance(key, rsa.RSAPublicKey):
        facts["key_size"] = key.key_size
    elif isinstance(key, ec.EllipticCurvePublicKey):
        facts["curve"] = key.curve.name
    facts["public_key_sha256"] = hashlib.sha256(public).hexdigest()
    return facts
