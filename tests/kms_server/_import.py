# -*- coding: utf-8 -*-
# Copyright: byok.kms contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The import operations of the local KMS (GetParametersForImport, ImportKeyMaterial,
DeleteImportedKeyMaterial) and the material side of RotateKeyOnDemand / ListKeyRotations.

A mixin of ``_model.ByokKmsBackend``: ``self`` is the backend of one account and region.
"""

from __future__ import annotations

import dataclasses
import os
import threading
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from . import _crypto
from ._control import CONTROLS
from ._errors import (
    DisabledException,
    ExpiredImportTokenException,
    IncorrectKeyMaterialException,
    InvalidImportTokenException,
    InvalidMarkerException,
    KMSInvalidStateException,
    NotFoundException,
    UnsupportedOperationException,
    ValidationException,
)

if TYPE_CHECKING:
    from ._model import ByokKey

EXPIRES, DOES_NOT_EXPIRE = "KEY_MATERIAL_EXPIRES", "KEY_MATERIAL_DOES_NOT_EXPIRE"
NEW, EXISTING = "NEW_KEY_MATERIAL", "EXISTING_KEY_MATERIAL"
MAX_VALID_DAYS = 365


@dataclasses.dataclass
class ImportToken:
    account_id: str
    region: str
    key_id: str
    algorithm: str
    private_key: Any = dataclasses.field(repr=False)
    expires_at: datetime
    used: bool = False


class TokenStore:
    """Import tokens of the whole server: opaque random bytes -> what they were issued for."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tokens: dict[bytes, ImportToken] = {}

    def issue(self, token: ImportToken) -> bytes:
        value = b"byok-import-token:" + os.urandom(48)
        with self._lock:
            self._tokens[value] = token
        return value

    def get(self, value: bytes) -> ImportToken | None:
        with self._lock:
            return self._tokens.get(value)


TOKENS = TokenStore()


def parse_timestamp(value: Any, name: str) -> datetime:
    """A DateType from the JSON protocol: epoch seconds (boto3) or an ISO 8601 string."""
    try:
        if isinstance(value, (int, float)):
            return datetime.fromtimestamp(float(value), timezone.utc)
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
    except (ValueError, OverflowError, OSError) as exc:
        raise ValidationException(f"Value '{value}' at '{name}' is not a valid timestamp.") from exc


class ImportOperations:
    """Mixin of the backend: import, delete and rotate key material."""

    account_id: str
    region_name: str

    def key(self, key_id: str) -> ByokKey:  # provided by the backend
        raise NotImplementedError

    @staticmethod
    def _external_key(key: ByokKey) -> None:
        if not key.is_external:
            raise UnsupportedOperationException(
                f"{key.arn} origin is {key.origin}, which is invalid for this operation.")

    # -- GetParametersForImport -------------------------------------------------------------------------

    def get_parameters_for_import(self, key_id: str, algorithm: str, wrapping_key_spec: str) -> dict[str, Any]:
        key = self.key(key_id)
        if wrapping_key_spec not in _crypto.WRAPPING_KEY_SIZES:
            if wrapping_key_spec == "SM2":
                raise UnsupportedOperationException("The SM2 wrapping key spec is only available in China Regions.")
            raise ValidationException(
                f"1 validation error detected: Value '{wrapping_key_spec}' at 'wrappingKeySpec' failed to satisfy "
                "constraint: Member must satisfy enum value set: [RSA_2048, RSA_3072, RSA_4096]")
        if algorithm in ("RSAES_PKCS1_V1_5", "SM2PKE"):
            raise ValidationException(f"The wrapping algorithm {algorithm} is not supported.")
        if algorithm not in _crypto.OAEP_ALGORITHMS + _crypto.KEY_WRAP_ALGORITHMS:
            raise ValidationException(
                f"1 validation error detected: Value '{algorithm}' at 'wrappingAlgorithm' failed to satisfy "
                "constraint: Member must satisfy enum value set: "
                "[RSAES_OAEP_SHA_1, RSAES_OAEP_SHA_256, RSA_AES_KEY_WRAP_SHA_1, RSA_AES_KEY_WRAP_SHA_256]")
        self._external_key(key)
        if key.key_state not in ("PendingImport", "Enabled", "Disabled"):
            raise KMSInvalidStateException(f"{key.arn} is {key.key_state}.")
        allowed = _crypto.wrapping_algorithms_for(key.key_spec)
        if algorithm not in allowed:
            raise UnsupportedOperationException(
                f"The wrapping algorithm {algorithm} is not supported for key spec {key.key_spec}; "
                f"use one of {', '.join(allowed)}.")
        private_key = _crypto.WRAPPING_KEYS.take(_crypto.WRAPPING_KEY_SIZES[wrapping_key_spec])
        now = CONTROLS.now()
        token = ImportToken(self.account_id, self.region_name, key.id, algorithm, private_key,
                            now + timedelta(seconds=CONTROLS.token_lifetime))
        return {
            "KeyId": key.arn,
            "ImportToken": TOKENS.issue(token),
            "PublicKey": _crypto.public_key_der(private_key),
            "ParametersValidTo": token.expires_at.timestamp(),
        }

    # -- ImportKeyMaterial ----------------------------------------------------------------------------------

    def import_key_material(self, key_id: str, import_token: bytes, encrypted_key_material: bytes,
                            expiration_model: str | None, valid_to: Any, import_type: str | None,
                            description: str | None, key_material_id: str | None) -> dict[str, Any]:
        key = self.key(key_id)
        now = CONTROLS.now()
        expiration_model = expiration_model or EXPIRES
        if expiration_model not in (EXPIRES, DOES_NOT_EXPIRE):
            raise ValidationException(f"Value '{expiration_model}' at 'expirationModel' failed to satisfy constraint.")
        valid_to_at: datetime | None = None
        if expiration_model == EXPIRES:
            if valid_to is None:
                raise ValidationException("ValidTo is required when ExpirationModel is KEY_MATERIAL_EXPIRES.")
            valid_to_at = parse_timestamp(valid_to, "validTo")
            if valid_to_at <= now:
                raise ValidationException("ValidTo must be in the future.")
            if valid_to_at > now + timedelta(days=MAX_VALID_DAYS):
                raise ValidationException(f"ValidTo must be at most {MAX_VALID_DAYS} days from now.")
        elif valid_to is not None:
            raise ValidationException("ValidTo is not valid when ExpirationModel is KEY_MATERIAL_DOES_NOT_EXPIRE.")
        if import_type is not None and import_type not in (NEW, EXISTING):
            raise ValidationException(f"Value '{import_type}' at 'importType' failed to satisfy constraint.")
        if key_material_id is not None and import_type == NEW:
            raise ValidationException("KeyMaterialId cannot be specified with ImportType NEW_KEY_MATERIAL.")
        self._external_key(key)
        if key.kind != "symmetric" and (import_type is not None or description is not None
                                        or key_material_id is not None):
            raise UnsupportedOperationException(
                "ImportType, KeyMaterialDescription and KeyMaterialId are only valid for symmetric encryption keys.")
        if key.key_state not in ("PendingImport", "Enabled", "Disabled"):
            raise KMSInvalidStateException(f"{key.arn} is {key.key_state}.")

        token = TOKENS.get(bytes(import_token or b""))
        if token is None or (token.account_id, token.region, token.key_id) != (
                self.account_id, self.region_name, key.id):
            raise InvalidImportTokenException("The import token is invalid or was issued for another key.")
        if token.used:
            raise InvalidImportTokenException("The import token was already used.")
        if now >= token.expires_at:
            raise ExpiredImportTokenException("The import token has expired.")

        material = _crypto.unwrap(token.private_key, token.algorithm, bytes(encrypted_key_material or b""))
        canonical, private_key = _crypto.canonical_material(key.key_spec, material)
        mat_id = _crypto.material_id(key.id, canonical)
        if key_material_id is not None and key_material_id != mat_id:
            raise IncorrectKeyMaterialException("The key material does not match the KeyMaterialId.")

        from ._model import CURRENT, IMPORTED, PENDING_ROTATION, Material, moto_private_key

        existing = key.find_material(mat_id)
        if key.kind == "symmetric":
            kind = import_type or (NEW if not key.materials else EXISTING)
            if kind == NEW and key.materials:
                if existing is not None:
                    raise IncorrectKeyMaterialException("This key material is already associated with the key.")
                if any(m.state == PENDING_ROTATION for m in key.materials):
                    raise KMSInvalidStateException(f"{key.arn} already has key material pending rotation.")
                if key.multi_region and key.multi_region_configuration["MultiRegionKeyType"] != "PRIMARY":
                    raise UnsupportedOperationException("New key material is imported into the primary key only.")
                target = Material(mat_id, canonical, state=PENDING_ROTATION, description=description or "")
                key.materials.append(target)
            elif kind == NEW or not key.materials:
                # the first material of the key
                if kind == EXISTING:
                    raise IncorrectKeyMaterialException("No key material is associated with the key yet.")
                target = Material(mat_id, canonical, state=CURRENT, description=description or "")
                key.materials.append(target)
            else:
                if existing is None:
                    raise IncorrectKeyMaterialException(
                        "The key material is not the key material previously imported into this key.")
                target = existing
        else:
            if key.materials and existing is None:
                raise IncorrectKeyMaterialException(
                    "The key material is not the key material previously imported into this key.")
            if existing is None:
                target = Material(mat_id, canonical, private_key=private_key, state=CURRENT)
                key.materials.append(target)
            else:
                target = existing
            if key.kind == "hmac":
                key.key_material = canonical
            else:
                key.private_key = moto_private_key(key.key_spec, target.private_key or private_key)

        target.import_state = IMPORTED
        target.expiration_model = expiration_model
        target.valid_to = valid_to_at
        if description is not None:
            target.description = description
        token.used = True
        if key.key_state == "PendingImport" and key.has_all_material():
            key.key_state = "Enabled"
            key.enabled = True
        result: dict[str, Any] = {"KeyId": key.arn}
        if key.kind == "symmetric":
            result["KeyMaterialId"] = mat_id
        return result

    # -- DeleteImportedKeyMaterial -------------------------------------------------------------------------------

    def delete_imported_key_material(self, key_id: str, key_material_id: str | None) -> dict[str, Any]:
        from ._model import PENDING_ROTATION

        key = self.key(key_id)
        self._external_key(key)
        if key_material_id is not None:
            target = key.find_material(key_material_id)
            if target is None:
                raise NotFoundException(f"Key material {key_material_id} is not associated with {key.arn}.")
        else:
            target = key.current_material()
        result: dict[str, Any] = {"KeyId": key.arn}
        if target is None:
            return result  # nothing was ever imported
        if target.state == PENDING_ROTATION:
            key.materials.remove(target)
        else:
            target.forget_import()
        if key.kind == "symmetric":
            result["KeyMaterialId"] = target.id
        if key.key_state in ("Enabled", "Disabled"):
            key.key_state = "PendingImport"
            key.enabled = False
        return result

    # -- rotation ------------------------------------------------------------------------------------------------------

    def rotate_key_on_demand(self, key_id: str) -> str:
        from ._model import CURRENT, NON_CURRENT, PENDING_ROTATION, Material

        key = self.key(key_id)
        if key.kind != "symmetric" or key.key_usage != "ENCRYPT_DECRYPT":
            raise UnsupportedOperationException(f"{key.arn} does not support on-demand rotation.")
        if key.key_state == "Disabled":
            raise DisabledException(f"{key.arn} is disabled.")
        if key.key_state != "Enabled":
            raise KMSInvalidStateException(f"{key.arn} is {key.key_state}.")
        if key.multi_region and key.multi_region_configuration["MultiRegionKeyType"] != "PRIMARY":
            raise UnsupportedOperationException("Rotate the primary key of a multi-Region key.")
        now = CONTROLS.now()
        if key.is_external:
            pending = [m for m in key.materials if m.state == PENDING_ROTATION]
            if not pending or pending[0].import_state != "IMPORTED":
                raise KMSInvalidStateException(
                    f"{key.arn} has no new key material in state PENDING_ROTATION: import it with "
                    "ImportType NEW_KEY_MATERIAL first.")
            new = pending[0]
        else:
            secret = os.urandom(32)
            new = Material(_crypto.material_id(key.id, secret), secret, state=PENDING_ROTATION)
            key.materials.append(new)
        for material in key.materials:
            if material.state == CURRENT:
                material.state = NON_CURRENT
        new.state = CURRENT
        new.rotation_date = now
        new.rotation_type = "ON_DEMAND"
        key.rotations.append({"KeyId": key.id, "RotationDate": now.timestamp(), "RotationType": "ON_DEMAND"})
        return key.id

    def list_key_rotations_with_material(self, key_id: str, include: str | None, limit: int | None,
                                         marker: str | None) -> dict[str, Any]:
        key = self.key(key_id)
        if key.kind != "symmetric":
            raise UnsupportedOperationException(f"{key.arn} does not support rotation.")
        include = include or "ROTATIONS_ONLY"
        if include not in ("ROTATIONS_ONLY", "ALL_KEY_MATERIAL"):
            raise ValidationException(f"Value '{include}' at 'includeKeyMaterial' failed to satisfy constraint.")
        key.refresh()
        with_material = include == "ALL_KEY_MATERIAL"
        materials = [m for m in key.materials if with_material or m.rotation_date is not None]
        entries = [key.rotation_entry(m, with_material) for m in materials]
        start = 0
        if marker:
            try:
                start = int(marker)
            except ValueError as exc:
                raise InvalidMarkerException("The marker is invalid.") from exc
        limit = limit or 1000
        page = entries[start:start + limit]
        result: dict[str, Any] = {"Rotations": page, "Truncated": start + limit < len(entries)}
        if result["Truncated"]:
            result["NextMarker"] = str(start + limit)
        return result
