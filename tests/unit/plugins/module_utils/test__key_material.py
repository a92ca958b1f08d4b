# -*- coding: utf-8 -*-
# Copyright: byok.kms contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of plugins/module_utils/_key_material.py: the pure decisions, and ensure_key_material
against an in-memory KMS that really unwraps (so a wrapping mismatch fails here too)."""

from __future__ import annotations

import base64
import copy
import datetime
import hashlib
import hmac as hmac_lib
import json
import os
import uuid

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.keywrap import aes_key_unwrap_with_padding

from ansible_collections.byok.kms.plugins.module_utils import _key_material as km
from ansible_collections.byok.kms.plugins.module_utils import _material
from ansible_collections.byok.kms.plugins.module_utils._errors import ByokError
from ansible_collections.byok.kms.plugins.module_utils._errors import KmsError
from ansible_collections.byok.kms.plugins.module_utils._errors import ValidationError

NOW = datetime.datetime(2030, 1, 1, 12, 0, 0, tzinfo=datetime.timezone.utc)
DAY = datetime.timedelta(days=1)
WRITES = {"GetParametersForImport", "ImportKeyMaterial", "DeleteImportedKeyMaterial", "RotateKeyOnDemand", "TagResource"}
_WRAPPING_KEYS: dict = {}


def wrapping_key(spec: str) -> rsa.RSAPrivateKey:
    if spec not in _WRAPPING_KEYS:
        _WRAPPING_KEYS[spec] = rsa.generate_private_key(65537, {"RSA_2048": 2048, "RSA_3072": 3072, "RSA_4096": 4096}[spec])
    return _WRAPPING_KEYS[spec]


def unwrap(private: rsa.RSAPrivateKey, algorithm: str, wrapped: bytes) -> bytes:
    h = hashes.SHA256() if algorithm.endswith("SHA_256") else hashes.SHA1()
    oaep = padding.OAEP(mgf=padding.MGF1(algorithm=h), algorithm=h, label=None)
    if algorithm.startswith("RSAES_OAEP"):
        return private.decrypt(wrapped, oaep)
    k = private.key_size // 8
    return aes_key_unwrap_with_padding(private.decrypt(wrapped[:k], oaep), wrapped[k:])


class FakeKms:
    """Just enough KMS for the import path; same interface as KmsClient (call, paginate, calls)."""

    def __init__(self) -> None:
        self.keys: dict = {}
        self.tokens: dict = {}
        self.log: list = []
        self.expire_tokens = 0  # the next N imports fail with ExpiredImportTokenException

    # -- set-up helpers
    def create_key(self, spec="SYMMETRIC_DEFAULT", origin="EXTERNAL", alias=None, state="PendingImport"):
        key_id = str(uuid.uuid4())
        meta = {
            "KeyId": key_id, "Arn": f"arn:aws:kms:us-east-1:123456789012:key/{key_id}", "KeySpec": spec,
            "Origin": origin, "KeyManager": "CUSTOMER", "KeyState": state, "Enabled": state == "Enabled",
            "KeyUsage": "ENCRYPT_DECRYPT",
        }
        self.keys[key_id] = {"meta": meta, "first": None, "materials": [], "tags": {}, "alias": alias}
        return key_id

    def meta(self, key_id):
        return self.keys[key_id]["meta"]

    @property
    def ops(self):
        return [entry[0] for entry in self.log]

    def writes(self):
        return [op for op in self.ops if op in WRITES]

    def _key(self, key_id):
        for kid, key in self.keys.items():
            if key_id in (kid, key["meta"]["Arn"], key["alias"]):
                return key
        raise KmsError("X", "NotFoundException", f"{key_id} not found")

    # -- the client interface
    def paginate(self, op, result_key, **params):
        return self.call(op, **params)[result_key]

    def call(self, op, **params):
        self.log.append((op, params))
        return getattr(self, "op_" + op)(**params)

    def op_DescribeKey(self, KeyId):
        return {"KeyMetadata": copy.deepcopy(self._key(KeyId)["meta"])}

    def op_ListResourceTags(self, KeyId):
        return {"Tags": [{"TagKey": k, "TagValue": v} for k, v in self._key(KeyId)["tags"].items()], "Truncated": False}

    def op_TagResource(self, KeyId, Tags):
        self._key(KeyId)["tags"].update({t["TagKey"]: t["TagValue"] for t in Tags})
        return {}

    def op_GetParametersForImport(self, KeyId, WrappingAlgorithm, WrappingKeySpec):
        assert not KeyId.startswith("alias/"), "GetParametersForImport takes a key id or ARN only"
        key = self._key(KeyId)
        if key["meta"]["KeyState"] == "PendingDeletion":
            raise KmsError("GetParametersForImport", "KMSInvalidStateException", "pending deletion")
        token = os.urandom(16)
        self.tokens[token] = (key["meta"]["KeyId"], WrappingAlgorithm, wrapping_key(WrappingKeySpec))
        public = wrapping_key(WrappingKeySpec).public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        return {"KeyId": key["meta"]["KeyId"], "ImportToken": token, "PublicKey": public}

    def op_ImportKeyMaterial(self, KeyId, ImportToken, EncryptedKeyMaterial, ExpirationModel, ValidTo=None,
                             ImportType=None, KeyMaterialDescription=None):
        key = self._key(KeyId)
        owner, algorithm, private = self.tokens.pop(ImportToken)
        assert owner == key["meta"]["KeyId"]
        if self.expire_tokens:
            self.expire_tokens -= 1
            raise KmsError("ImportKeyMaterial", "ExpiredImportTokenException", "expired")
        if (ExpirationModel == km.EXPIRES) != (ValidTo is not None):
            raise KmsError("ImportKeyMaterial", "ValidationException", "ValidTo")
        if key["meta"]["KeySpec"] != "SYMMETRIC_DEFAULT":
            assert ImportType is None and KeyMaterialDescription is None
        material = unwrap(private, algorithm, EncryptedKeyMaterial)
        meta = key["meta"]
        if ImportType == "NEW_KEY_MATERIAL":
            if material in key["materials"]:
                raise KmsError("ImportKeyMaterial", "IncorrectKeyMaterialException", "already")
            key["pending"] = (material, ExpirationModel, ValidTo)
            return {"KeyId": meta["KeyId"], "KeyMaterialId": hashlib.sha256(material).hexdigest()}
        current = key["materials"][-1] if key["materials"] else None
        if current is not None and material != current:
            raise KmsError("ImportKeyMaterial", "IncorrectKeyMaterialException", "different material")
        if current is None:
            key["materials"].append(material)
        if meta["KeyState"] == "PendingImport":
            meta.update(KeyState="Enabled", Enabled=True)
        meta["ExpirationModel"] = ExpirationModel
        meta.pop("ValidTo", None)
        if ValidTo is not None:
            meta["ValidTo"] = ValidTo
        if meta["KeySpec"] == "SYMMETRIC_DEFAULT":
            meta["CurrentKeyMaterialId"] = hashlib.sha256(material).hexdigest()
        return {"KeyId": meta["KeyId"], "KeyMaterialId": hashlib.sha256(material).hexdigest()}

    def op_RotateKeyOnDemand(self, KeyId):
        key = self._key(KeyId)
        material, model, valid_to = key.pop("pending")
        key["materials"].append(material)
        key["meta"].update(ExpirationModel=model, CurrentKeyMaterialId=hashlib.sha256(material).hexdigest())
        key["meta"].pop("ValidTo", None)
        if valid_to:
            key["meta"]["ValidTo"] = valid_to
        return {"KeyId": key["meta"]["KeyId"]}

    def op_DeleteImportedKeyMaterial(self, KeyId):
        meta = self._key(KeyId)["meta"]
        meta.update(KeyState="PendingImport", Enabled=False)
        meta.pop("ExpirationModel", None)
        meta.pop("ValidTo", None)
        return {"KeyId": meta["KeyId"]}

    def _material_key(self, KeyId):
        key = self._key(KeyId)
        if key["meta"]["KeyState"] != "Enabled":
            raise KmsError("X", "DisabledException" if key["meta"]["KeyState"] == "Disabled" else "KMSInvalidStateException", "no")
        return key["materials"][-1]

    def op_GetPublicKey(self, KeyId):
        return {"PublicKey": _material.public_key_der(self._material_key(KeyId))}

    def op_GenerateMac(self, KeyId, Message, MacAlgorithm):
        key = self._key(KeyId)
        spec = key["meta"]["KeySpec"]
        assert MacAlgorithm == "HMAC_SHA_" + spec.split("_")[1]
        return {"Mac": hmac_lib.new(self._material_key(KeyId), Message, "sha" + spec.split("_")[1]).digest()}


def params(key, **kw):
    base = {"key": key, "state": "present", "key_material": None, "key_material_path": None, "wrapping_algorithm": None,
            "wrapping_key_spec": "RSA_2048", "valid_to": None, "valid_days": None, "renew_within_days": None,
            "key_material_description": None}
    base.update(kw)
    return base


def secret_forms(material: bytes) -> list[str]:
    return [base64.b64encode(material).decode(), material.hex(), material.hex().upper(), repr(material)]


def assert_no_secret(obj, material):
    text = json.dumps(obj, default=str) + repr(obj)
    for form in secret_forms(material):
        assert form not in text


def ec_key_pem(curve=ec.SECP256R1):
    return ec.generate_private_key(curve()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption())


@pytest.fixture
def kms():
    return FakeKms()


AES = bytes(range(32))
AES2 = bytes(range(100, 132))


# ---------------------------------------------------------------------------------------------
# pure decisions
# ---------------------------------------------------------------------------------------------
class TestExpiry:
    def test_neither_does_not_expire(self):
        assert km.expiry_request({}, NOW) == km.Expiry(km.DOES_NOT_EXPIRE)

    def test_valid_to_with_z_and_naive_is_utc(self):
        assert km.parse_valid_to("2030-02-01T00:00:00Z", NOW) == datetime.datetime(2030, 2, 1, tzinfo=datetime.timezone.utc)
        assert km.parse_valid_to("2030-02-01T00:00:00.123", NOW) == datetime.datetime(2030, 2, 1, tzinfo=datetime.timezone.utc)
        assert km.parse_valid_to("2030-02-01T02:00:00+02:00", NOW) == datetime.datetime(2030, 2, 1, tzinfo=datetime.timezone.utc)

    @pytest.mark.parametrize("value, words", [
        ("2029-12-31T00:00:00Z", "in the past"), ("2031-01-02T12:00:00Z", "365 days"), ("tomorrow", "ISO 8601"),
    ])
    def test_bad_valid_to(self, value, words):
        with pytest.raises(ValidationError, match=words) as e:
            km.parse_valid_to(value, NOW)
        assert e.value.option == "valid_to"

    @pytest.mark.parametrize("days, default", [(365, 30), (90, 30), (30, 10), (3, 1), (1, 1 / 3)])
    def test_default_renew_window_is_30_days_at_most_a_third(self, days, default):
        assert km.expiry_request({"valid_days": days}, NOW).renew_within == datetime.timedelta(days=default)

    @pytest.mark.parametrize("days, renew", [(30, 30), (30, 31), (10, -1), (10, "x")])
    def test_explicit_renew_must_be_below_valid_days(self, days, renew):
        with pytest.raises(ValidationError) as e:
            km.expiry_request({"valid_days": days, "renew_within_days": renew}, NOW)
        assert e.value.option == "renew_within_days"

    @pytest.mark.parametrize("days", [0, 366, -5])
    def test_valid_days_range(self, days):
        with pytest.raises(ValidationError, match="1 to 365"):
            km.expiry_request({"valid_days": days}, NOW)

    def test_renew_without_valid_days(self):
        with pytest.raises(ValidationError, match="only together with valid_days"):
            km.expiry_request({"renew_within_days": 3}, NOW)

    def test_valid_days_valid_to_computed_at_import(self):
        expiry = km.expiry_request({"valid_days": 10}, NOW)
        assert expiry.valid_to_at(NOW + datetime.timedelta(microseconds=5)) == NOW + 10 * DAY


class TestImportReason:
    enabled = {"KeyState": "Enabled", "ExpirationModel": km.EXPIRES, "ValidTo": NOW + 60 * DAY}

    def test_pending_import(self):
        assert "no material yet" in km.import_reason({"KeyState": "PendingImport"}, km.Expiry(km.DOES_NOT_EXPIRE), NOW)
        assert "expired or deleted" in km.import_reason({"KeyState": "PendingImport", "CurrentKeyMaterialId": "x"},
                                                        km.Expiry(km.DOES_NOT_EXPIRE), NOW)

    def test_model_differs(self):
        assert "expiration model" in km.import_reason(self.enabled, km.Expiry(km.DOES_NOT_EXPIRE), NOW)

    def test_valid_to_same_or_differs(self):
        assert km.import_reason(self.enabled, km.Expiry(km.EXPIRES, valid_to=NOW + 60 * DAY), NOW) is None
        assert "differs" in km.import_reason(self.enabled, km.Expiry(km.EXPIRES, valid_to=NOW + 61 * DAY), NOW)

    def test_valid_to_as_string(self):
        meta = dict(self.enabled, ValidTo=(NOW + 60 * DAY).isoformat())
        assert km.import_reason(meta, km.Expiry(km.EXPIRES, valid_to=NOW + 60 * DAY), NOW) is None

    def test_renew_window(self):
        expiry = km.expiry_request({"valid_days": 90}, NOW)
        assert km.import_reason(self.enabled, expiry, NOW) is None
        assert "within 30 days" in km.import_reason(self.enabled, expiry, NOW + 31 * DAY)

    def test_does_not_expire_in_place(self):
        assert km.import_reason({"KeyState": "Disabled", "ExpirationModel": km.DOES_NOT_EXPIRE},
                                km.Expiry(km.DOES_NOT_EXPIRE), NOW) is None


class TestPlan:
    pending = {"KeyState": "PendingImport", "KeySpec": "SYMMETRIC_DEFAULT"}
    expired = {"KeyState": "PendingImport", "KeySpec": "SYMMETRIC_DEFAULT", "CurrentKeyMaterialId": "m1"}
    enabled = {"KeyState": "Enabled", "KeySpec": "SYMMETRIC_DEFAULT", "CurrentKeyMaterialId": "m1"}
    rsa = {"KeyState": "Enabled", "KeySpec": "RSA_2048"}

    @pytest.mark.parametrize("state, meta, ident, reason, action", [
        ("present", pending, "unknown", "r", km.IMPORT),
        ("present", enabled, "same", None, km.NONE),
        ("present", enabled, "same", "r", km.REIMPORT),
        ("present", enabled, "unknown", None, km.SETTLE),
        ("present", rsa, "unknown", None, km.NONE),
        ("present", expired, "same", "r", km.IMPORT),
        ("absent", enabled, "unknown", None, km.DELETE),
        ("absent", pending, "unknown", None, km.NONE),
        ("rotated", pending, "unknown", "r", km.IMPORT),
        ("rotated", enabled, "different", None, km.ROTATE),
        ("rotated", enabled, "same", None, km.NONE),
        ("rotated", enabled, "same", "r", km.REIMPORT),
        ("rotated", enabled, "unknown", None, km.SETTLE),
    ])
    def test_matrix(self, state, meta, ident, reason, action):
        assert km.plan(state, meta, ident, reason) == action

    def test_different_material_fails(self):
        with pytest.raises(ByokError, match="only ever accepts the material first imported.*state=rotated"):
            km.plan("present", self.enabled, "different", None, "alias/x", "tag says A")

    def test_rotate_pending_import_fails(self):
        with pytest.raises(ByokError, match="PendingImport"):
            km.plan("rotated", self.expired, "different", "r", "alias/x")


@pytest.mark.parametrize("meta, words", [
    ({"KeyManager": "CUSTOMER", "Origin": "EXTERNAL", "KeyState": "PendingDeletion"}, "pending deletion"),
    ({"KeyManager": "CUSTOMER", "Origin": "AWS_KMS", "KeyState": "Enabled"}, "not EXTERNAL"),
    ({"KeyManager": "AWS", "Origin": "AWS_KMS", "KeyState": "Enabled"}, "AWS managed"),
    ({"KeyManager": "CUSTOMER", "Origin": "EXTERNAL", "KeyState": "Unavailable"}, "state Unavailable"),
])
def test_check_key_workable(meta, words):
    with pytest.raises(ByokError, match=words):
        km.check_key_workable(meta, "alias/x")


def test_identity():
    assert km.identity("ABCDEF", "abcdef") == "same"
    assert km.identity("ABCDEF", "ABCDE0") == "different"
    assert km.identity("ABCDEF", None) == "unknown"


# ---------------------------------------------------------------------------------------------
# ensure_key_material: symmetric
# ---------------------------------------------------------------------------------------------
def run(kms, p, material, check_mode=False, now=NOW):
    return km.ensure_key_material(kms, p, check_mode, material, now=now)


class TestSymmetric:
    def test_four_steps_of_import(self, kms):
        key_id = kms.create_key(alias="alias/sym")
        p = params("alias/sym")
        predicted = run(kms, p, AES, check_mode=True)
        assert predicted["changed"] and predicted["action"] == "import"
        assert kms.writes() == [] and "GetParametersForImport" not in kms.ops
        assert predicted["key_state"] == "Enabled" and predicted["expiration_model"] == km.DOES_NOT_EXPIRE
        assert kms.meta(key_id)["KeyState"] == "PendingImport"

        kms.log.clear()
        real = run(kms, p, AES)
        assert real["changed"] and kms.writes() == ["GetParametersForImport", "ImportKeyMaterial", "TagResource"]
        assert kms.log[1] == ("ListResourceTags", {"KeyId": key_id}), "import calls use the key id, not the alias"
        assert all(params_.get("KeyId") == key_id for op, params_ in kms.log[1:])
        assert kms.keys[key_id]["materials"] == [AES]
        assert kms.keys[key_id]["tags"][km.KCV_TAG] == _material.key_check_value(AES)
        assert real["key_check_value"] == _material.key_check_value(AES)
        assert real["key_material_id"] == hashlib.sha256(AES).hexdigest()
        for field in ("key_state", "expiration_model", "valid_to", "key_check_value", "key_id"):
            assert predicted[field] == real[field], field
        assert real["diff"]["before"]["key_state"] == "PendingImport" and real["diff"]["after"]["key_state"] == "Enabled"

        for check_mode in (True, False):
            kms.log.clear()
            again = run(kms, p, AES, check_mode=check_mode)
            assert not again["changed"] and again["action"] == "none"
            assert len(kms.log) <= 3 and kms.writes() == []
            assert again["key_metadata"] == real["key_metadata"]
        assert_no_secret(real, AES)
        assert_no_secret(predicted, AES)

    def test_different_material_fails_before_any_write(self, kms):
        key_id = kms.create_key(alias="alias/sym")
        run(kms, params("alias/sym"), AES)
        before = copy.deepcopy(kms.keys[key_id])
        kms.log.clear()
        with pytest.raises(ByokError, match="only ever accepts the material first imported") as e:
            run(kms, params("alias/sym", valid_days=30), AES2)
        assert kms.writes() == [] and kms.keys[key_id] == before
        assert _material.key_check_value(AES) in e.value.message and _material.key_check_value(AES2) in e.value.message
        assert_no_secret(e.value.message, AES2)

    def test_missing_tag_is_settled_once_by_a_reimport(self, kms):
        key_id = kms.create_key(alias="alias/sym")
        run(kms, params("alias/sym"), AES)
        del kms.keys[key_id]["tags"][km.KCV_TAG]
        first = run(kms, params("alias/sym"), AES)
        assert first["changed"] and first["action"] == "settle"
        assert kms.keys[key_id]["tags"][km.KCV_TAG] == _material.key_check_value(AES)
        assert not run(kms, params("alias/sym"), AES)["changed"]

    def test_missing_tag_and_other_material_is_the_different_material_error(self, kms):
        key_id = kms.create_key(alias="alias/sym")
        run(kms, params("alias/sym"), AES)
        del kms.keys[key_id]["tags"][km.KCV_TAG]
        with pytest.raises(ByokError, match="IncorrectKeyMaterialException"):
            run(kms, params("alias/sym"), AES2)
        assert km.KCV_TAG not in kms.keys[key_id]["tags"] and kms.keys[key_id]["materials"] == [AES]

    def test_tag_blocks_other_material_even_when_pending_import(self, kms):
        key_id = kms.create_key(alias="alias/sym")
        run(kms, params("alias/sym"), AES)
        run(kms, params("alias/sym", state="absent"), None)
        kms.log.clear()
        with pytest.raises(ByokError, match="first imported"):
            run(kms, params("alias/sym"), AES2)
        assert kms.writes() == []
        again = run(kms, params("alias/sym"), AES)
        assert again["action"] == "import" and kms.meta(key_id)["KeyState"] == "Enabled"

    def test_renew_with_valid_days(self, kms):
        key_id = kms.create_key(alias="alias/sym")
        p = params("alias/sym", valid_days=90)
        first = run(kms, p, AES)
        assert first["expiration_model"] == km.EXPIRES
        assert first["valid_to"] == (NOW + 90 * DAY).isoformat()
        assert not run(kms, p, AES, now=NOW + 59 * DAY)["changed"]
        later = NOW + 61 * DAY
        predicted = run(kms, p, AES, check_mode=True, now=later)
        assert predicted["action"] == "reimport" and predicted["valid_to"] == (later + 90 * DAY).isoformat()
        assert kms.meta(key_id)["ValidTo"] == NOW + 90 * DAY
        renewed = run(kms, p, AES, now=later)
        assert renewed["changed"] and renewed["valid_to"] == predicted["valid_to"]
        assert not run(kms, p, AES, now=later)["changed"]

    def test_valid_to_and_model_changes_reimport(self, kms):
        kms.create_key(alias="alias/sym")
        run(kms, params("alias/sym"), AES)
        r = run(kms, params("alias/sym", valid_to="2030-03-01T00:00:00Z"), AES)
        assert r["action"] == "reimport" and r["valid_to"] == "2030-03-01T00:00:00+00:00"
        assert not run(kms, params("alias/sym", valid_to="2030-03-01T00:00:00+00:00"), AES)["changed"]
        r = run(kms, params("alias/sym", valid_to="2030-03-02T00:00:00Z"), AES)
        assert r["action"] == "reimport"
        r = run(kms, params("alias/sym"), AES)
        assert r["action"] == "reimport" and r["expiration_model"] == km.DOES_NOT_EXPIRE and r["valid_to"] is None

    def test_expired_token_is_fetched_again_once(self, kms):
        kms.create_key(alias="alias/sym")
        kms.expire_tokens = 1
        assert run(kms, params("alias/sym"), AES)["changed"]
        assert kms.ops.count("GetParametersForImport") == 2

    def test_expired_token_twice_is_an_error(self, kms):
        key_id = kms.create_key(alias="alias/sym")
        kms.expire_tokens = 2
        with pytest.raises(ByokError, match="expired twice"):
            run(kms, params("alias/sym"), AES)
        assert kms.meta(key_id)["KeyState"] == "PendingImport"

    def test_absent_four_steps(self, kms):
        key_id = kms.create_key(alias="alias/sym")
        run(kms, params("alias/sym"), AES)
        p = params("alias/sym", state="absent")
        kms.log.clear()
        assert run(kms, p, None, check_mode=True)["key_state"] == "PendingImport"
        assert kms.writes() == [] and kms.meta(key_id)["KeyState"] == "Enabled"
        r = run(kms, p, None)
        assert r["changed"] and r["action"] == "delete" and kms.meta(key_id)["KeyState"] == "PendingImport"
        assert r["key_check_value"] == _material.key_check_value(AES)
        kms.log.clear()
        assert not run(kms, p, None, check_mode=True)["changed"]
        assert not run(kms, p, None)["changed"]
        assert kms.writes() == []

    def test_rotate_four_steps(self, kms):
        key_id = kms.create_key(alias="alias/sym")
        run(kms, params("alias/sym"), AES)
        p = params("alias/sym", state="rotated", key_material_description="2030")
        kms.log.clear()
        predicted = run(kms, p, AES2, check_mode=True)
        assert predicted["action"] == "rotate" and predicted["key_material_id"] is None and kms.writes() == []
        r = run(kms, p, AES2)
        assert r["action"] == "rotate"
        assert kms.writes() == ["GetParametersForImport", "ImportKeyMaterial", "RotateKeyOnDemand", "TagResource"]
        import_params = [q for op, q in kms.log if op == "ImportKeyMaterial"][0]
        assert import_params["ImportType"] == "NEW_KEY_MATERIAL" and import_params["KeyMaterialDescription"] == "2030"
        assert kms.keys[key_id]["materials"] == [AES, AES2]
        assert r["key_check_value"] == _material.key_check_value(AES2) == kms.keys[key_id]["tags"][km.KCV_TAG]
        assert r["key_material_id"] == hashlib.sha256(AES2).hexdigest()
        assert r["diff"]["before"]["key_check_value"] == _material.key_check_value(AES)
        kms.log.clear()
        assert not run(kms, p, AES2, check_mode=True)["changed"]
        assert not run(kms, p, AES2)["changed"]
        assert kms.writes() == []
        # the rotated-to material is the current one now: present with it is settled, the old one is refused
        assert not run(kms, params("alias/sym"), AES2)["changed"]
        with pytest.raises(ByokError, match="first imported"):
            run(kms, params("alias/sym"), AES)

    def test_rotate_without_tag_settles_or_rotates(self, kms):
        key_id = kms.create_key(alias="alias/sym")
        run(kms, params("alias/sym"), AES)
        del kms.keys[key_id]["tags"][km.KCV_TAG]
        r = run(kms, params("alias/sym", state="rotated"), AES)
        assert r["action"] == "settle" and "RotateKeyOnDemand" not in kms.ops
        del kms.keys[key_id]["tags"][km.KCV_TAG]
        r = run(kms, params("alias/sym", state="rotated"), AES2)
        assert r["action"] == "rotate" and kms.keys[key_id]["materials"] == [AES, AES2]

    def test_rotate_a_key_without_material_imports(self, kms):
        key_id = kms.create_key(alias="alias/sym")
        r = run(kms, params("alias/sym", state="rotated"), AES)
        assert r["action"] == "import" and kms.keys[key_id]["materials"] == [AES]

    @pytest.mark.parametrize("raw, option", [(b"x" * 31, "key_material"), (b"x" * 33, "key_material_path")])
    def test_wrong_length_fails_before_any_write(self, kms, raw, option):
        kms.create_key(alias="alias/sym")
        kw = {option: "/tmp/f" if option == "key_material_path" else "eA=="}
        with pytest.raises(ValidationError) as e:
            run(kms, params("alias/sym", **kw), raw)
        assert e.value.option == option and "32 bytes" in e.value.message
        assert kms.ops == ["DescribeKey"]

    def test_algorithm_not_allowed_for_spec(self, kms):
        kms.create_key(alias="alias/sym")
        with pytest.raises(ValidationError, match="RSAES_OAEP_SHA_256") as e:
            run(kms, params("alias/sym", wrapping_algorithm="RSA_AES_KEY_WRAP_SHA_256"), AES)
        assert e.value.option == "wrapping_algorithm" and kms.writes() == []

    @pytest.mark.parametrize("algorithm", ["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"])
    @pytest.mark.parametrize("wrapping_key_spec", ["RSA_2048", "RSA_3072"])
    def test_each_algorithm_and_wrapping_key(self, kms, algorithm, wrapping_key_spec):
        key_id = kms.create_key(alias="alias/sym")
        run(kms, params("alias/sym", wrapping_algorithm=algorithm, wrapping_key_spec=wrapping_key_spec), AES)
        assert kms.keys[key_id]["materials"] == [AES]
        assert [q for op, q in kms.log if op == "GetParametersForImport"][0]["WrappingAlgorithm"] == algorithm


# ---------------------------------------------------------------------------------------------
# ensure_key_material: HMAC, RSA, ECC
# ---------------------------------------------------------------------------------------------
class TestHmac:
    def test_import_identity_and_different_material(self, kms):
        key_id = kms.create_key("HMAC_256", alias="alias/mac")
        mac = os.urandom(32)
        r = run(kms, params("alias/mac"), mac)
        assert r["changed"] and r["key_check_value"] is None and km.KCV_TAG not in kms.keys[key_id]["tags"]
        kms.log.clear()
        assert not run(kms, params("alias/mac"), mac)["changed"]
        assert kms.ops == ["DescribeKey", "GenerateMac"]
        with pytest.raises(ByokError, match="another HMAC"):
            run(kms, params("alias/mac", valid_days=10), os.urandom(32))
        assert "GetParametersForImport" not in kms.ops[2:]

    @pytest.mark.parametrize("spec, length", [("HMAC_224", 28), ("HMAC_384", 48), ("HMAC_512", 64)])
    def test_lengths(self, kms, spec, length):
        kms.create_key(spec, alias="alias/mac")
        with pytest.raises(ValidationError, match=f"exactly {length} bytes"):
            run(kms, params("alias/mac"), os.urandom(32))
        assert run(kms, params("alias/mac"), os.urandom(length))["changed"]

    def test_description_and_rotation_refused(self, kms):
        kms.create_key("HMAC_256", alias="alias/mac")
        with pytest.raises(ValidationError, match="SYMMETRIC_DEFAULT"):
            run(kms, params("alias/mac", key_material_description="d"), os.urandom(32))
        with pytest.raises(ValidationError, match="rotates imported material of SYMMETRIC_DEFAULT keys only"):
            run(kms, params("alias/mac", state="rotated"), os.urandom(32))
        assert kms.writes() == []


class TestAsymmetric:
    def test_ecc_pem_import_identity_and_disabled(self, kms):
        key_id = kms.create_key("ECC_NIST_P256", alias="alias/ec")
        pem = ec_key_pem()
        r = run(kms, params("alias/ec", valid_days=30), pem)
        assert r["changed"] and kms.keys[key_id]["materials"][0].startswith(b"0")  # DER, not PEM
        kms.log.clear()
        assert not run(kms, params("alias/ec", valid_days=30), pem)["changed"]
        assert kms.ops == ["DescribeKey", "GetPublicKey"]
        with pytest.raises(ByokError, match="public key differs"):
            run(kms, params("alias/ec", valid_days=30), ec_key_pem())
        kms.meta(key_id).update(KeyState="Disabled", Enabled=False)
        r = run(kms, params("alias/ec", valid_days=30), ec_key_pem())
        assert not r["changed"] and "cannot show" in r["warnings"][0]
        assert_no_secret(r, pem)

    def test_wrong_curve(self, kms):
        kms.create_key("ECC_NIST_P256", alias="alias/ec")
        with pytest.raises(ValidationError, match="secp384r1|curve") as e:
            run(kms, params("alias/ec"), ec_key_pem(ec.SECP384R1))
        assert kms.writes() == []
        assert_no_secret(e.value.message, ec_key_pem())

    @pytest.mark.parametrize("algorithm", ["RSA_AES_KEY_WRAP_SHA_1", "RSA_AES_KEY_WRAP_SHA_256", "RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"])
    def test_ecc_every_algorithm(self, kms, algorithm):
        kms.create_key("ECC_NIST_P256", alias="alias/ec")
        assert run(kms, params("alias/ec", wrapping_algorithm=algorithm), ec_key_pem())["changed"]

    def test_ecc_p521_does_not_fit_oaep_with_rsa_2048(self, kms):
        kms.create_key("ECC_NIST_P521", alias="alias/ec")
        with pytest.raises(ValidationError):
            run(kms, params("alias/ec", wrapping_algorithm="RSAES_OAEP_SHA_256"), ec_key_pem(ec.SECP521R1))
        assert kms.writes() == []

    def test_rsa_import_and_oaep_refused(self, kms):
        key_id = kms.create_key("RSA_2048", alias="alias/rsa")
        der = rsa.generate_private_key(65537, 2048).private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        with pytest.raises(ValidationError) as e:
            run(kms, params("alias/rsa", wrapping_algorithm="RSAES_OAEP_SHA_256"), der)
        assert e.value.option == "wrapping_algorithm"
        r = run(kms, params("alias/rsa"), der)
        assert r["changed"] and kms.keys[key_id]["materials"] == [der]
        gpi = [q for op, q in kms.log if op == "GetParametersForImport"][0]
        assert gpi["WrappingAlgorithm"] == "RSA_AES_KEY_WRAP_SHA_256"
        assert not run(kms, params("alias/rsa"), der)["changed"]


# ---------------------------------------------------------------------------------------------
# keys that must be left alone; input checks; secrets
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("origin, state, words", [
    ("AWS_KMS", "Enabled", "not EXTERNAL"), ("EXTERNAL", "PendingDeletion", "pending deletion"),
])
@pytest.mark.parametrize("module_state", ["present", "absent", "rotated"])
def test_keys_left_alone(kms, origin, state, words, module_state):
    key_id = kms.create_key(origin=origin, state=state, alias="alias/k")
    before = copy.deepcopy(kms.keys[key_id])
    with pytest.raises(ByokError, match=words):
        run(kms, params("alias/k", state=module_state), AES)
    assert kms.ops == ["DescribeKey"] and kms.keys[key_id] == before


def test_key_not_found(kms):
    with pytest.raises(ByokError, match="not found"):
        run(kms, params("alias/none"), AES)


@pytest.mark.parametrize("override, option", [
    ({"valid_to": "2020-01-01T00:00:00Z"}, "valid_to"),
    ({"valid_days": 400}, "valid_days"),
    ({"key": "my key!"}, "key"),
    ({"wrapping_key_spec": "RSA_1024"}, "wrapping_key_spec"),
    ({"wrapping_algorithm": "RSAES_PKCS1_V1_5"}, "wrapping_algorithm"),
    ({"state": "gone"}, "state"),
])
def test_bad_input_fails_before_any_call(kms, override, option):
    kms.create_key(alias="alias/sym")
    with pytest.raises(ValidationError) as e:
        run(kms, {**params("alias/sym"), **override}, AES)
    assert e.value.option == option and kms.log == []


def test_material_required_unless_absent(kms):
    with pytest.raises(ValidationError, match="required"):
        run(kms, params("alias/sym"), None)
    assert kms.log == []


def test_kms_errors_are_translated(kms):
    kms.create_key(alias="alias/sym")

    def denied(**_):
        raise KmsError("ImportKeyMaterial", "AccessDeniedException", "not allowed")

    kms.op_ImportKeyMaterial = denied
    with pytest.raises(ByokError, match="kms:ImportKeyMaterial") as e:
        run(kms, params("alias/sym"), AES)
    assert e.value.details["error"]["code"] == "AccessDeniedException"


def test_unexpected_errors_never_carry_the_material(kms, monkeypatch):
    kms.create_key(alias="alias/sym")

    def leaky(material, public_key_der, algorithm):
        raise ValueError(f"cannot wrap {material!r} {material.hex()}")

    monkeypatch.setattr(km._wrap, "wrap_key_material", leaky)
    with pytest.raises(ByokError) as e:
        run(kms, params("alias/sym"), AES)
    assert e.value.__cause__ is None and e.value.__suppress_context__
    assert_no_secret(e.value.message, AES)

    def leaky_kcv(material):
        raise RuntimeError(base64.b64encode(material).decode())

    monkeypatch.setattr(km._material, "key_check_value", leaky_kcv)
    with pytest.raises(ByokError, match="withheld") as e:
        run(kms, params("alias/sym"), AES)
    assert_no_secret(e.value.message, AES)


class TestReadKeyMaterial:
    def test_base64(self):
        assert km.read_key_material({"key_material": base64.b64encode(AES).decode()}) == (AES, [])

    def test_bad_base64_does_not_echo(self):
        with pytest.raises(ValidationError) as e:
            km.read_key_material({"key_material": "not base64 !!secret"})
        assert "secret" not in e.value.message.replace("it is a secret", "")

    def test_file_and_mode_warning(self, tmp_path):
        f = tmp_path / "k.bin"
        f.write_bytes(AES)
        f.chmod(0o600)
        assert km.read_key_material({"key_material_path": str(f)}) == (AES, [])
        f.chmod(0o644)
        material, warnings = km.read_key_material({"key_material_path": str(f)})
        assert material == AES and "0644" in warnings[0] and "chmod 0600" in warnings[0]

    def test_missing_or_empty_file(self, tmp_path):
        with pytest.raises(ValidationError, match="cannot read"):
            km.read_key_material({"key_material_path": str(tmp_path / "none")})
        (tmp_path / "empty").write_bytes(b"")
        with pytest.raises(ValidationError, match="empty"):
            km.read_key_material({"key_material_path": str(tmp_path / "empty")})

    def test_none(self):
        assert km.read_key_material({}) == (None, [])


# ---------------------------------------------------------------------------------------------
# review of issue 3: renew semantics, disabled keys, rotation refusals, error texts, scrubbing
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("days", range(1, 366))
def test_a_run_right_after_an_import_never_reimports(days):
    """Default renew window: whatever valid_days, the material just imported is left alone, also an hour later."""
    expiry = km.expiry_request({"valid_days": days}, NOW)
    meta = {"KeyState": "Enabled", "ExpirationModel": km.EXPIRES, "ValidTo": expiry.valid_to_at(NOW)}
    assert km.import_reason(meta, expiry, NOW) is None
    assert km.import_reason(meta, expiry, NOW + datetime.timedelta(hours=1)) is None


@pytest.mark.parametrize("days", [1, 2, 30, 365])
def test_an_explicit_renew_window_just_below_valid_days_never_reimports_at_once(days):
    expiry = km.expiry_request({"valid_days": days, "renew_within_days": days - 1}, NOW)
    meta = {"KeyState": "Enabled", "ExpirationModel": km.EXPIRES, "ValidTo": expiry.valid_to_at(NOW)}
    assert km.import_reason(meta, expiry, NOW + datetime.timedelta(minutes=5)) is None
    assert km.import_reason(meta, expiry, NOW + DAY + datetime.timedelta(minutes=5)) is not None


def test_valid_days_shortens_a_longer_expiry(kms):
    key_id = kms.create_key(alias="alias/sym")
    run(kms, params("alias/sym", valid_to=(NOW + 300 * DAY).isoformat()), AES)
    r = run(kms, params("alias/sym", valid_days=30), AES)
    assert r["action"] == "reimport" and kms.meta(key_id)["ValidTo"] == NOW + 30 * DAY
    assert not run(kms, params("alias/sym", valid_days=30), AES, now=NOW + DAY)["changed"]


def test_rotating_a_disabled_key_is_refused_before_any_write(kms):
    key_id = kms.create_key(alias="alias/sym")
    run(kms, params("alias/sym"), AES)
    kms.meta(key_id).update(KeyState="Disabled", Enabled=False)
    before = copy.deepcopy(kms.keys[key_id])
    kms.log.clear()
    with pytest.raises(ByokError, match="Disabled.*Enable the key first"):
        run(kms, params("alias/sym", state="rotated"), AES2)
    del kms.keys[key_id]["tags"][km.KCV_TAG]  # unknown identity: a settle could turn into a rotation
    before = copy.deepcopy(kms.keys[key_id])
    with pytest.raises(ByokError, match="Enable the key first"):
        run(kms, params("alias/sym", state="rotated"), AES)
    assert kms.writes() == [] and kms.keys[key_id] == before


def test_reimport_into_a_disabled_key_keeps_it_disabled(kms):
    """AWS's key state table: ImportKeyMaterial works on a Disabled EXTERNAL key, which stays Disabled."""
    key_id = kms.create_key(alias="alias/sym")
    run(kms, params("alias/sym"), AES)
    kms.meta(key_id).update(KeyState="Disabled", Enabled=False)
    predicted = run(kms, params("alias/sym", valid_days=30), AES, check_mode=True)
    r = run(kms, params("alias/sym", valid_days=30), AES)
    assert r["action"] == predicted["action"] == "reimport"
    assert r["key_state"] == predicted["key_state"] == "Disabled"
    assert not run(kms, params("alias/sym", state="rotated", valid_days=30), AES)["changed"]
    assert run(kms, params("alias/sym", state="absent"), None)["key_state"] == "PendingImport"


def test_rotating_back_to_an_earlier_material_is_a_clear_error(kms):
    key_id = kms.create_key(alias="alias/sym")
    run(kms, params("alias/sym"), AES)
    run(kms, params("alias/sym", state="rotated"), AES2)
    kms.log.clear()
    with pytest.raises(ByokError, match="already associated with the key.*RotateKeyOnDemand") as e:
        run(kms, params("alias/sym", state="rotated"), AES)
    assert e.value.details["error"]["code"] == "IncorrectKeyMaterialException"
    assert "RotateKeyOnDemand" not in kms.ops and kms.keys[key_id]["materials"] == [AES, AES2]


@pytest.mark.parametrize("code, words", [
    ("IncorrectKeyMaterialException", "only ever accepts the material first imported"),
    ("InvalidCiphertextException", "could not unwrap"),
    ("ExpiredImportTokenException", "expired twice"),
    ("InvalidImportTokenException", "new token is fetched for every import"),
    ("KMSInvalidStateException", "pending deletion accepts no material"),
    ("UnsupportedOperationException", "must be an EXTERNAL key"),
    ("ValidationException", "valid_to/valid_days"),
    ("AccessDeniedException", "kms:ImportKeyMaterial"),
    ("DisabledException", "Enable the key first"),
])
def test_import_errors_are_translated(kms, code, words):
    key_id = kms.create_key(alias="alias/sym")

    def refuse(**_):
        raise KmsError("ImportKeyMaterial", code, "refused")

    kms.op_ImportKeyMaterial = refuse
    with pytest.raises(ByokError, match=words) as e:
        run(kms, params("alias/sym", wrapping_algorithm="RSAES_OAEP_SHA_1"), AES)
    assert e.value.details["error"] == {"code": code, "message": "refused", "operation": "ImportKeyMaterial"}
    assert kms.meta(key_id)["KeyState"] == "PendingImport" and km.KCV_TAG not in kms.keys[key_id]["tags"]
    if code == "InvalidCiphertextException":
        assert "RSAES_OAEP_SHA_1" in e.value.message and "RSA_2048" in e.value.message


def test_errors_with_a_line_of_a_pem_key_or_its_der_form_are_scrubbed(kms, monkeypatch):
    kms.create_key("ECC_NIST_P256", alias="alias/ec")
    pem = ec_key_pem()
    der = _material.load_key_material("ECC_NIST_P256", pem, "key_material")
    line = pem.decode().splitlines()[2]

    def leaky(material, public_key_der, algorithm):
        raise ByokError(f"bad {line}")

    monkeypatch.setattr(km._wrap, "wrap_key_material", leaky)
    with pytest.raises(ByokError, match="withheld"):
        run(kms, params("alias/ec"), pem)

    def leaky_der(material, public_key_der, algorithm):
        raise ByokError(f"bad {der.hex()}")

    monkeypatch.setattr(km._wrap, "wrap_key_material", leaky_der)
    with pytest.raises(ByokError, match="withheld"):
        run(kms, params("alias/ec"), pem)


def test_module_main_never_shows_the_material_of_an_unexpected_error(monkeypatch, capsys):
    """main() catches what the logic did not: the message is scrubbed and the traceback Ansible adds when
    tracebacks are on (-vvv, DISPLAY_TRACEBACK) holds frames only, never exception text."""
    from ansible.module_utils.testing import patch_module_args
    from ansible_collections.byok.kms.plugins.modules import kms_key_material

    def leaky(client, module_params, check_mode, material):
        raise RuntimeError(f"boom {material.hex()} {base64.b64encode(material).decode()}")

    monkeypatch.setattr(kms_key_material, "ensure_key_material", leaky)
    args = {"key": "alias/sym", "key_material": base64.b64encode(AES).decode(), "region": "us-east-1",
            "access_key": "testing", "secret_key": "testing", "endpoint_url": "http://127.0.0.1:9",
            "_ansible_tracebacks_for": ["error"]}
    with patch_module_args(args), pytest.raises(SystemExit):
        kms_key_material.main()
    result = json.loads(capsys.readouterr().out)
    assert result["failed"] and "withheld" in result["msg"]
    assert "in leaky" in result["exception"] and "RuntimeError: boom" not in result["exception"]
    assert_no_secret(result, AES)
