# -*- coding: utf-8 -*-
# Copyright: byok.kms contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Request handling of the local KMS: moto's ``KmsResponse`` with AWS's validation and the import API."""

from __future__ import annotations

import base64
import json
import re
import threading
from typing import Any

from moto.kms.responses import KmsResponse

from . import _crypto
from ._errors import (
    KMSInvalidStateException,
    MalformedPolicyDocumentException,
    NotAuthorizedException,
    TagException,
    UnsupportedOperationException,
    ValidationException,
)

ORIGINS = ("AWS_KMS", "EXTERNAL", "AWS_CLOUDHSM", "EXTERNAL_KEY_STORE")
KEY_USAGES = ("ENCRYPT_DECRYPT", "SIGN_VERIFY", "GENERATE_VERIFY_MAC", "KEY_AGREEMENT")
ALIAS_PATTERN = re.compile(r"^alias/[a-zA-Z0-9:/_-]+$")
BLOB_PARAMS = ("ImportToken", "EncryptedKeyMaterial")
# moto is not thread-safe and werkzeug serves requests in threads: one KMS request at a time, so that
# e.g. two concurrent CreateAlias calls cannot both succeed (AWS lets exactly one win).
REQUEST_LOCK = threading.RLock()


def allowed_key_usages(key_spec: str) -> tuple[str, ...]:
    kind = _crypto.key_kind(key_spec)
    if kind == "symmetric":
        return ("ENCRYPT_DECRYPT",)
    if kind == "hmac":
        return ("GENERATE_VERIFY_MAC",)
    if kind == "rsa":
        return ("ENCRYPT_DECRYPT", "SIGN_VERIFY")
    if key_spec == "ECC_SECG_P256K1":
        return ("SIGN_VERIFY",)
    if kind == "ecc":
        return ("SIGN_VERIFY", "KEY_AGREEMENT")
    return KEY_USAGES


def validate_tags(tags: Any) -> list[dict[str, str]]:
    """AWS's tag rules: TagException for reserved or too many tags, ValidationException for lengths."""
    if tags is None:
        return []
    if not isinstance(tags, list):
        raise ValidationException("Tags must be a list.")
    if len(tags) > 50:
        raise TagException("A key can have at most 50 tags.")
    for tag in tags:
        key, value = tag.get("TagKey"), tag.get("TagValue")
        if not isinstance(key, str) or not 1 <= len(key) <= 128:
            raise ValidationException(f"Tag key '{key}' must be 1 to 128 characters long.")
        if not isinstance(value, str) or len(value) > 256:
            raise ValidationException(f"Tag value for '{key}' must be 0 to 256 characters long.")
        if key.lower().startswith("aws:"):
            raise TagException(f"Tag key '{key}' uses the reserved prefix aws:.")
    return tags


def validate_policy(policy: Any) -> None:
    if policy is None:
        return
    if not isinstance(policy, str) or len(policy.encode()) > 32768:
        raise MalformedPolicyDocumentException("The key policy must be a JSON document of at most 32 KB.")
    try:
        document = json.loads(policy)
    except ValueError as exc:
        raise MalformedPolicyDocumentException(f"The key policy is not valid JSON: {exc}.") from exc
    if not isinstance(document, dict) or not isinstance(document.get("Statement"), (list, dict)):
        raise MalformedPolicyDocumentException("The key policy must be a JSON object with a Statement.")


class ByokKmsResponse(KmsResponse):
    """KMS requests, AWS-faithful for what byok.kms relies on. Methods are named after the operations."""

    def call_action(self) -> Any:
        with REQUEST_LOCK:
            return super().call_action()

    @property
    def kms_backend(self) -> Any:
        from moto.kms import models

        return models.kms_backends[self.current_account][self.region]

    def _get_param(self, param_name: str, if_none: Any = None) -> Any:
        value = super()._get_param(param_name, if_none)
        if param_name in BLOB_PARAMS and isinstance(value, str):
            try:
                return base64.b64decode(value.encode(), validate=True)
            except ValueError as exc:
                raise ValidationException(f"{param_name} is not valid base64.") from exc
        return value

    def _key_arg(self) -> Any:
        """The key of a KeyId that must be a key id or key ARN (not an alias)."""
        key_id = self._get_param("KeyId")
        if not key_id:
            raise ValidationException("KeyId is required.")
        self._validate_cmk_id(key_id)
        return self.kms_backend.key(key_id)

    # -- keys ----------------------------------------------------------------------------------------

    def create_key(self) -> str:
        origin = self._get_param("Origin") or "AWS_KMS"
        if origin not in ORIGINS:
            raise ValidationException(f"Value '{origin}' at 'origin' failed to satisfy constraint: "
                                      f"Member must satisfy enum value set: {list(ORIGINS)}")
        if origin not in ("AWS_KMS", "EXTERNAL"):
            raise UnsupportedOperationException(f"Origin {origin} needs a custom key store, which this local KMS lacks.")
        key_spec = self._get_param("KeySpec") or self._get_param("CustomerMasterKeySpec") or "SYMMETRIC_DEFAULT"
        if _crypto.key_kind(key_spec) == "other" and key_spec != "SM2":
            raise ValidationException(f"Value '{key_spec}' at 'keySpec' failed to satisfy constraint.")
        key_usage = self._get_param("KeyUsage") or "ENCRYPT_DECRYPT"
        if key_usage not in KEY_USAGES:
            raise ValidationException(f"Value '{key_usage}' at 'keyUsage' failed to satisfy constraint.")
        if key_usage not in allowed_key_usages(key_spec):
            raise ValidationException(f"KeyUsage {key_usage} is not compatible with KeySpec {key_spec}.")
        description = self._get_param("Description") or ""
        if len(description) > 8192:
            raise ValidationException("Description must be at most 8192 characters long.")
        policy = self._get_param("Policy")
        validate_policy(policy)
        tags = validate_tags(self._get_param("Tags"))
        key = self.kms_backend.create_key(policy, key_usage, key_spec, description, tags,
                                          bool(self._get_param("MultiRegion")), origin)
        return json.dumps(key.to_dict())

    def put_key_policy(self) -> str:
        validate_policy(self._get_param("Policy"))
        return super().put_key_policy()

    def tag_resource(self) -> str:
        key = self._key_arg()
        tags = validate_tags(self._get_param("Tags") or [])
        if key.key_state == "PendingDeletion":
            raise KMSInvalidStateException(f"{key.arn} is pending deletion.")
        existing = {t["TagKey"] for t in self.kms_backend.tagger.list_tags_for_resource(key.id)["Tags"]}
        if len(existing | {t["TagKey"] for t in tags}) > 50:
            raise TagException("A key can have at most 50 tags.")
        self.kms_backend.tag_resource(key.id, {t["TagKey"]: t["TagValue"] for t in tags})
        return "{}"

    def untag_resource(self) -> str:
        key = self._key_arg()
        if key.key_state == "PendingDeletion":
            raise KMSInvalidStateException(f"{key.arn} is pending deletion.")
        self.kms_backend.untag_resource(key.id, self._get_param("TagKeys") or [])
        return "{}"

    def enable_key(self) -> str:
        self.kms_backend.enable_key(self._key_arg().id)
        return "{}"

    def disable_key(self) -> str:
        self.kms_backend.disable_key(self._key_arg().id)
        return "{}"

    def schedule_key_deletion(self) -> str:
        key = self._key_arg()
        window = self._get_param("PendingWindowInDays")
        window = 30 if window is None else window
        if not isinstance(window, int) or isinstance(window, bool) or not 7 <= window <= 30:
            raise ValidationException(
                f"1 validation error detected: Value '{window}' at 'pendingWindowInDays' failed to satisfy "
                "constraint: Member must have value between 7 and 30")
        deletion_date = self.kms_backend.schedule_key_deletion(key.id, window)
        return json.dumps({"KeyId": key.arn, "DeletionDate": deletion_date, "KeyState": "PendingDeletion",
                           "PendingWindowInDays": window})

    def cancel_key_deletion(self) -> str:
        key = self._key_arg()
        self.kms_backend.cancel_key_deletion(key.id)
        return json.dumps({"KeyId": key.arn})

    def update_key_description(self) -> str:
        key = self._key_arg()
        description = self._get_param("Description") or ""
        if len(description) > 8192:
            raise ValidationException("Description must be at most 8192 characters long.")
        if key.key_state == "PendingDeletion":
            raise KMSInvalidStateException(f"{key.arn} is pending deletion.")
        key.description = description
        return "{}"

    def replicate_key(self) -> str:
        key = self._key_arg()
        region = self._get_param("ReplicaRegion")
        if not region or region == self.region:
            raise ValidationException("ReplicaRegion must be another region.")
        policy = self._get_param("Policy")
        validate_policy(policy)
        tags = validate_tags(self._get_param("Tags"))
        replica = self.kms_backend.replicate_key(key.id, region)
        replica.policy = policy or replica.generate_default_policy()
        description = self._get_param("Description")
        if description is not None:
            replica.description = description
        from moto.kms import models

        target = models.kms_backends[self.current_account][region]
        if tags:
            target.tagger.tag_resource(replica.id, tags)
        return json.dumps({"ReplicaKeyMetadata": target.describe_key(replica.id).to_dict()["KeyMetadata"],
                           "ReplicaPolicy": replica.policy,
                           "ReplicaTags": tags})

    # -- aliases -------------------------------------------------------------------------------------

    def _set_alias(self, update: bool = False) -> str:
        alias_name = self._get_param("AliasName") or ""
        target_key_id = self._get_param("TargetKeyId") or ""
        if alias_name.startswith("alias/aws/"):
            raise NotAuthorizedException(f"{alias_name}: the alias/aws/ prefix is reserved for AWS managed keys.")
        if len(alias_name) > 256 or not ALIAS_PATTERN.match(alias_name):
            raise ValidationException(
                f"1 validation error detected: Value '{alias_name}' at 'aliasName' failed to satisfy constraint: "
                "Member must satisfy regular expression pattern: ^alias/[a-zA-Z0-9:/_-]+$ (at most 256 characters)")
        if self.kms_backend.alias_exists(target_key_id):
            raise ValidationException("Aliases must refer to keys. Not aliases")
        self._validate_cmk_id(target_key_id)
        key = self.kms_backend.key(target_key_id)
        if key.key_state == "PendingDeletion":
            raise KMSInvalidStateException(f"{key.arn} is pending deletion.")
        return super()._set_alias(update)

    # -- cryptographic operations ---------------------------------------------------------------------

    def get_public_key(self) -> str:
        key_id = self._get_param("KeyId")
        self._validate_key_id(key_id)
        key, public_key = self.kms_backend.get_public_key(key_id)
        result = {"KeyId": key.arn, "KeySpec": key.key_spec, "CustomerMasterKeySpec": key.key_spec,
                  "KeyUsage": key.key_usage, "PublicKey": base64.b64encode(public_key).decode()}
        if key.encryption_algorithms:
            result["EncryptionAlgorithms"] = key.encryption_algorithms
        if key.signing_algorithms:
            result["SigningAlgorithms"] = key.signing_algorithms
        return json.dumps(result)

    def verify_mac(self) -> str:
        super().verify_mac()
        key = self.kms_backend.key(self._get_param("KeyId"))
        return json.dumps({"KeyId": key.arn, "MacValid": True, "MacAlgorithm": self._get_param("MacAlgorithm")})

    # -- material ------------------------------------------------------------------------------------

    def get_parameters_for_import(self) -> str:
        key = self._key_arg()
        result = self.kms_backend.get_parameters_for_import(
            key.id, self._get_param("WrappingAlgorithm"), self._get_param("WrappingKeySpec"))
        for name in ("ImportToken", "PublicKey"):
            result[name] = base64.b64encode(result[name]).decode()
        return json.dumps(result)

    def import_key_material(self) -> str:
        key = self._key_arg()
        description = self._get_param("KeyMaterialDescription")
        if description is not None and (len(description) > 256 or not re.match(r"^[a-zA-Z0-9:/_\s.-]*$", description)):
            raise ValidationException("KeyMaterialDescription must be at most 256 characters of [a-zA-Z0-9:/_ .-].")
        material_id = self._get_param("KeyMaterialId")
        if material_id is not None and not re.match(r"^[a-f0-9]{64}$", material_id):
            raise ValidationException("KeyMaterialId must be 64 lowercase hexadecimal characters.")
        if not self._get_param("ImportToken") or not self._get_param("EncryptedKeyMaterial"):
            raise ValidationException("ImportToken and EncryptedKeyMaterial are required.")
        result = self.kms_backend.import_key_material(
            key.id, self._get_param("ImportToken"), self._get_param("EncryptedKeyMaterial"),
            self._get_param("ExpirationModel"), self._get_param("ValidTo"), self._get_param("ImportType"),
            description, material_id)
        return json.dumps(result)

    def delete_imported_key_material(self) -> str:
        key = self._key_arg()
        return json.dumps(self.kms_backend.delete_imported_key_material(key.id, self._get_param("KeyMaterialId")))

    def rotate_key_on_demand(self) -> str:
        key = self._key_arg()
        return json.dumps({"KeyId": self.kms_backend.rotate_key_on_demand(key.id)})

    def list_key_rotations(self) -> str:
        key = self._key_arg()
        return json.dumps(self.kms_backend.list_key_rotations_with_material(
            key.id, self._get_param("IncludeKeyMaterial"), self._get_param("Limit"), self._get_param("Marker")))
