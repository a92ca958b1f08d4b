# -*- coding: utf-8 -*-
# Copyright: byok.kms contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Local KMS server, issue 3: GetParametersForImport, ImportKeyMaterial, DeleteImportedKeyMaterial,
rotation of imported material, and real use of the imported material.

Wrapping is done here with ``cryptography`` (kms_server.testing.wrap), independently of the collection.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from datetime import datetime, timedelta, timezone

import pytest
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from kms_server.testing import client, control, error_code, import_material, wrap

OAEP = ["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"]
KEY_WRAP = ["RSA_AES_KEY_WRAP_SHA_1", "RSA_AES_KEY_WRAP_SHA_256"]
NEVER = "KEY_MATERIAL_DOES_NOT_EXPIRE"


@pytest.fixture(scope="module")
def ec_p256():
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture(scope="module")
def rsa_2048():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def pkcs8(private_key) -> bytes:
    return private_key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption())


def spki(private_key) -> bytes:
    return private_key.public_key().public_bytes(serialization.Encoding.DER,
                                                 serialization.PublicFormat.SubjectPublicKeyInfo)


def expect(code, call, *args, **kwargs):
    with pytest.raises(ClientError) as info:
        call(*args, **kwargs)
    assert error_code(info.value) == code, info.value
    return info.value


def external(kms, key_spec="SYMMETRIC_DEFAULT", **kwargs):
    usage = {"SYMMETRIC_DEFAULT": "ENCRYPT_DECRYPT", "HMAC_224": "GENERATE_VERIFY_MAC",
             "HMAC_256": "GENERATE_VERIFY_MAC", "HMAC_384": "GENERATE_VERIFY_MAC",
             "HMAC_512": "GENERATE_VERIFY_MAC"}.get(key_spec, "SIGN_VERIFY")
    return kms.create_key(Origin="EXTERNAL", KeySpec=key_spec, KeyUsage=usage, **kwargs)["KeyMetadata"]


def state(kms, key_id):
    return kms.describe_key(KeyId=key_id)["KeyMetadata"]


def params(kms, key_id, algorithm="RSAES_OAEP_SHA_256", spec="RSA_2048"):
    return kms.get_parameters_for_import(KeyId=key_id, WrappingAlgorithm=algorithm, WrappingKeySpec=spec)


def import_with(kms, key_id, parameters, blob, **extra):
    request = {"KeyId": key_id, "ImportToken": parameters["ImportToken"], "EncryptedKeyMaterial": blob,
               "ExpirationModel": NEVER}
    request.update(extra)
    return kms.import_key_material(**request)


# -- GetParametersForImport ------------------------------------------------------------------------------

@pytest.mark.parametrize("spec,bits", [("RSA_2048", 2048), ("RSA_3072", 3072), ("RSA_4096", 4096)])
def test_parameters_are_a_real_rsa_public_key_and_a_24h_token(kms, spec, bits):
    key = external(kms)
    before = datetime.now(timezone.utc)
    result = params(kms, key["Arn"], spec=spec)
    public_key = serialization.load_der_public_key(result["PublicKey"])
    assert isinstance(public_key, rsa.RSAPublicKey) and public_key.key_size == bits
    assert result["KeyId"] == key["Arn"]
    valid_to = result["ParametersValidTo"]
    assert before + timedelta(hours=23, minutes=59) < valid_to < before + timedelta(hours=24, minutes=1)


def test_each_call_returns_a_new_token_and_consecutive_calls_a_new_public_key(kms):
    key = external(kms)
    first, second = params(kms, key["KeyId"]), params(kms, key["KeyId"])
    assert first["ImportToken"] != second["ImportToken"]
    assert first["PublicKey"] != second["PublicKey"]


def test_parameters_allowed_states_and_origins(kms):
    key = external(kms)
    params(kms, key["KeyId"])  # PendingImport
    import_material(kms, key["KeyId"], os.urandom(32))
    params(kms, key["KeyId"])  # Enabled
    kms.disable_key(KeyId=key["KeyId"])
    params(kms, key["KeyId"])  # Disabled
    kms.schedule_key_deletion(KeyId=key["KeyId"], PendingWindowInDays=7)
    expect("KMSInvalidStateException", params, kms, key["KeyId"])
    aws_key = kms.create_key()["KeyMetadata"]
    expect("UnsupportedOperationException", params, kms, aws_key["KeyId"])
    kms.create_alias(AliasName="alias/params-by-alias", TargetKeyId=external(kms)["KeyId"])
    expect("NotFoundException", params, kms, "alias/params-by-alias")


@pytest.mark.parametrize("spec,algorithm", [
    ("SYMMETRIC_DEFAULT", "RSA_AES_KEY_WRAP_SHA_256"), ("HMAC_256", "RSA_AES_KEY_WRAP_SHA_1"),
    ("RSA_2048", "RSAES_OAEP_SHA_256"), ("RSA_3072", "RSAES_OAEP_SHA_1"),
])
def test_algorithm_not_allowed_for_key_spec(kms, spec, algorithm):
    key = external(kms, spec)
    expect("UnsupportedOperationException", params, kms, key["KeyId"], algorithm)


def test_retired_algorithm_is_rejected(kms):
    key = external(kms)
    expect("ValidationException", params, kms, key["KeyId"], "RSAES_PKCS1_V1_5")


# -- import and real use, per algorithm and key type --------------------------------------------------------

@pytest.mark.parametrize("algorithm", OAEP)
def test_symmetric_import_and_use(kms, algorithm):
    key = external(kms, Description="sym")
    material = os.urandom(32)
    result = import_material(kms, key["Arn"], material, algorithm=algorithm, valid_days=30)
    assert result["KeyId"] == key["Arn"] and len(result["KeyMaterialId"]) == 64
    meta = state(kms, key["KeyId"])
    assert meta["KeyState"] == "Enabled" and meta["Enabled"] is True
    assert meta["ExpirationModel"] == "KEY_MATERIAL_EXPIRES"
    assert timedelta(days=29) < meta["ValidTo"] - datetime.now(timezone.utc) <= timedelta(days=30)
    assert meta["CurrentKeyMaterialId"] == result["KeyMaterialId"]
    blob = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"hello", EncryptionContext={"a": "b"})["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=blob, EncryptionContext={"a": "b"})["Plaintext"] == b"hello"
    expect("InvalidCiphertextException", kms.decrypt, CiphertextBlob=blob, EncryptionContext={"a": "c"})
    # the ciphertext really is AES-GCM under the imported material (server format: see _crypto.encrypt_blob)
    kid = key["KeyId"].encode()
    offset = 5 + 1 + len(kid) + 32
    nonce, sealed = blob[offset:offset + 12], blob[offset + 12:]
    aad = len(b"a").to_bytes(4, "big") + b"a" + len(b"b").to_bytes(4, "big") + b"b"
    assert AESGCM(material).decrypt(nonce, sealed, aad) == b"hello"


def test_data_keys_and_reencrypt_use_imported_material(kms):
    key = external(kms)
    import_material(kms, key["KeyId"], os.urandom(32))
    data = kms.generate_data_key(KeyId=key["KeyId"], KeySpec="AES_256")
    assert kms.decrypt(CiphertextBlob=data["CiphertextBlob"])["Plaintext"] == data["Plaintext"]
    blob = kms.generate_data_key_without_plaintext(KeyId=key["Arn"], NumberOfBytes=16)["CiphertextBlob"]
    assert len(kms.decrypt(CiphertextBlob=blob)["Plaintext"]) == 16
    other = kms.create_key()["KeyMetadata"]
    moved = kms.re_encrypt(CiphertextBlob=data["CiphertextBlob"], DestinationKeyId=other["KeyId"])
    assert moved["SourceKeyId"] == key["Arn"]
    assert kms.decrypt(CiphertextBlob=moved["CiphertextBlob"])["Plaintext"] == data["Plaintext"]


@pytest.mark.parametrize("spec,length,algorithm", [
    ("HMAC_224", 28, "RSAES_OAEP_SHA_1"), ("HMAC_256", 32, "RSAES_OAEP_SHA_256"),
    ("HMAC_384", 48, "RSAES_OAEP_SHA_256"), ("HMAC_512", 64, "RSAES_OAEP_SHA_1"),
])
def test_hmac_import_and_use(kms, spec, length, algorithm):
    key = external(kms, spec)
    material = os.urandom(length)
    result = import_material(kms, key["KeyId"], material, algorithm=algorithm)
    assert "KeyMaterialId" not in result
    meta = state(kms, key["KeyId"])
    assert meta["KeyState"] == "Enabled" and "CurrentKeyMaterialId" not in meta
    mac_algorithm = meta["MacAlgorithms"][0]
    digest = getattr(hashlib, "sha" + mac_algorithm.rsplit("_", 1)[1])
    mac = kms.generate_mac(KeyId=key["KeyId"], Message=b"msg", MacAlgorithm=mac_algorithm)["Mac"]
    assert mac == hmac.new(material, b"msg", digest).digest()
    assert kms.verify_mac(KeyId=key["KeyId"], Message=b"msg", MacAlgorithm=mac_algorithm, Mac=mac)["MacValid"]
    expect("KMSInvalidMacException", kms.verify_mac, KeyId=key["KeyId"], Message=b"other",
           MacAlgorithm=mac_algorithm, Mac=mac)


@pytest.mark.parametrize("algorithm,wrapping_spec", [(KEY_WRAP[0], "RSA_2048"), (KEY_WRAP[1], "RSA_3072")])
def test_rsa_import_and_use(kms, rsa_2048, algorithm, wrapping_spec):
    key = external(kms, "RSA_2048")
    import_material(kms, key["KeyId"], pkcs8(rsa_2048), algorithm=algorithm, wrapping_key_spec=wrapping_spec)
    assert state(kms, key["KeyId"])["KeyState"] == "Enabled"
    public = kms.get_public_key(KeyId=key["Arn"])
    assert public["PublicKey"] == spki(rsa_2048) and public["KeyId"] == key["Arn"]
    signature = kms.sign(KeyId=key["KeyId"], Message=b"msg", SigningAlgorithm="RSASSA_PKCS1_V1_5_SHA_256")["Signature"]
    rsa_2048.public_key().verify(signature, b"msg", padding.PKCS1v15(), hashes.SHA256())
    assert kms.verify(KeyId=key["KeyId"], Message=b"msg", Signature=signature,
                      SigningAlgorithm="RSASSA_PKCS1_V1_5_SHA_256")["SignatureValid"]


@pytest.mark.parametrize("algorithm", OAEP + KEY_WRAP)
def test_ecc_import_and_use(kms, ec_p256, algorithm):
    key = external(kms, "ECC_NIST_P256")
    import_material(kms, key["KeyId"], pkcs8(ec_p256), algorithm=algorithm)
    assert kms.get_public_key(KeyId=key["KeyId"])["PublicKey"] == spki(ec_p256)
    signature = kms.sign(KeyId=key["KeyId"], Message=b"msg", SigningAlgorithm="ECDSA_SHA_256")["Signature"]
    ec_p256.public_key().verify(signature, b"msg", ec.ECDSA(hashes.SHA256()))


def test_wrapping_key_4096_with_key_wrap(kms):
    key = external(kms, "ECC_NIST_P384")
    private_key = ec.generate_private_key(ec.SECP384R1())
    import_material(kms, key["KeyId"], pkcs8(private_key), algorithm=KEY_WRAP[1], wrapping_key_spec="RSA_4096")
    assert kms.get_public_key(KeyId=key["KeyId"])["PublicKey"] == spki(private_key)


# -- token --------------------------------------------------------------------------------------------------

def test_token_is_bound_to_its_key_and_single_use(kms):
    key, other = external(kms), external(kms)
    material = os.urandom(32)
    p = params(kms, key["KeyId"])
    blob = wrap(p["PublicKey"], "RSAES_OAEP_SHA_256", material)
    expect("InvalidImportTokenException", import_with, kms, other["KeyId"], p, blob)
    expect("InvalidImportTokenException", import_with, kms, key["KeyId"], {"ImportToken": b"garbage"}, blob)
    import_with(kms, key["KeyId"], p, blob)
    expect("InvalidImportTokenException", import_with, kms, key["KeyId"], p, blob)
    assert state(kms, other["KeyId"])["KeyState"] == "PendingImport"


def test_wrong_public_key_or_algorithm_is_invalid_ciphertext(kms):
    key = external(kms)
    material = os.urandom(32)
    first, second = params(kms, key["KeyId"]), params(kms, key["KeyId"])
    expect("InvalidCiphertextException", import_with, kms, key["KeyId"], second,
           wrap(first["PublicKey"], "RSAES_OAEP_SHA_256", material))
    expect("InvalidCiphertextException", import_with, kms, key["KeyId"], second,
           wrap(second["PublicKey"], "RSAES_OAEP_SHA_1", material))
    ecc = external(kms, "ECC_NIST_P256")
    p = params(kms, ecc["KeyId"], KEY_WRAP[1])
    good = wrap(p["PublicKey"], KEY_WRAP[1], pkcs8(ec.generate_private_key(ec.SECP256R1())))
    swapped = good[256:] + good[:256]  # wrong concatenation order
    expect("InvalidCiphertextException", import_with, kms, ecc["KeyId"], p, swapped)
    assert state(kms, key["KeyId"])["KeyState"] == "PendingImport"


def test_expired_token_by_clock(kms_endpoint):
    kms = client(kms_endpoint)
    key = external(kms)
    p = params(kms, key["KeyId"])
    blob = wrap(p["PublicKey"], "RSAES_OAEP_SHA_256", os.urandom(32))
    control(kms_endpoint, "clock", {"advance_seconds": 86401})
    expect("ExpiredImportTokenException", import_with, kms, key["KeyId"], p, blob)
    control(kms_endpoint, "reset-controls", {})
    import_with(kms, key["KeyId"], p, blob)  # the same token is valid again on the real clock
    assert state(kms, key["KeyId"])["KeyState"] == "Enabled"


def test_expired_token_by_lifetime(kms_endpoint):
    kms = client(kms_endpoint)
    assert control(kms_endpoint, "config", {"import_token_lifetime_seconds": 0})["import_token_lifetime_seconds"] == 0
    key = external(kms)
    p = params(kms, key["KeyId"])
    expect("ExpiredImportTokenException", import_with, kms, key["KeyId"], p,
           wrap(p["PublicKey"], "RSAES_OAEP_SHA_256", os.urandom(32)))


# -- material checks -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("spec,material", [
    ("SYMMETRIC_DEFAULT", os.urandom(31)), ("SYMMETRIC_DEFAULT", os.urandom(33)),
    ("HMAC_256", os.urandom(28)), ("HMAC_512", os.urandom(32)),
])
def test_wrong_length_is_incorrect_key_material(kms, spec, material):
    key = external(kms, spec)
    expect("IncorrectKeyMaterialException", import_material, kms, key["KeyId"], material)
    assert state(kms, key["KeyId"])["KeyState"] == "PendingImport"


def test_wrong_private_keys_are_incorrect_key_material(kms, rsa_2048, ec_p256):
    ecc = external(kms, "ECC_NIST_P256")
    wrong_curve = pkcs8(ec.generate_private_key(ec.SECP384R1()))
    expect("IncorrectKeyMaterialException", import_material, kms, ecc["KeyId"], wrong_curve, algorithm=KEY_WRAP[1])
    expect("IncorrectKeyMaterialException", import_material, kms, ecc["KeyId"], pkcs8(rsa_2048), algorithm=KEY_WRAP[1])
    sec1 = ec_p256.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.TraditionalOpenSSL,
                                 serialization.NoEncryption())
    expect("IncorrectKeyMaterialException", import_material, kms, ecc["KeyId"], sec1, algorithm=KEY_WRAP[1])
    rsa_key = external(kms, "RSA_3072")
    expect("IncorrectKeyMaterialException", import_material, kms, rsa_key["KeyId"], pkcs8(rsa_2048),
           algorithm=KEY_WRAP[0])
    encrypted = rsa_2048.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                       serialization.BestAvailableEncryption(b"pw"))
    rsa_2048_key = external(kms, "RSA_2048")
    expect("IncorrectKeyMaterialException", import_material, kms, rsa_2048_key["KeyId"], encrypted,
           algorithm=KEY_WRAP[0])
    for key in (ecc, rsa_key, rsa_2048_key):
        assert state(kms, key["KeyId"])["KeyState"] == "PendingImport"


@pytest.mark.parametrize("spec", ["SYMMETRIC_DEFAULT", "HMAC_256", "ECC_NIST_P256"])
def test_only_the_first_material_is_ever_accepted(kms, spec):
    def material():
        if spec == "ECC_NIST_P256":
            return pkcs8(ec.generate_private_key(ec.SECP256R1()))
        return os.urandom(32)

    algorithm = KEY_WRAP[1] if spec == "ECC_NIST_P256" else OAEP[1]
    key = external(kms, spec)
    first = material()
    import_material(kms, key["KeyId"], first, algorithm=algorithm)
    expect("IncorrectKeyMaterialException", import_material, kms, key["KeyId"], material(), algorithm=algorithm)
    kms.delete_imported_key_material(KeyId=key["KeyId"])
    expect("IncorrectKeyMaterialException", import_material, kms, key["KeyId"], material(), algorithm=algorithm)
    assert state(kms, key["KeyId"])["KeyState"] == "PendingImport"
    import_material(kms, key["KeyId"], first, algorithm=algorithm)
    assert state(kms, key["KeyId"])["KeyState"] == "Enabled"


def test_import_rejects_non_external_and_pending_deletion_keys(kms):
    aws_key = kms.create_key()["KeyMetadata"]
    expect("UnsupportedOperationException", import_with, kms, aws_key["KeyId"], {"ImportToken": b"t"}, b"x")
    expect("UnsupportedOperationException", kms.delete_imported_key_material, KeyId=aws_key["KeyId"])
    key = external(kms)
    p = params(kms, key["KeyId"])
    kms.schedule_key_deletion(KeyId=key["KeyId"], PendingWindowInDays=7)
    expect("KMSInvalidStateException", params, kms, key["KeyId"])
    expect("KMSInvalidStateException", import_with, kms, key["KeyId"], p,
           wrap(p["PublicKey"], "RSAES_OAEP_SHA_256", os.urandom(32)))


# -- expiration ---------------------------------------------------------------------------------------------------

def test_expiration_model_and_valid_to_rules(kms):
    key = external(kms)
    now = datetime.now(timezone.utc)
    for extra in ({"ExpirationModel": "KEY_MATERIAL_EXPIRES"},
                  {"ExpirationModel": NEVER, "ValidTo": now + timedelta(days=1)},
                  {"ExpirationModel": "KEY_MATERIAL_EXPIRES", "ValidTo": now - timedelta(minutes=1)},
                  {"ExpirationModel": "KEY_MATERIAL_EXPIRES", "ValidTo": now + timedelta(days=366)}):
        p = params(kms, key["KeyId"])
        expect("ValidationException", import_with, kms, key["KeyId"], p,
               wrap(p["PublicKey"], "RSAES_OAEP_SHA_256", os.urandom(32)), **extra)
    p = params(kms, key["KeyId"])
    blob = wrap(p["PublicKey"], "RSAES_OAEP_SHA_256", os.urandom(32))
    request = {"KeyId": key["KeyId"], "ImportToken": p["ImportToken"], "EncryptedKeyMaterial": blob}
    expect("ValidationException", kms.import_key_material, **request)  # default model needs ValidTo
    kms.import_key_material(ValidTo=now + timedelta(days=364), **request)
    meta = state(kms, key["KeyId"])
    assert meta["ExpirationModel"] == "KEY_MATERIAL_EXPIRES" and "ValidTo" in meta


def test_reimport_changes_expiry(kms):
    key = external(kms)
    material = os.urandom(32)
    import_material(kms, key["KeyId"], material, valid_days=5)
    import_material(kms, key["KeyId"], material)
    meta = state(kms, key["KeyId"])
    assert meta["ExpirationModel"] == NEVER and "ValidTo" not in meta and meta["KeyState"] == "Enabled"
    kms.disable_key(KeyId=key["KeyId"])  # renewing a disabled key keeps it disabled
    import_material(kms, key["KeyId"], material, valid_days=7)
    meta = state(kms, key["KeyId"])
    assert meta["KeyState"] == "Disabled" and meta["ExpirationModel"] == "KEY_MATERIAL_EXPIRES"


def test_lazy_expiry_then_reimport(kms_endpoint):
    kms = client(kms_endpoint)
    key = external(kms)
    material = os.urandom(32)
    import_material(kms, key["KeyId"], material, valid_days=1)
    blob = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"before expiry")["CiphertextBlob"]
    control(kms_endpoint, "clock", {"advance_seconds": 2 * 86400})
    meta = state(kms, key["KeyId"])
    assert meta["KeyState"] == "PendingImport" and meta["Enabled"] is False
    assert "ExpirationModel" not in meta and "ValidTo" not in meta
    expect("KMSInvalidStateException", kms.decrypt, CiphertextBlob=blob)
    rotations = kms.list_key_rotations(KeyId=key["KeyId"], IncludeKeyMaterial="ALL_KEY_MATERIAL")["Rotations"]
    assert [r["ImportState"] for r in rotations] == ["PENDING_IMPORT"]
    import_material(kms, key["KeyId"], material, valid_days=10)
    assert state(kms, key["KeyId"])["KeyState"] == "Enabled"
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"before expiry"


# -- delete ----------------------------------------------------------------------------------------------------

def test_delete_imported_material(kms):
    key = external(kms)
    material = os.urandom(32)
    material_id = import_material(kms, key["KeyId"], material, valid_days=3)["KeyMaterialId"]
    blob = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"kept")["CiphertextBlob"]
    deleted = kms.delete_imported_key_material(KeyId=key["Arn"])
    assert deleted["KeyId"] == key["Arn"] and deleted["KeyMaterialId"] == material_id
    meta = state(kms, key["KeyId"])
    assert meta["KeyState"] == "PendingImport" and meta["Enabled"] is False
    assert "ExpirationModel" not in meta and "ValidTo" not in meta
    assert meta["CurrentKeyMaterialId"] == material_id
    expect("KMSInvalidStateException", kms.encrypt, KeyId=key["KeyId"], Plaintext=b"x")
    kms.delete_imported_key_material(KeyId=key["KeyId"])  # again: no error, no change
    assert import_material(kms, key["KeyId"], material, KeyMaterialId=material_id)["KeyMaterialId"] == material_id
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"kept"
    never = external(kms)
    kms.delete_imported_key_material(KeyId=never["KeyId"])
    assert state(kms, never["KeyId"])["KeyState"] == "PendingImport"


# -- rotation of imported material -------------------------------------------------------------------------------

def test_new_material_rotation(kms):
    key = external(kms)
    first, second = os.urandom(32), os.urandom(32)
    first_id = import_material(kms, key["KeyId"], first, KeyMaterialDescription="first")["KeyMaterialId"]
    old_blob = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"old")["CiphertextBlob"]
    expect("KMSInvalidStateException", kms.rotate_key_on_demand, KeyId=key["KeyId"])  # nothing pending
    second_id = import_material(kms, key["KeyId"], second, ImportType="NEW_KEY_MATERIAL",
                                KeyMaterialDescription="second")["KeyMaterialId"]
    assert second_id != first_id
    expect("KMSInvalidStateException", import_material, kms, key["KeyId"], os.urandom(32),
           ImportType="NEW_KEY_MATERIAL")
    listed = kms.list_key_rotations(KeyId=key["Arn"], IncludeKeyMaterial="ALL_KEY_MATERIAL")["Rotations"]
    assert {(r["KeyMaterialId"], r["KeyMaterialState"], r["ImportState"], r["KeyMaterialDescription"])
            for r in listed} == {(first_id, "CURRENT", "IMPORTED", "first"),
                                 (second_id, "PENDING_ROTATION", "IMPORTED", "second")}
    assert state(kms, key["KeyId"])["CurrentKeyMaterialId"] == first_id
    assert kms.rotate_key_on_demand(KeyId=key["Arn"])["KeyId"] == key["KeyId"]
    assert state(kms, key["KeyId"])["CurrentKeyMaterialId"] == second_id
    listed = kms.list_key_rotations(KeyId=key["KeyId"], IncludeKeyMaterial="ALL_KEY_MATERIAL")["Rotations"]
    by_id = {r["KeyMaterialId"]: r for r in listed}
    assert by_id[first_id]["KeyMaterialState"] == "NON_CURRENT"
    assert by_id[second_id]["KeyMaterialState"] == "CURRENT"
    assert by_id[second_id]["RotationType"] == "ON_DEMAND" and "RotationDate" in by_id[second_id]
    assert by_id[second_id]["ExpirationModel"] == NEVER
    only = kms.list_key_rotations(KeyId=key["KeyId"])["Rotations"]
    assert len(only) == 1 and "KeyMaterialId" not in only[0] and only[0]["RotationType"] == "ON_DEMAND"
    # data encrypted before the rotation still decrypts; new data uses the new material
    assert kms.decrypt(CiphertextBlob=old_blob)["Plaintext"] == b"old"
    new_blob = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"new")["CiphertextBlob"]
    assert bytes.fromhex(second_id) in new_blob and bytes.fromhex(first_id) in old_blob
    # re-import of the old material as EXISTING is fine; the old one as NEW is not
    import_material(kms, key["KeyId"], first, ImportType="EXISTING_KEY_MATERIAL")
    expect("IncorrectKeyMaterialException", import_material, kms, key["KeyId"], first,
           ImportType="NEW_KEY_MATERIAL")
    # deleting an old material makes the key unusable until it comes back
    kms.delete_imported_key_material(KeyId=key["KeyId"], KeyMaterialId=first_id)
    assert state(kms, key["KeyId"])["KeyState"] == "PendingImport"
    import_material(kms, key["KeyId"], first)
    assert state(kms, key["KeyId"])["KeyState"] == "Enabled"


def test_material_id_must_match(kms):
    key = external(kms)
    material = os.urandom(32)
    import_material(kms, key["KeyId"], material)
    expect("IncorrectKeyMaterialException", import_material, kms, key["KeyId"], material, KeyMaterialId="0" * 64)
    expect("ValidationException", import_material, kms, key["KeyId"], material, KeyMaterialId="0" * 64,
           ImportType="NEW_KEY_MATERIAL")


def test_symmetric_only_parameters(kms, ec_p256):
    hmac_key = external(kms, "HMAC_256")
    expect("UnsupportedOperationException", import_material, kms, hmac_key["KeyId"], os.urandom(32),
           ImportType="EXISTING_KEY_MATERIAL")
    ecc = external(kms, "ECC_NIST_P256")
    expect("UnsupportedOperationException", import_material, kms, ecc["KeyId"], pkcs8(ec_p256),
           algorithm=KEY_WRAP[1], KeyMaterialDescription="nope")
    import_material(kms, hmac_key["KeyId"], os.urandom(32))
    expect("UnsupportedOperationException", kms.rotate_key_on_demand, KeyId=hmac_key["KeyId"])
    expect("UnsupportedOperationException", kms.list_key_rotations, KeyId=hmac_key["KeyId"])


def test_aws_kms_key_rotation_keeps_old_ciphertexts(kms):
    key = kms.create_key()["KeyMetadata"]
    blob = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"x")["CiphertextBlob"]
    kms.rotate_key_on_demand(KeyId=key["KeyId"])
    assert state(kms, key["KeyId"])["CurrentKeyMaterialId"] != key["CurrentKeyMaterialId"]
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"x"


# -- multi-region ------------------------------------------------------------------------------------------------

def test_multi_region_replica_needs_the_same_material(kms, url):
    key = external(kms, MultiRegion=True)
    material = os.urandom(32)
    import_material(kms, key["KeyId"], material)
    replica = kms.replicate_key(KeyId=key["KeyId"], ReplicaRegion="eu-central-1")["ReplicaKeyMetadata"]
    assert replica["KeyState"] == "PendingImport" and replica["Enabled"] is False
    eu = client(url, region="eu-central-1")
    expect("IncorrectKeyMaterialException", import_material, eu, key["KeyId"], os.urandom(32))
    expect("UnsupportedOperationException", import_material, eu, key["KeyId"], os.urandom(32),
           ImportType="NEW_KEY_MATERIAL")  # new material goes into the primary only
    import_material(eu, key["KeyId"], material, ImportType="EXISTING_KEY_MATERIAL")
    assert state(eu, key["KeyId"])["KeyState"] == "Enabled"
    assert state(kms, key["KeyId"])["KeyState"] == "Enabled"
    blob = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"mrk")["CiphertextBlob"]
    assert eu.decrypt(CiphertextBlob=blob)["Plaintext"] == b"mrk"
    eu.delete_imported_key_material(KeyId=key["KeyId"])
    assert state(eu, key["KeyId"])["KeyState"] == "PendingImport"
    assert state(kms, key["KeyId"])["KeyState"] == "Enabled"


def test_parameters_for_import_public_key_is_base64_der_on_the_wire(url):
    """The JSON body carries base64 (boto3 decodes it): check the raw response too."""
    import json
    import urllib.request

    kms = client(url)
    key = external(kms)
    request = urllib.request.Request(url + "/", data=json.dumps({
        "KeyId": key["KeyId"], "WrappingAlgorithm": "RSAES_OAEP_SHA_256", "WrappingKeySpec": "RSA_2048"}).encode(),
        headers={"X-Amz-Target": "TrentService.GetParametersForImport", "Content-Type": "application/x-amz-json-1.1",
                 "Authorization": "AWS4-HMAC-SHA256 Credential=testing/20240101/us-east-1/kms/aws4_request, "
                                  "SignedHeaders=host, Signature=x"})
    with urllib.request.urlopen(request) as response:  # noqa: S310 (loopback)
        body = json.loads(response.read())
    serialization.load_der_public_key(base64.b64decode(body["PublicKey"]))
    assert isinstance(body["ParametersValidTo"], (int, float))
