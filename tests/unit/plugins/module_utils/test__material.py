# -*- coding: utf-8 -*-
# Copyright: byok.kms contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""_material.py against published test vectors and the `openssl` CLI (an implementation we did not write).

Keys are made by `openssl` in a temporary directory that is removed afterwards.
"""

from __future__ import annotations

import base64
import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest

from ansible_collections.byok.kms.plugins.module_utils import _material
from ansible_collections.byok.kms.plugins.module_utils._errors import ByokError
from ansible_collections.byok.kms.plugins.module_utils._errors import ValidationError
from ansible_collections.byok.kms.plugins.module_utils._material import IDENTITY_MESSAGE
from ansible_collections.byok.kms.plugins.module_utils._material import KEY_SPECS
from ansible_collections.byok.kms.plugins.module_utils._material import aes_cmac
from ansible_collections.byok.kms.plugins.module_utils._material import decode_key_material_b64
from ansible_collections.byok.kms.plugins.module_utils._material import describe_key_material
from ansible_collections.byok.kms.plugins.module_utils._material import generate_key_material
from ansible_collections.byok.kms.plugins.module_utils._material import hmac_mac
from ansible_collections.byok.kms.plugins.module_utils._material import key_check_value
from ansible_collections.byok.kms.plugins.module_utils._material import key_spec_family
from ansible_collections.byok.kms.plugins.module_utils._material import load_key_material
from ansible_collections.byok.kms.plugins.module_utils._material import mac_algorithm
from ansible_collections.byok.kms.plugins.module_utils._material import public_key_der

needs_openssl = pytest.mark.skipif(shutil.which("openssl") is None, reason="the openssl CLI is the independent implementation")

FAMILIES = {
    "SYMMETRIC_DEFAULT": "symmetric",
    "HMAC_224": "hmac", "HMAC_256": "hmac", "HMAC_384": "hmac", "HMAC_512": "hmac",
    "RSA_2048": "rsa", "RSA_3072": "rsa", "RSA_4096": "rsa",
    "ECC_NIST_P256": "ecc", "ECC_NIST_P384": "ecc", "ECC_NIST_P521": "ecc", "ECC_SECG_P256K1": "ecc",
}
LENGTHS = {"SYMMETRIC_DEFAULT": 32, "HMAC_224": 28, "HMAC_256": 32, "HMAC_384": 48, "HMAC_512": 64}
HMAC_DIGESTS = {"HMAC_224": "SHA224", "HMAC_256": "SHA256", "HMAC_384": "SHA384", "HMAC_512": "SHA512"}
# openssl genpkey arguments for each asymmetric key we test with, and the KMS key spec it is.
GENPKEY = {
    "rsa2048": (("-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"), "RSA_2048"),
    "rsa3072": (("-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:3072"), "RSA_3072"),
    "p256": (("-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"), "ECC_NIST_P256"),
    "p384": (("-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"), "ECC_NIST_P384"),
    "p521": (("-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-521"), "ECC_NIST_P521"),
    "k256": (("-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:secp256k1"), "ECC_SECG_P256K1"),
    "ed25519": (("-algorithm", "ED25519"), None),
}


def openssl(*args: str | Path, stdin: bytes | None = None, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(["openssl", *map(str, args)], input=stdin, capture_output=True, check=False)
    if check and result.returncode != 0:
        raise AssertionError(f"openssl {' '.join(map(str, args))} failed: {result.stderr.decode(errors='replace')}")
    return result


def assert_no_secret(error: BaseException, secret: bytes) -> None:
    """The error (message, args, details, value, chained exceptions) holds the secret in no common form."""
    texts = []
    current: BaseException | None = error
    while current is not None:
        texts += [str(current), repr(current), repr(current.args), repr(getattr(current, "details", "")), repr(getattr(current, "value", ""))]
        current = current.__cause__ or current.__context__
    text = "\n".join(texts)
    forms = {secret.hex(), secret.hex().upper(), base64.b64encode(secret).decode(), repr(secret)[2:-1]}
    # pieces, in case only part of it leaked: 12-byte windows in hex and base64, and PEM body lines
    forms |= {secret[i:i + 12].hex() for i in range(0, max(len(secret) - 12, 1), 12)}
    forms |= {base64.b64encode(secret[i:i + 12]).decode() for i in range(0, max(len(secret) - 12, 1), 12)}
    if secret.startswith(b"-----BEGIN"):
        forms |= {line for line in secret.decode().splitlines() if len(line) >= 16 and not line.startswith("-----")}
    for form in forms:
        if len(form) >= 8:
            assert form not in text, "the error contains the key material"


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory):
    path = tmp_path_factory.mktemp("material")
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def keys(workdir: Path) -> dict[str, dict[str, bytes]]:
    """Each key of GENPKEY in every form an operator may bring, made by openssl, plus the unencrypted
    PKCS#8 DER openssl makes of it (`pkcs8`), the public key DER (`public`) and encrypted forms."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl CLI is the independent implementation")
    made: dict[str, dict[str, bytes]] = {}
    for name, (args, _spec) in GENPKEY.items():
        pem = workdir / f"{name}.pem"
        openssl("genpkey", *args, "-out", pem)
        forms = {
            "pkcs8_pem": pem.read_bytes(),
            "pkcs8_der": openssl("pkcs8", "-topk8", "-nocrypt", "-in", pem, "-outform", "DER").stdout,
            "public": openssl("pkey", "-in", pem, "-pubout", "-outform", "DER").stdout,
            "public_pem": openssl("pkey", "-in", pem, "-pubout").stdout,
            "encrypted_pem": openssl("pkey", "-in", pem, "-aes256", "-passout", "pass:secret-pass").stdout,
            "encrypted_der": openssl("pkcs8", "-topk8", "-v2", "aes-256-cbc", "-in", pem, "-passout", "pass:secret-pass",
                                     "-outform", "DER").stdout,
        }
        assert forms["pkcs8_pem"].startswith(b"-----BEGIN PRIVATE KEY-----")
        assert forms["encrypted_pem"].startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
        if name != "ed25519":
            forms["traditional_pem"] = openssl("pkey", "-in", pem, "-traditional").stdout
            forms["traditional_der"] = openssl("pkey", "-in", pem, "-traditional", "-outform", "DER").stdout
            forms["traditional_encrypted_pem"] = openssl("pkey", "-in", pem, "-traditional", "-aes256", "-passout", "pass:secret-pass").stdout
            label = b"RSA PRIVATE KEY" if name.startswith("rsa") else b"EC PRIVATE KEY"
            assert forms["traditional_pem"].startswith(b"-----BEGIN " + label + b"-----")
            assert b"Proc-Type: 4,ENCRYPTED" in forms["traditional_encrypted_pem"]
            assert forms["traditional_der"] != forms["pkcs8_der"]
        made[name] = forms
    return made


# key_spec_family, KEY_SPECS
def test_key_specs_and_families():
    assert set(KEY_SPECS) == set(FAMILIES)
    for spec, family in FAMILIES.items():
        assert key_spec_family(spec) == family
    for spec in ("ML_DSA_44", "SM2", "symmetric_default", ""):
        with pytest.raises(ByokError):
            key_spec_family(spec)


# decode_key_material_b64
@pytest.mark.parametrize("length", [28, 32, 64, 1219])
def test_decode_b64_round_trip(length):
    material = bytes(range(256)) * 5
    material = material[:length]
    encoded = base64.b64encode(material).decode()
    assert decode_key_material_b64(encoded) == material
    wrapped = "\n".join(encoded[i:i + 76] for i in range(0, len(encoded), 76)) + "\n"
    assert decode_key_material_b64(wrapped) == material  # `base64` output with line breaks


@pytest.mark.parametrize("value", ["c2VjcmV0LXNlY3JldC1zZWNyZXQ!", "c2VjcmV0LXNlY3JldC1zZWNyZXQ", "c2VjcmV0-XNlY3JldC1zZWNyZXQ=", "", "   ", "é" * 12])
def test_decode_b64_rejects_without_echoing(value):
    with pytest.raises(ValidationError) as caught:
        decode_key_material_b64(value)
    error = caught.value
    assert error.option == "key_material"
    assert "is not valid base64" in error.message
    for form in (value.strip(), value.strip()[:12]):
        if form:
            assert form not in error.message and form not in repr(error.value) and form not in repr(error.details)


# load_key_material: symmetric and HMAC
@pytest.mark.parametrize("spec", list(LENGTHS))
def test_load_symmetric_lengths(spec):
    length = LENGTHS[spec]
    material = bytes(range(7, 7 + length))
    assert load_key_material(spec, material, "key_material") == material
    for wrong in (length - 1, length + 1, 0, 16):
        bad = bytes(range(100, 100 + wrong))
        with pytest.raises(ValidationError) as caught:
            load_key_material(spec, bad, "key_material_path")
        error = caught.value
        assert error.option == "key_material_path" and error.message.startswith("key_material_path: ")
        assert f"{wrong} bytes" in error.message and f"exactly {length} bytes" in error.message
        assert_no_secret(error, bad)


@pytest.mark.parametrize("encode, hint", [(lambda m: m.hex().encode() + b"\n", "hex text"),
                                          (lambda m: base64.b64encode(m) + b"\n", "base64 text")])
def test_load_symmetric_hints_at_text_files(encode, hint):
    material = bytes(range(200, 232))
    with pytest.raises(ValidationError) as caught:
        load_key_material("SYMMETRIC_DEFAULT", encode(material), "key_material_path")
    assert hint in caught.value.message
    assert_no_secret(caught.value, material)


# load_key_material: RSA and ECC, every form, compared with openssl's PKCS#8 DER
FORMS = ["pkcs8_pem", "pkcs8_der", "traditional_pem", "traditional_der"]
ASYMMETRIC = [name for name, (_args, spec) in GENPKEY.items() if spec is not None]


@needs_openssl
@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("name", ASYMMETRIC)
def test_load_asymmetric_forms_give_openssl_pkcs8_der(keys, name, form):
    spec = GENPKEY[name][1]
    loaded = load_key_material(spec, keys[name][form], "key_material")
    assert loaded == keys[name]["pkcs8_der"]


@needs_openssl
@pytest.mark.parametrize("form", ["encrypted_pem", "encrypted_der", "traditional_encrypted_pem"])
@pytest.mark.parametrize("name", ["rsa2048", "p256"])
def test_load_refuses_encrypted_keys(keys, name, form):
    raw = keys[name][form]
    with pytest.raises(ValidationError) as caught:
        load_key_material(GENPKEY[name][1], raw, "key_material_path")
    error = caught.value
    assert error.option == "key_material_path" and "encrypted" in error.message
    assert "secret-pass" not in error.message
    assert_no_secret(error, raw)
    assert_no_secret(error, keys[name]["pkcs8_der"])


WRONG = [
    ("RSA_3072", "rsa2048", "RSA 2048-bit"),
    ("RSA_4096", "rsa3072", "RSA 3072-bit"),
    ("RSA_2048", "p256", "EC private key on curve secp256r1"),
    ("RSA_2048", "ed25519", "Ed25519"),
    ("ECC_NIST_P384", "p256", "curve secp256r1"),
    ("ECC_NIST_P256", "k256", "curve secp256k1"),
    ("ECC_SECG_P256K1", "p256", "curve secp256r1"),
    ("ECC_NIST_P521", "p384", "curve secp384r1"),
    ("ECC_NIST_P256", "rsa2048", "RSA 2048-bit"),
    ("ECC_NIST_P256", "ed25519", "Ed25519"),
]


@needs_openssl
@pytest.mark.parametrize("spec, name, described", WRONG)
@pytest.mark.parametrize("form", ["pkcs8_pem", "pkcs8_der"])
def test_load_refuses_wrong_type_size_or_curve(keys, spec, name, described, form):
    raw = keys[name][form]
    with pytest.raises(ValidationError) as caught:
        load_key_material(spec, raw, "key_material")
    error = caught.value
    assert error.option == "key_material"
    assert described in error.message and spec in error.message
    assert_no_secret(error, raw)
    assert_no_secret(error, keys[name]["pkcs8_der"])


@needs_openssl
@pytest.mark.parametrize("what", ["public", "public_pem", "garbage", "raw32", "truncated_der", "truncated_pem"])
def test_load_refuses_what_is_not_a_private_key(keys, what):
    raw = {
        "public": keys["p256"]["public"],
        "public_pem": keys["p256"]["public_pem"],
        "garbage": b"not a key at all, just some bytes" * 3,
        "raw32": bytes(range(32)),
        "truncated_der": keys["rsa2048"]["pkcs8_der"][:600],
        "truncated_pem": keys["rsa2048"]["pkcs8_pem"][:900] + b"\n-----END PRIVATE KEY-----\n",
    }[what]
    with pytest.raises(ValidationError) as caught:
        load_key_material("RSA_2048" if "truncated" in what else "ECC_NIST_P256", raw, "key_material_path")
    error = caught.value
    assert error.option == "key_material_path"
    assert_no_secret(error, raw)


@needs_openssl
def test_load_accepts_pem_files_as_tools_write_them(workdir, keys):
    """`openssl ecparam -genkey` (EC PARAMETERS block first), text before the block, CRLF line ends,
    a key followed by its certificate: the one private key in the file is used."""
    ecparam = openssl("ecparam", "-name", "secp384r1", "-genkey").stdout
    assert ecparam.startswith(b"-----BEGIN EC PARAMETERS-----")
    expected = openssl("pkcs8", "-topk8", "-nocrypt", "-outform", "DER", stdin=ecparam).stdout
    assert load_key_material("ECC_NIST_P384", ecparam, "key_material_path") == expected
    rsa_pem = keys["rsa2048"]["traditional_pem"]
    with_text = b"Bag Attributes\n    friendlyName: imported\n" + rsa_pem
    assert load_key_material("RSA_2048", with_text, "key_material_path") == keys["rsa2048"]["pkcs8_der"]
    crlf = keys["p256"]["pkcs8_pem"].replace(b"\n", b"\r\n")
    assert load_key_material("ECC_NIST_P256", crlf, "key_material_path") == keys["p256"]["pkcs8_der"]
    key_file = workdir / "bundle-key.pem"
    key_file.write_bytes(keys["p256"]["pkcs8_pem"])
    certificate = openssl("req", "-x509", "-new", "-key", key_file, "-subj", "/CN=byok-test", "-days", "1").stdout
    key_file.unlink()
    for bundle in (keys["p256"]["pkcs8_pem"] + certificate, certificate + keys["p256"]["pkcs8_pem"]):
        assert load_key_material("ECC_NIST_P256", bundle, "key_material_path") == keys["p256"]["pkcs8_der"]
    with pytest.raises(ValidationError) as caught:
        load_key_material("ECC_NIST_P256", certificate, "key_material_path")
    assert "'CERTIFICATE'" in caught.value.message
    two = keys["p256"]["pkcs8_pem"] + keys["p256"]["traditional_pem"]
    with pytest.raises(ValidationError) as caught:
        load_key_material("ECC_NIST_P256", two, "key_material_path")
    assert "2 PEM private keys" in caught.value.message
    assert_no_secret(caught.value, two)


def test_assert_no_secret_catches_a_leak():
    """The leak detector itself works (so the tests above can fail)."""
    secret = bytes(range(40, 72))
    for leaked in (secret.hex(), base64.b64encode(secret).decode(), secret[12:24].hex()):
        with pytest.raises(AssertionError):
            assert_no_secret(ValidationError("key_material", "x", "y", message=f"bad {leaked}"), secret)
        with pytest.raises(AssertionError):
            assert_no_secret(ByokError("bad", material=leaked), secret)


# (c) key check value: AES-CMAC, checked with published vectors and openssl
CMAC_VECTORS = [
    # RFC 4493 section 4 (AES-128), examples 1 and 2
    ("2b7e151628aed2a6abf7158809cf4f3c", "", "bb1d6929e95937287fa37d129b756746"),
    ("2b7e151628aed2a6abf7158809cf4f3c", "6bc1bee22e409f96e93d7e117393172a", "070a16b46b4d4144f79bdd9dd04a287c"),
    # NIST SP 800-38B appendix D.3 (AES-256), examples 9 and 10
    ("603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4", "", "028962f61b7bf89efc6b551f4667d983"),
    ("603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4", "6bc1bee22e409f96e93d7e117393172a",
     "28a7023f452e8f82bd4bf28d8c37c35c"),
]


@pytest.mark.parametrize("key, message, tag", CMAC_VECTORS)
def test_aes_cmac_published_vectors(key, message, tag):
    assert aes_cmac(bytes.fromhex(key), bytes.fromhex(message)).hex() == tag


@needs_openssl
@pytest.mark.parametrize("key, message, tag", CMAC_VECTORS)
def test_openssl_cmac_agrees_with_published_vectors(workdir, key, message, tag):
    """The oracle of the KCV test is itself right."""
    cipher = "AES-128-CBC" if len(key) == 32 else "AES-256-CBC"
    result = openssl("mac", "-cipher", cipher, "-macopt", f"hexkey:{key}", "CMAC", stdin=bytes.fromhex(message))
    assert result.stdout.decode().strip().lower() == tag


@needs_openssl
@pytest.mark.parametrize("round_", range(6))
def test_key_check_value_matches_openssl_cmac(round_):
    material = openssl("rand", "32").stdout if round_ else bytes.fromhex(CMAC_VECTORS[2][0])
    tag = openssl("mac", "-cipher", "AES-256-CBC", "-macopt", f"hexkey:{material.hex()}", "CMAC", stdin=bytes(16)).stdout.decode().strip()
    kcv = key_check_value(material)
    assert kcv == tag.upper()[:6]
    assert len(kcv) == 6 and kcv == kcv.upper()


def test_key_check_value_of_the_sp800_38b_key():
    """A fixed answer for a fixed key (from the test above via openssl; guards against a change of method,
    e.g. AES-ECB of a zero block, the older DES-style KCV, which gives a different value)."""
    key = bytes.fromhex(CMAC_VECTORS[2][0])
    assert key_check_value(key) == aes_cmac(key, bytes(16))[:3].hex().upper()
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes  # the method KCV must not use
    encryptor = Cipher(algorithms.AES(key), modes.ECB()).encryptor()  # nosec - a comparison only
    ecb_kcv = (encryptor.update(bytes(16)) + encryptor.finalize())[:3].hex().upper()
    assert key_check_value(key) != ecb_kcv


@pytest.mark.parametrize("length", [0, 28, 31, 33, 64])
def test_key_check_value_is_for_aes_keys_only(length):
    with pytest.raises(ByokError) as caught:
        key_check_value(bytes(range(length)))
    assert_no_secret(caught.value, bytes(range(length)))


# (d) HMAC, checked with openssl
def test_identity_message_is_the_documented_one():
    assert IDENTITY_MESSAGE == b"byok.kms identity check v1"


@pytest.mark.parametrize("spec, expected", [("HMAC_224", "HMAC_SHA_224"), ("HMAC_256", "HMAC_SHA_256"),
                                            ("HMAC_384", "HMAC_SHA_384"), ("HMAC_512", "HMAC_SHA_512")])
def test_mac_algorithm(spec, expected):
    assert mac_algorithm(spec) == expected


@pytest.mark.parametrize("spec", ["SYMMETRIC_DEFAULT", "RSA_2048", "ECC_NIST_P256", "NOPE"])
def test_mac_algorithm_refuses_other_specs(spec):
    with pytest.raises(ByokError):
        mac_algorithm(spec)
    with pytest.raises(ByokError):
        hmac_mac(spec, bytes(32), IDENTITY_MESSAGE)


@needs_openssl
@pytest.mark.parametrize("spec", list(HMAC_DIGESTS))
@pytest.mark.parametrize("message", [IDENTITY_MESSAGE, b"", b"x" * 300])
def test_hmac_matches_openssl(spec, message):
    material = openssl("rand", str(LENGTHS[spec])).stdout
    theirs = openssl("mac", "-digest", HMAC_DIGESTS[spec], "-macopt", f"hexkey:{material.hex()}", "HMAC", stdin=message).stdout.decode().strip()
    ours = hmac_mac(spec, material, message)
    assert ours.hex().upper() == theirs.upper()
    assert len(ours) == int(spec.split("_")[1]) // 8
    # `openssl dgst -hmac` as well (the key as a string: only for a key with no NUL and valid UTF-8)
    text_key = "0123456789abcdef0123456789abcdef"[:LENGTHS[spec] // 2] * 2
    dgst = openssl("dgst", f"-{HMAC_DIGESTS[spec].lower()}", "-hmac", text_key, "-r", stdin=message).stdout.decode().split()[0]
    assert hmac_mac(spec, text_key.encode(), message).hex() == dgst


# (e) public key, checked with openssl
@needs_openssl
@pytest.mark.parametrize("name", ASYMMETRIC + ["ed25519"])
def test_public_key_der_matches_openssl(keys, name):
    assert public_key_der(keys[name]["pkcs8_der"]) == keys[name]["public"]
    assert public_key_der(keys[name]["traditional_der" if name != "ed25519" else "pkcs8_der"]) == keys[name]["public"]


def test_public_key_der_refuses_non_keys():
    with pytest.raises(ByokError) as caught:
        public_key_der(bytes(range(48)))
    assert_no_secret(caught.value, bytes(range(48)))


# generate_key_material, checked with openssl
@pytest.mark.parametrize("spec", list(LENGTHS))
def test_generate_symmetric(spec):
    first, second = generate_key_material(spec), generate_key_material(spec)
    assert len(first) == len(second) == LENGTHS[spec]
    assert first != second
    assert load_key_material(spec, first, "key_material") == first


OPENSSL_TEXT = {
    "RSA_2048": "Private-Key: (2048 bit", "RSA_3072": "Private-Key: (3072 bit", "RSA_4096": "Private-Key: (4096 bit",
    "ECC_NIST_P256": "ASN1 OID: prime256v1", "ECC_NIST_P384": "ASN1 OID: secp384r1",
    "ECC_NIST_P521": "ASN1 OID: secp521r1", "ECC_SECG_P256K1": "ASN1 OID: secp256k1",
}


@needs_openssl
@pytest.mark.parametrize("spec", list(OPENSSL_TEXT))
def test_generate_asymmetric_is_pkcs8_der_of_the_right_size_or_curve(workdir, spec):
    material = generate_key_material(spec)
    path = workdir / f"generated-{spec}.der"
    path.write_bytes(material)
    try:
        text = openssl("pkey", "-inform", "DER", "-in", path, "-noout", "-text").stdout.decode()
        assert OPENSSL_TEXT[spec] in text
        # openssl's own unencrypted PKCS#8 DER of it is byte for byte what we made
        assert openssl("pkcs8", "-topk8", "-nocrypt", "-inform", "DER", "-in", path, "-outform", "DER").stdout == material
        public = openssl("pkey", "-inform", "DER", "-in", path, "-pubout", "-outform", "DER").stdout
    finally:
        path.unlink()
    assert load_key_material(spec, material, "key_material") == material
    assert public_key_der(material) == public
    assert generate_key_material(spec) != material if spec.startswith("ECC") else True


# describe_key_material
@needs_openssl
def test_describe_symmetric_and_hmac():
    material = openssl("rand", "32").stdout
    facts = describe_key_material("SYMMETRIC_DEFAULT", material)
    expected_kcv = openssl("mac", "-cipher", "AES-256-CBC", "-macopt", f"hexkey:{material.hex()}", "CMAC",
                           stdin=bytes(16)).stdout.decode().strip()[:6].upper()
    assert facts == {"key_spec": "SYMMETRIC_DEFAULT", "family": "symmetric", "length": 32, "key_check_value": expected_kcv}
    facts = describe_key_material("HMAC_256", material)
    assert facts["family"] == "hmac" and facts["length"] == 32 and "key_check_value" not in facts
    for value in describe_key_material("SYMMETRIC_DEFAULT", material).values():
        assert material.hex() not in str(value).lower()


@needs_openssl
@pytest.mark.parametrize("name, key_fact", [("rsa2048", {"key_size": 2048}), ("rsa3072", {"key_size": 3072}),
                                            ("p256", {"curve": "secp256r1"}), ("p521", {"curve": "secp521r1"}),
                                            ("k256", {"curve": "secp256k1"})])
def test_describe_asymmetric(keys, name, key_fact):
    spec = GENPKEY[name][1]
    facts = describe_key_material(spec, keys[name]["pkcs8_der"])
    assert facts == {"key_spec": spec, "family": _material.key_spec_family(spec), **key_fact,
                     "public_key_sha256": hashlib.sha256(keys[name]["public"]).hexdigest()}
