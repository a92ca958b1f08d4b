# -*- coding: utf-8 -*-
# Copyright: byok.kms contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Import, renew, rotate and revoke the key material of an EXTERNAL KMS key. Private to byok.kms.

``ensure_key_material`` is the whole of ``byok.kms.kms_key_material``: it takes a :class:`KmsClient`,
the module's parameters as a plain dict and the key material as bytes (never the AnsibleModule), so it
can run in an action plugin as well. It is built from

* pure decisions (:func:`expiry_request`, :func:`import_reason`, :func:`plan`, ...) that look only at
  KeyMetadata, the key check value tag and the requested expiry, and
* small steps that each make one or two KMS calls.

Secrets: the material (and its wrapped form) is only ever passed to the wrapping function and to
ImportKeyMaterial. It is not stored in results, diffs, warnings or exceptions; every exception that
leaves :func:`ensure_key_material` is a :class:`ByokError` whose text was checked for the material.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import hmac
import os
import stat
from dataclasses import dataclass
from typing import Any

from ansible_collections.byok.kms.plugins.module_utils._errors import ByokError
from ansible_collections.byok.kms.plugins.module_utils._errors import KmsError
from ansible_collections.byok.kms.plugins.module_utils._errors import ValidationError
from ansible_collections.byok.kms.plugins.module_utils._keys import KCV_TAG
from ansible_collections.byok.kms.plugins.module_utils._keys import find_key
from ansible_collections.byok.kms.plugins.module_utils._keys import key_metadata_to_result
from ansible_collections.byok.kms.plugins.module_utils._keys import key_tags
from ansible_collections.byok.kms.plugins.module_utils._keys import require_external_customer_key
from ansible_collections.byok.kms.plugins.module_utils._keys import utc
from ansible_collections.byok.kms.plugins.module_utils._validation import validate_key_reference
from ansible_collections.byok.kms.plugins.module_utils import _material
from ansible_collections.byok.kms.plugins.module_utils import _wrap

STATES = ("present", "absent", "rotated")
WRAPPING_KEY_SPECS = _wrap.WRAPPING_KEY_SPECS
DEFAULT_WRAPPING_KEY_SPEC = _wrap.DEFAULT_WRAPPING_KEY_SPEC
EXPIRES = "KEY_MATERIAL_EXPIRES"
DOES_NOT_EXPIRE = "KEY_MATERIAL_DOES_NOT_EXPIRE"
MAX_VALID_DAYS = 365
DEFAULT_RENEW_WITHIN_DAYS = 30
# With valid_days, material that expires later than valid_days from now (plus this much clock skew)
# was imported with a longer validity and is re-imported; right after an import it never is.
VALID_DAYS_TOLERANCE = datetime.timedelta(hours=1)
MAX_DESCRIPTION_LENGTH = 256
# States in which the key's material can be imported or deleted.
WORKABLE_STATES = ("Enabled", "Disabled", "PendingImport")
# Actions a run can take; "none" changes nothing.
NONE, IMPORT, REIMPORT, SETTLE, ROTATE, DELETE = "none", "import", "reimport", "settle", "rotate", "delete"

DIFFERENT_MATERIAL = (
    "the key material given for {key} is not the key material of the key ({how}). KMS only ever accepts "
    "the material first imported into a key (or, for a symmetric key, the material it was rotated to): "
    "importing other material is impossible. To change the material of a symmetric key use "
    "state=rotated; an asymmetric or HMAC key needs a new key. Nothing was changed."
)

ROTATION_REFUSED = (
    "KMS refused the given material as new key material for {key} (IncorrectKeyMaterialException): it is already "
    "associated with the key, as an earlier material (which cannot become current again: rotate to new material) "
    "or as material pending rotation after an interrupted run (then finish it with RotateKeyOnDemand, e.g. "
    "`aws kms rotate-key-on-demand --key-id <key id>`). The key's current material was not changed."
)


@dataclass(frozen=True)
class Expiry:
    """The requested expiry. ``valid_to`` is fixed for an absolute date, None for ``valid_days``
    (computed at import time) and for material that does not expire."""

    model: str
    valid_to: datetime.datetime | None = None
    valid_days: int | None = None
    renew_within: datetime.timedelta | None = None

    def valid_to_at(self, now: datetime.datetime) -> datetime.datetime | None:
        """The ValidTo to send to ImportKeyMaterial for an import made at ``now``."""
        if self.valid_days is not None:
            return (now + datetime.timedelta(days=self.valid_days)).replace(microsecond=0)
        return self.valid_to


# ---------------------------------------------------------------------------------------------
# Pure decisions
# ---------------------------------------------------------------------------------------------
def parse_valid_to(value: Any, now: datetime.datetime) -> datetime.datetime:
    """``valid_to`` (ISO 8601; without a zone it is UTC) as an aware UTC datetime, whole seconds,
    in the future and at most 365 days ahead."""
    allowed = "an ISO 8601 date and time (e.g. 2030-01-31T00:00:00Z) in the future and at most 365 days ahead"
    if isinstance(value, datetime.datetime):
        parsed = value
    elif isinstance(value, datetime.date):
        parsed = datetime.datetime(value.year, value.month, value.day)
    else:
        text = str(value).strip()
        if text[-1:] in ("Z", "z"):
            text = text[:-1] + "+00:00"
        try:
            parsed = datetime.datetime.fromisoformat(text)
        except ValueError:
            raise ValidationError("valid_to", value, allowed) from None
    parsed = utc(parsed).replace(microsecond=0)
    if parsed <= now:
        raise ValidationError("valid_to", value, allowed, f"valid_to: {value!r} is in the past (now is {now.isoformat()}); {allowed}")
    if parsed > now + datetime.timedelta(days=MAX_VALID_DAYS):
        raise ValidationError("valid_to", value, allowed, f"valid_to: {value!r} is more than {MAX_VALID_DAYS} days ahead; {allowed}")
    return parsed


def renew_window(valid_days: int, renew_within_days: Any) -> datetime.timedelta:
    """How close to its expiry material is re-imported: ``renew_within_days`` if given (it must be
    smaller than ``valid_days``), else 30 days but at most a third of ``valid_days``, so that a run
    right after an import never re-imports."""
    if renew_within_days is None:
        return min(datetime.timedelta(days=DEFAULT_RENEW_WITHIN_DAYS), datetime.timedelta(days=valid_days) / 3)
    days = _as_int("renew_within_days", renew_within_days, f"an integer from 0 to valid_days - 1 ({valid_days - 1})")
    if not 0 <= days < valid_days:
        raise ValidationError("renew_within_days", renew_within_days, f"an integer from 0 to valid_days - 1 ({valid_days - 1}): "
                              "with a larger value every run would re-import")
    return datetime.timedelta(days=days)


def _as_int(option: str, value: Any, allowed: str) -> int:
    if isinstance(value, bool):
        raise ValidationError(option, value, allowed)
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValidationError(option, value, allowed) from None


def expiry_request(params: dict, now: datetime.datetime) -> Expiry:
    """The requested expiry from ``valid_to``, ``valid_days`` and ``renew_within_days``."""
    valid_to, valid_days, renew = params.get("valid_to"), params.get("valid_days"), params.get("renew_within_days")
    if valid_to is not None and valid_days is not None:
        raise ValidationError("valid_to", valid_to, "either valid_to or valid_days, not both")
    if valid_days is not None:
        days = _as_int("valid_days", valid_days, f"an integer from 1 to {MAX_VALID_DAYS}")
        if not 1 <= days <= MAX_VALID_DAYS:
            raise ValidationError("valid_days", valid_days, f"an integer from 1 to {MAX_VALID_DAYS}")
        return Expiry(EXPIRES, valid_days=days, renew_within=renew_window(days, renew))
    if renew is not None:
        raise ValidationError("renew_within_days", renew, "only together with valid_days (material with valid_to or "
                              "without expiry is never renewed)")
    if valid_to is not None:
        return Expiry(EXPIRES, valid_to=parse_valid_to(valid_to, now))
    return Expiry(DOES_NOT_EXPIRE)


def validate_params(params: dict, material: bytes | None, now: datetime.datetime) -> Expiry:
    """Everything that can be checked without the key: fails before any KMS call."""
    state = params.get("state") or "present"
    if state not in STATES:
        raise ValidationError("state", state, "one of " + ", ".join(STATES))
    validate_key_reference(params.get("key"), "key")
    if state != "absent" and material is None:
        raise ValidationError("key_material", None, f"key_material or key_material_path is required with state={state}")
    spec = params.get("wrapping_key_spec") or DEFAULT_WRAPPING_KEY_SPEC
    if spec not in WRAPPING_KEY_SPECS:
        raise ValidationError("wrapping_key_spec", spec, "one of " + ", ".join(WRAPPING_KEY_SPECS))
    algorithm = params.get("wrapping_algorithm")
    if algorithm is not None and algorithm not in _wrap.WRAPPING_ALGORITHMS:
        raise ValidationError("wrapping_algorithm", algorithm, "one of " + ", ".join(_wrap.WRAPPING_ALGORITHMS))
    description = params.get("key_material_description")
    if description is not None and not 1 <= len(str(description)) <= MAX_DESCRIPTION_LENGTH:
        raise ValidationError("key_material_description", description, f"1 to {MAX_DESCRIPTION_LENGTH} characters")
    return expiry_request(params, now)


def check_key_workable(metadata: dict, key: str) -> None:
    """Refuse keys whose material byok.kms cannot manage, before any write."""
    require_external_customer_key(metadata, key)
    state = metadata.get("KeyState")
    if state == "PendingDeletion":
        raise ByokError(
            f"{key} ({metadata.get('Arn')}) is pending deletion (on {_iso(metadata.get('DeletionDate'))}): its key "
            "material cannot be imported or deleted. Cancel the deletion first (kms_external_key state=present "
            "or CancelKeyDeletion). The key was left unchanged.",
            key_id=metadata.get("KeyId"), key_state=state,
        )
    if state not in WORKABLE_STATES:
        raise ByokError(
            f"{key} ({metadata.get('Arn')}) is in state {state}: its key material can only be managed in the "
            f"states {', '.join(WORKABLE_STATES)}. The key was left unchanged.",
            key_id=metadata.get("KeyId"), key_state=state,
        )


def check_spec_options(metadata: dict, params: dict, key: str) -> tuple[str, str]:
    """Options that depend on the key spec; returns the spec and its family."""
    spec = metadata.get("KeySpec") or metadata.get("CustomerMasterKeySpec") or "SYMMETRIC_DEFAULT"
    family = _material.key_spec_family(spec)
    state = params.get("state") or "present"
    if state == "rotated" and family != "symmetric":
        raise ValidationError("state", state, f"present or absent for {key}: KMS rotates imported material of "
                              f"SYMMETRIC_DEFAULT keys only, and {key} is {spec}")
    if params.get("key_material_description") is not None and family != "symmetric":
        raise ValidationError("key_material_description", params["key_material_description"],
                              f"only for SYMMETRIC_DEFAULT keys; {key} is {spec}: leave it unset")
    return spec, family


def wrapping_choice(spec: str, material_length: int, params: dict) -> tuple[str, str]:
    """(wrapping algorithm, wrapping key spec) for this key spec and material: the default algorithm
    fits the spec; an explicit one must be allowed for it, and the material must fit."""
    algorithm = params.get("wrapping_algorithm") or _wrap.default_wrapping_algorithm(spec)
    wrapping_key_spec = params.get("wrapping_key_spec") or DEFAULT_WRAPPING_KEY_SPEC
    _wrap.check_wrapping(spec, material_length, algorithm, wrapping_key_spec)
    return algorithm, wrapping_key_spec


def import_reason(metadata: dict, expiry: Expiry, now: datetime.datetime) -> str | None:
    """Why the (same) material must be imported now, or None when it is in place as requested."""
    if metadata.get("KeyState") == "PendingImport":
        if metadata.get("CurrentKeyMaterialId") or metadata.get("ExpirationModel"):
            return "the key has no usable material (expired or deleted)"
        return "the key has no material yet"
    current_model = metadata.get("ExpirationModel")
    if current_model != expiry.model:
        return f"expiration model {current_model} differs from the requested {expiry.model}"
    if expiry.model == DOES_NOT_EXPIRE:
        return None
    current = metadata.get("ValidTo")
    current = utc(current) if isinstance(current, datetime.datetime) else _parse_iso(current)
    if current is None:
        return "the key's material has no expiry date"
    if expiry.valid_to is not None:
        if abs((current - expiry.valid_to).total_seconds()) >= 1:
            return f"valid_to {_iso(current)} differs from the requested {_iso(expiry.valid_to)}"
        return None
    if current - now < expiry.renew_within:
        return f"the material expires on {_iso(current)}, within {_days(expiry.renew_within)} (renew_within_days)"
    if current - now > datetime.timedelta(days=expiry.valid_days) + VALID_DAYS_TOLERANCE:
        return f"the material expires on {_iso(current)}, more than valid_days={expiry.valid_days} days ahead"
    return None


def identity(expected_kcv: str | None, tag_kcv: str | None) -> str:
    """``same``, ``different`` or ``unknown`` from two key check values."""
    if expected_kcv is None or tag_kcv is None:
        return "unknown"
    return "same" if hmac.compare_digest(expected_kcv.lower(), tag_kcv.lower()) else "different"


def plan(state: str, metadata: dict, material_identity: str, reason: str | None, key: str = "the key",
         how: str = "") -> str:
    """The action for this run.

    ``material_identity`` is ``same``, ``different`` or ``unknown`` (whether the given material is the
    key's current material); ``reason`` is :func:`import_reason`'s answer; ``key`` and ``how`` go into
    the error raised where KMS would refuse the material, before any write.
    """
    key_state = metadata.get("KeyState")
    if state == "absent":
        return NONE if key_state == "PendingImport" else DELETE
    never_imported = key_state == "PendingImport" and not (metadata.get("CurrentKeyMaterialId") or metadata.get("ExpirationModel"))
    if state == "rotated":
        if never_imported:
            return IMPORT
        if material_identity != "same" and key_state == "Disabled":
            # RotateKeyOnDemand fails on a disabled key: importing NEW_KEY_MATERIAL first would leave it pending.
            raise ByokError(f"{key} is Disabled: KMS rotates the material of enabled keys only (RotateKeyOnDemand), and "
                            "the given material is not known to be its current material. Enable the key first "
                            "(kms_external_key enabled=true), then rotate. Nothing was changed.", key_id=metadata.get("KeyId"))
        if material_identity == "different":
            if key_state == "PendingImport":
                raise ByokError(f"rotation needs usable key material, but {key} is PendingImport (its material expired or "
                                "was deleted). Import its current material again with state=present, then rotate. "
                                "Nothing was changed.", key_id=metadata.get("KeyId"))
            return ROTATE
        if material_identity == "unknown" and key_state != "PendingImport":
            # Only a re-import tells: it succeeds with the current material, else rotate.
            return SETTLE
    elif material_identity == "different":
        raise ByokError(DIFFERENT_MATERIAL.format(key=key, how=how), key_id=metadata.get("KeyId"))
    if reason is not None:
        return IMPORT if key_state == "PendingImport" else REIMPORT
    if material_identity == "unknown" and (metadata.get("KeySpec") or "SYMMETRIC_DEFAULT") == "SYMMETRIC_DEFAULT":
        return SETTLE
    return NONE


def predict_metadata(metadata: dict, action: str, expiry: Expiry, now: datetime.datetime) -> dict:
    """KeyMetadata after ``action`` (check mode, and the fallback when the key cannot be read again)."""
    after = dict(metadata)
    if action == DELETE:
        after.update(KeyState="PendingImport", Enabled=False)
        after.pop("ExpirationModel", None)
        after.pop("ValidTo", None)
        return after
    if action in (IMPORT, REIMPORT, SETTLE, ROTATE):
        if after.get("KeyState") == "PendingImport":
            after.update(KeyState="Enabled", Enabled=True)
        after["ExpirationModel"] = expiry.model
        valid_to = expiry.valid_to_at(now)
        if valid_to is None:
            after.pop("ValidTo", None)
        else:
            after["ValidTo"] = valid_to
        if action == ROTATE:
            after.pop("CurrentKeyMaterialId", None)  # computed by KMS: unknown until it rotated
    return after


def material_state(metadata: dict, kcv: str | None) -> dict:
    """The non-secret view of the key's material, for diffs and results."""
    valid_to = metadata.get("ValidTo")
    return {
        "key_state": metadata.get("KeyState"),
        "expiration_model": metadata.get("ExpirationModel"),
        "valid_to": _iso(valid_to) if valid_to else None,
        "key_material_id": metadata.get("CurrentKeyMaterialId"),
        "key_check_value": kcv,
    }


def _parse_iso(value: Any) -> datetime.datetime | None:
    if not value:
        return None
    try:
        return utc(datetime.datetime.fromisoformat(str(value).replace("Z", "+00:00")))
    except ValueError:
        return None


def _iso(value: Any) -> str | None:
    if isinstance(value, datetime.datetime):
        return utc(value).isoformat()
    return None if value is None else str(value)


def _days(delta: datetime.timedelta) -> str:
    days = delta.total_seconds() / 86400
    return f"{days:g} days" if days != 1 else "1 day"


# ---------------------------------------------------------------------------------------------
# Reading the material
# ---------------------------------------------------------------------------------------------
def read_key_material(params: dict) -> tuple[bytes | None, list[str]]:
    """The raw material from ``key_material`` (base64) or ``key_material_path`` (a file on this host),
    None when neither is given; plus warnings (a file readable by group or others)."""
    warnings: list[str] = []
    if params.get("key_material") is not None:
        return _material.decode_key_material_b64(params["key_material"]), warnings
    path = params.get("key_material_path")
    if not path:
        return None, warnings
    try:
        with open(path, "rb") as handle:
            mode = os.fstat(handle.fileno()).st_mode
            raw = handle.read()
    except OSError as e:
        raise ValidationError("key_material_path", path, "a readable file on the host the module runs on",
                              f"key_material_path: cannot read {path!r}: {e.strerror}; give a readable file on the host "
                              "the module runs on") from None
    if stat.S_ISREG(mode) and mode & 0o044:
        warnings.append(f"key_material_path {path} is readable by its group or by others (mode {stat.S_IMODE(mode):04o}): "
                        "key material should be readable by its owner only (chmod 0600)")
    if not raw:
        raise ValidationError("key_material_path", path, "a file holding the key material", f"key_material_path: {path!r} is empty")
    return raw, warnings


# ---------------------------------------------------------------------------------------------
# Steps (KMS calls)
# ---------------------------------------------------------------------------------------------
def read_kcv_tag(client: Any, key_id: str) -> str | None:
    return key_tags(client, key_id).get(KCV_TAG)


def write_kcv_tag(client: Any, key_id: str, kcv: str) -> None:
    client.call("TagResource", KeyId=key_id, Tags=[{"TagKey": KCV_TAG, "TagValue": kcv}])


def asymmetric_identity(client: Any, key_id: str, material: bytes) -> str:
    """Whether the key's public key is the one of ``material``; ``unknown`` if KMS cannot tell now."""
    try:
        remote = client.call("GetPublicKey", KeyId=key_id)["PublicKey"]
    except KmsError as e:
        if e.code in ("DisabledException", "KMSInvalidStateException"):
            return "unknown"
        raise
    return "same" if hmac.compare_digest(bytes(remote), _material.public_key_der(material)) else "different"


def hmac_identity(client: Any, key_id: str, spec: str, material: bytes) -> str:
    """Whether the key computes the same MAC over a fixed message as ``material``."""
    try:
        remote = client.call("GenerateMac", KeyId=key_id, Message=_material.IDENTITY_MESSAGE,
                             MacAlgorithm=_material.mac_algorithm(spec))["Mac"]
    except KmsError as e:
        if e.code in ("DisabledException", "KMSInvalidStateException"):
            return "unknown"
        raise
    local = _material.hmac_mac(spec, material, _material.IDENTITY_MESSAGE)
    return "same" if hmac.compare_digest(bytes(remote), local) else "different"


def import_material(client: Any, key_id: str, material: bytes, wrapping: tuple[str, str], expiry: Expiry,
                    now: datetime.datetime, import_type: str | None = None, description: str | None = None) -> dict:
    """GetParametersForImport, wrap, ImportKeyMaterial; a new token per import, and once more when KMS
    says the token expired. Returns ImportKeyMaterial's response (KeyId, KeyMaterialId)."""
    algorithm, wrapping_key_spec = wrapping
    request: dict = {"KeyId": key_id, "ExpirationModel": expiry.model}
    valid_to = expiry.valid_to_at(now)
    if valid_to is not None:
        request["ValidTo"] = valid_to
    if import_type is not None:
        request["ImportType"] = import_type
    if description is not None:
        request["KeyMaterialDescription"] = description
    for attempt in (1, 2):
        params = client.call("GetParametersForImport", KeyId=key_id, WrappingAlgorithm=algorithm, WrappingKeySpec=wrapping_key_spec)
        try:
            wrapped = _wrap.wrap_key_material(material, bytes(params["PublicKey"]), algorithm)
        except ByokError:
            raise
        except Exception as e:  # never let a crypto error carry the material in its text or traceback
            raise ByokError(f"wrapping the key material with {algorithm} failed: {type(e).__name__}") from None
        try:
            return client.call("ImportKeyMaterial", ImportToken=params["ImportToken"], EncryptedKeyMaterial=wrapped, **request)
        except KmsError as e:
            if e.code == "ExpiredImportTokenException" and attempt == 1:
                continue
            raise
    raise AssertionError("unreachable")  # pragma: no cover


def translate(e: KmsError, key: str, wrapping: tuple[str, str] | None) -> ByokError:
    """A KMS error of the import path as a message a person can act on."""
    algorithm, wrapping_key_spec = wrapping or (None, None)
    messages = {
        "IncorrectKeyMaterialException": DIFFERENT_MATERIAL.format(key=key, how="KMS refused it: IncorrectKeyMaterialException"),
        "InvalidCiphertextException": (
            f"KMS could not unwrap the key material for {key} (InvalidCiphertextException): it was wrapped with "
            f"{algorithm} under the {wrapping_key_spec} public key KMS returned. Check that the material has the "
            "format the key spec needs (raw bytes for symmetric/HMAC, a private key for RSA/ECC)."
        ),
        "ExpiredImportTokenException": (
            f"the import token for {key} expired twice in a row (ExpiredImportTokenException): check the clock of "
            "the host this runs on; a token is valid for 24 hours. Nothing was imported."
        ),
        "InvalidImportTokenException": (
            f"KMS rejected the import token for {key} (InvalidImportTokenException): it belongs to another key or was "
            "already used. Run again; a new token is fetched for every import."
        ),
        "KMSInvalidStateException": (
            f"{key} is not in a state that accepts this change (KMSInvalidStateException: {e.aws_message}). A key pending "
            "deletion accepts no material; a symmetric key accepts one new material pending rotation at a time."
        ),
        "UnsupportedOperationException": (
            f"KMS does not support this for {key} (UnsupportedOperationException: {e.aws_message}): the key must be an "
            "EXTERNAL key, and ImportType/KeyMaterialDescription/rotation apply to SYMMETRIC_DEFAULT keys only."
        ),
        "ValidationException": f"KMS rejected the request for {key} (ValidationException: {e.aws_message}); check valid_to/valid_days.",
        "AccessDeniedException": (
            f"access denied for {e.operation} on {key}: the caller needs kms:{e.operation} in the key policy or IAM "
            f"({e.aws_message})."
        ),
        "DisabledException": f"{key} is disabled: KMS refused {e.operation} ({e.aws_message}). Enable the key first.",
    }
    message = messages.get(e.code)
    if message is None:
        return e
    return ByokError(message, error={"code": e.code, "message": e.aws_message, "operation": e.operation})


# ---------------------------------------------------------------------------------------------
# The whole run
# ---------------------------------------------------------------------------------------------
def ensure_key_material(client: Any, params: dict, check_mode: bool, material: bytes | None,
                        now: datetime.datetime | None = None) -> dict:
    """Bring the key's material to ``params['state']``. ``material`` is the raw material as given
    (base64-decoded ``key_material`` or the bytes of ``key_material_path``); None for state=absent.

    Returns the module result (``changed``, ``key_id``, ..., ``diff``, ``warnings``). Raises
    :class:`ByokError` only, never carrying the material.
    """
    secrets = [material] if material else []
    try:
        return _ensure(client, params, check_mode, material, utc(now or datetime.datetime.now(datetime.timezone.utc)), secrets)
    except ByokError as e:
        raise scrubbed(e, secrets) from None
    except Exception as e:  # an unexpected error: report its type and text, never the material
        raise scrubbed(ByokError(f"{type(e).__name__}: {e}"), secrets) from None


def secret_forms(materials: list[bytes]) -> list[str]:
    """Text forms in which material could show up in an error: base64, hex, latin-1, repr, and the
    base64 lines of a PEM block."""
    forms: list[str] = []
    for material in materials:
        hexed = binascii.hexlify(material).decode()
        forms += [base64.b64encode(material).decode(), hexed, hexed.upper(), material.decode("latin-1"), repr(material)]
        forms += [line.strip() for line in material.decode("latin-1").splitlines() if not line.startswith("-----")]
    return [form for form in forms if len(form) >= 8]


def scrubbed(error: ByokError, materials: list[bytes]) -> ByokError:
    """The error unchanged if its text carries no form of the material; else a neutral one."""
    forms = secret_forms(materials)
    text = error.message + repr(error.details) + (repr(error.value) if isinstance(error, ValidationError) else "")
    if any(form in text for form in forms):
        return ByokError("the key material was rejected (the details are withheld because they contained the material)")
    return error


def _ensure(client: Any, params: dict, check_mode: bool, raw: bytes | None, now: datetime.datetime, secrets: list[bytes]) -> dict:
    state = params.get("state") or "present"
    expiry = validate_params(params, raw, now)
    key = params["key"]

    metadata = find_key(client, key)
    if metadata is None:
        raise ByokError(f"key {key} not found (in this account and region): create it first with byok.kms.kms_external_key")
    check_key_workable(metadata, key)
    key_id = metadata["KeyId"]
    spec, family = check_spec_options(metadata, params, key)
    warnings: list[str] = []

    material = wrapping = kcv = None
    if state != "absent":
        option = "key_material_path" if params.get("key_material_path") else "key_material"
        try:
            material = _material.load_key_material(spec, raw, option)
        except ByokError:
            raise
        except Exception as e:
            raise ValidationError(option, "(withheld)", f"key material that fits {spec} ({type(e).__name__})",
                                  f"{option}: the key material does not fit {spec}: {type(e).__name__}") from None
        secrets.append(material)  # the PKCS#8 DER form of a PEM private key, for the scrubbing of errors
        wrapping = wrapping_choice(spec, len(material), params)
        if family == "symmetric":
            kcv = _material.key_check_value(material)

    # Identity, read only: no write happens before we know the material is the key's.
    tag_kcv = read_kcv_tag(client, key_id) if family == "symmetric" else None
    if state == "absent":
        material_identity = "unknown"
    elif family == "symmetric":
        material_identity = identity(kcv, tag_kcv)
    elif metadata.get("KeyState") == "Enabled":
        if family == "hmac":
            material_identity = hmac_identity(client, key_id, spec, material)
        else:
            material_identity = asymmetric_identity(client, key_id, material)
    else:
        material_identity = "unknown"
    reason = None if state == "absent" else import_reason(metadata, expiry, now)
    how = f"its {KCV_TAG} tag says {tag_kcv}, the given material has {kcv}" if family == "symmetric" else (
        "its public key differs from the one of the given private key" if family != "hmac"
        else "it computes another HMAC over a fixed message than the given material")
    action = plan(state, metadata, material_identity, reason, key, how)
    if material_identity == "unknown" and family in ("hmac", "rsa", "ecc") and action == NONE:
        warnings.append(f"{key} is {metadata.get('KeyState')}: KMS cannot show whether its material is the given one "
                        "(GetPublicKey/GenerateMac need an enabled key); it was left as it is")

    before = material_state(metadata, tag_kcv if family == "symmetric" else None)
    after_metadata = metadata
    if action != NONE:
        if check_mode:
            after_metadata = predict_metadata(metadata, action, expiry, now)
        else:
            action = _apply(client, action, key, key_id, material, wrapping, expiry, now, params, kcv, tag_kcv)
            after_metadata = find_key(client, key_id) or predict_metadata(metadata, action, expiry, now)
    final_kcv = None
    if family == "symmetric":
        final_kcv = tag_kcv if action == DELETE or kcv is None else kcv
    after = material_state(after_metadata, final_kcv)
    result = {
        "changed": action != NONE,
        "action": action,
        "key_id": key_id,
        "key_arn": after_metadata.get("Arn"),
        **after,
        "key_metadata": key_metadata_to_result(after_metadata),
        "diff": {"before": before, "after": after},
        "warnings": warnings,
    }
    return result


def _apply(client: Any, action: str, key: str, key_id: str, material: bytes | None, wrapping: tuple[str, str] | None,
           expiry: Expiry, now: datetime.datetime, params: dict, kcv: str | None, tag_kcv: str | None) -> str:
    """Carry out ``action``; returns the action taken (a settle of state=rotated may turn into a rotation)."""
    description = params.get("key_material_description")
    try:
        if action == DELETE:
            client.call("DeleteImportedKeyMaterial", KeyId=key_id)
            return action
        if action == SETTLE and (params.get("state") == "rotated"):
            try:
                import_material(client, key_id, material, wrapping, expiry, now, description=description)
            except KmsError as e:
                if e.code != "IncorrectKeyMaterialException":
                    raise
                action = ROTATE
        elif action in (IMPORT, REIMPORT, SETTLE):
            import_material(client, key_id, material, wrapping, expiry, now, description=description)
        if action == ROTATE:
            try:
                import_material(client, key_id, material, wrapping, expiry, now, import_type="NEW_KEY_MATERIAL",
                                description=description)
            except KmsError as e:
                if e.code == "IncorrectKeyMaterialException":
                    raise ByokError(ROTATION_REFUSED.format(key=key), key_id=key_id,
                                    error={"code": e.code, "message": e.aws_message, "operation": e.operation}) from None
                raise
            client.call("RotateKeyOnDemand", KeyId=key_id)
    except KmsError as e:
        raise translate(e, key, wrapping) from None
    if kcv is not None and kcv != tag_kcv:
        try:
            write_kcv_tag(client, key_id, kcv)
        except KmsError as e:
            raise ByokError(f"the key material of {key} is in place, but recording its key check value in the tag "
                            f"{KCV_TAG} failed: {e.message}. Later runs will re-import it once to tell.", key_id=key_id) from None
    return action
