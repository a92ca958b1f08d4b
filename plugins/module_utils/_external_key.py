# -*- coding: utf-8 -*-
# Copyright: byok.kms contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""An EXTERNAL-origin KMS key under an alias, made to match the options of kms_external_key.
Private to byok.kms.

:func:`ensure_external_key` does the whole job with a :class:`KmsClient`; it never sees an
AnsibleModule, so the same code can run in a module or in the controller's worker process.
Every ``ensure_*`` step returns whether it changed something, writes only outside check mode and
leaves alone what its option leaves unset (None).

Calls: a run that changes nothing makes exactly three (DescribeKey on the alias, GetKeyPolicy,
ListResourceTags). A create makes DescribeKey, CreateKey, CreateAlias and PutKeyPolicy (the
policy built from key_admins/key_users/external_account_ids needs the account id, which the new
key's ARN gives; no STS call, so a KMS VPC endpoint in ``endpoint_url`` is enough).
"""

from __future__ import annotations

import datetime
from typing import Any

from ansible_collections.amazon.aws.plugins.module_utils.tagging import ansible_dict_to_boto3_tag_list
from ansible_collections.amazon.aws.plugins.module_utils.tagging import compare_aws_tags

from ansible_collections.byok.kms.plugins.module_utils._errors import ByokError
from ansible_collections.byok.kms.plugins.module_utils._errors import KmsError
from ansible_collections.byok.kms.plugins.module_utils._errors import ValidationError
from ansible_collections.byok.kms.plugins.module_utils._key_policy import account_and_partition
from ansible_collections.byok.kms.plugins.module_utils._key_policy import build_key_policy
from ansible_collections.byok.kms.plugins.module_utils._key_policy import parse_policy
from ansible_collections.byok.kms.plugins.module_utils._key_policy import policies_differ
from ansible_collections.byok.kms.plugins.module_utils._key_policy import policy_to_json
from ansible_collections.byok.kms.plugins.module_utils._keys import find_key
from ansible_collections.byok.kms.plugins.module_utils._keys import key_metadata_to_result
from ansible_collections.byok.kms.plugins.module_utils._keys import key_tags
from ansible_collections.byok.kms.plugins.module_utils._keys import require_external_customer_key
from ansible_collections.byok.kms.plugins.module_utils._validation import AWS_TAG_PREFIX
from ansible_collections.byok.kms.plugins.module_utils._validation import BYOK_TAG_PREFIX
from ansible_collections.byok.kms.plugins.module_utils._validation import DELETION_WINDOW_MIN
from ansible_collections.byok.kms.plugins.module_utils._validation import is_reserved_tag_key
from ansible_collections.byok.kms.plugins.module_utils._validation import validate_account_ids
from ansible_collections.byok.kms.plugins.module_utils._validation import validate_alias
from ansible_collections.byok.kms.plugins.module_utils._validation import validate_deletion_window
from ansible_collections.byok.kms.plugins.module_utils._validation import validate_description
from ansible_collections.byok.kms.plugins.module_utils._validation import validate_policy
from ansible_collections.byok.kms.plugins.module_utils._validation import validate_principal_arns
from ansible_collections.byok.kms.plugins.module_utils._validation import validate_tags

# Key specs that accept imported material, and the usages each allows (the first is the default).
KEY_USAGES: dict[str, list[str]] = {
    "SYMMETRIC_DEFAULT": ["ENCRYPT_DECRYPT"],
    "HMAC_224": ["GENERATE_VERIFY_MAC"],
    "HMAC_256": ["GENERATE_VERIFY_MAC"],
    "HMAC_384": ["GENERATE_VERIFY_MAC"],
    "HMAC_512": ["GENERATE_VERIFY_MAC"],
    "RSA_2048": ["ENCRYPT_DECRYPT", "SIGN_VERIFY"],
    "RSA_3072": ["ENCRYPT_DECRYPT", "SIGN_VERIFY"],
    "RSA_4096": ["ENCRYPT_DECRYPT", "SIGN_VERIFY"],
    "ECC_NIST_P256": ["SIGN_VERIFY", "KEY_AGREEMENT"],
    "ECC_NIST_P384": ["SIGN_VERIFY", "KEY_AGREEMENT"],
    "ECC_NIST_P521": ["SIGN_VERIFY", "KEY_AGREEMENT"],
    "ECC_SECG_P256K1": ["SIGN_VERIFY"],
}
KEY_SPECS = list(KEY_USAGES)
ALL_KEY_USAGES = ["ENCRYPT_DECRYPT", "SIGN_VERIFY", "GENERATE_VERIFY_MAC", "KEY_AGREEMENT"]
DEFAULT_KEY_SPEC = "SYMMETRIC_DEFAULT"
# Placeholder for the account id in a policy predicted in check mode before the key exists.
UNKNOWN_ACCOUNT = "ACCOUNT_ID"
# States in which EnableKey/DisableKey apply; a PendingImport key is left as it is.
TOGGLE_STATES = ("Enabled", "Disabled")

_POLICY_OPTIONS = ("key_admins", "key_users", "external_account_ids")

_DEFAULTS: dict[str, Any] = {
    "state": "present",
    "description": None,
    "tags": None,
    "purge_tags": True,
    "key_spec": None,
    "key_usage": None,
    "multi_region": None,
    "key_admins": None,
    "key_users": None,
    "external_account_ids": None,
    "allow_key_admins_to_delete": True,
    "policy": None,
    "bypass_policy_lockout_safety_check": False,
    "enabled": None,
    "deletion_window_days": 30,
}


def default_key_usage(key_spec: str) -> str:
    """The usage a key of this spec gets when ``key_usage`` is not given (RSA: ENCRYPT_DECRYPT, as in KMS)."""
    return KEY_USAGES[key_spec][0]


def _validate_usage(key_spec: str, key_usage: str) -> None:
    if key_usage not in KEY_USAGES[key_spec]:
        raise ValidationError(
            "key_usage", key_usage, f"a {key_spec} key allows key_usage " + " or ".join(KEY_USAGES[key_spec])
        )


def validate_external_key_params(params: dict) -> dict:
    """The options of kms_external_key checked and normalised; raises ValidationError before any
    call. Idempotent: validating the result again gives the same result."""
    p = dict(_DEFAULTS)
    p.update({k: v for k, v in params.items() if v is not None or k not in _DEFAULTS})
    if "alias" not in p:
        raise ValidationError("alias", None, "alias is required")
    p["alias"] = validate_alias(p["alias"])
    if p["state"] not in ("present", "absent"):
        raise ValidationError("state", p["state"], "state is present or absent")
    p["description"] = validate_description(p["description"])
    p["tags"] = validate_tags(p["tags"])
    p["key_admins"] = validate_principal_arns(p["key_admins"], "key_admins")
    p["key_users"] = validate_principal_arns(p["key_users"], "key_users")
    p["external_account_ids"] = validate_account_ids(p["external_account_ids"], "external_account_ids")
    p["policy"] = validate_policy(p["policy"])
    if p["policy"] is not None:
        # allow_key_admins_to_delete defaults to true: only an explicit false can clash.
        clash = [o for o in _POLICY_OPTIONS if p[o] is not None] + (["allow_key_admins_to_delete"] if not p["allow_key_admins_to_delete"] else [])
        if clash:
            raise ValidationError(
                "policy", "(a policy)", "give either policy or " + ", ".join(_POLICY_OPTIONS),
                message=f"policy and {', '.join(clash)} are mutually exclusive: give either a full policy or the lists to build one from",
            )
    if p["key_spec"] is not None and p["key_spec"] not in KEY_USAGES:
        raise ValidationError("key_spec", p["key_spec"], "key specs that accept imported material: " + ", ".join(KEY_SPECS))
    if p["key_usage"] is not None:
        if p["key_usage"] not in ALL_KEY_USAGES:
            raise ValidationError("key_usage", p["key_usage"], "key usages: " + ", ".join(ALL_KEY_USAGES))
        if p["key_spec"] is not None:
            _validate_usage(p["key_spec"], p["key_usage"])
    p["deletion_window_days"] = validate_deletion_window(p["deletion_window_days"])
    for option in ("purge_tags", "allow_key_admins_to_delete", "bypass_policy_lockout_safety_check"):
        p[option] = bool(p[option])
    return p


# ----------------------------------------------------------------------------------------------
# Pieces of the result


def _policy_of(client: Any, key_id: str) -> dict:
    return parse_policy(client.call("GetKeyPolicy", KeyId=key_id, PolicyName="default").get("Policy"))


def _diff_view(metadata: dict, policy: dict | None, tags: dict | None) -> dict:
    return {
        "description": metadata.get("Description", ""),
        "enabled": metadata.get("Enabled"),
        "key_state": metadata.get("KeyState"),
        "tags": dict(tags or {}),
        "policy": policy,
    }


def _result(
    changed: bool, alias: str, metadata: dict | None, policy: dict | None, tags: dict | None,
    before: dict, after: dict, warnings: list[str] | None = None,
) -> dict:
    return {
        "changed": changed,
        "alias": alias,
        "key_id": metadata.get("KeyId") if metadata else None,
        "key_arn": metadata.get("Arn") if metadata else None,
        "key_metadata": key_metadata_to_result(metadata) if metadata else None,
        "key_policy": policy,
        "tags": tags,
        "diff": {"before": before, "after": after},
        "warnings": list(warnings or []),
    }


def predicted_metadata(key_spec: str, key_usage: str, multi_region: bool, description: str | None) -> dict:
    """KeyMetadata of a key CreateKey(Origin=EXTERNAL) would make, for check mode: no id, ARN or
    date yet, PendingImport and disabled."""
    metadata: dict[str, Any] = {
        "AWSAccountId": None,
        "KeyId": None,
        "Arn": None,
        "CreationDate": None,
        "Enabled": False,
        "Description": description or "",
        "KeyUsage": key_usage,
        "KeyState": "PendingImport",
        "Origin": "EXTERNAL",
        "KeyManager": "CUSTOMER",
        "CustomerMasterKeySpec": key_spec,
        "KeySpec": key_spec,
        "MultiRegion": multi_region,
    }
    if key_spec == "SYMMETRIC_DEFAULT":
        metadata["EncryptionAlgorithms"] = ["SYMMETRIC_DEFAULT"]
    elif key_spec.startswith("HMAC_"):
        metadata["MacAlgorithms"] = ["HMAC_SHA_" + key_spec[5:]]
    elif key_usage == "ENCRYPT_DECRYPT":
        metadata["EncryptionAlgorithms"] = ["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"]
    elif key_usage == "KEY_AGREEMENT":
        metadata["KeyAgreementAlgorithms"] = ["ECDH"]
    elif key_spec.startswith("RSA_"):
        metadata["SigningAlgorithms"] = [
            f"RSASSA_{pad}_SHA_{bits}" for pad in ("PKCS1_V1_5", "PSS") for bits in (256, 384, 512)
        ]
    else:
        metadata["SigningAlgorithms"] = [{"ECC_NIST_P384": "ECDSA_SHA_384", "ECC_NIST_P521": "ECDSA_SHA_512"}.get(key_spec, "ECDSA_SHA_256")]
    if multi_region:
        metadata["MultiRegionConfiguration"] = {"MultiRegionKeyType": "PRIMARY", "PrimaryKey": None, "ReplicaKeys": []}
    return metadata


def desired_policy(p: dict, metadata: dict, always: bool = False) -> dict | None:
    """The policy the options ask for on this key: ``policy`` as given, or one built from the
    lists; None when none of them is set (the key's policy is left alone), unless ``always``."""
    if p["policy"] is not None:
        return p["policy"]
    if not always and all(p[o] is None for o in _POLICY_OPTIONS):
        return None
    if metadata.get("Arn"):
        account, partition = account_and_partition(metadata["Arn"])
    else:
        account, partition = UNKNOWN_ACCOUNT, "aws"
    return build_key_policy(
        account, partition, metadata["KeySpec"], metadata["KeyUsage"],
        key_admins=p["key_admins"] or [], key_users=p["key_users"] or [],
        external_account_ids=p["external_account_ids"] or [],
        allow_key_admins_to_delete=p["allow_key_admins_to_delete"],
        multi_region=bool(metadata.get("MultiRegion")),
    )


# ----------------------------------------------------------------------------------------------
# Checks on an existing key


def check_usable_key(metadata: dict, alias: str) -> None:
    """Refuse a key this module may not manage: not EXTERNAL, AWS managed, or scheduled for deletion."""
    require_external_customer_key(metadata, alias)
    if metadata.get("KeyState") == "PendingDeletion":
        raise ByokError(
            f"{alias} points at key {metadata.get('KeyId')}, which is scheduled for deletion "
            f"(DeletionDate {key_metadata_to_result(metadata).get('DeletionDate')}). byok.kms neither revives nor "
            "replaces it on its own: cancel the deletion (aws kms cancel-key-deletion) to keep using that key and its "
            "material, or run state=absent (removes the alias) and then state=present to create a new key",
            key_id=metadata.get("KeyId"),
            key_state="PendingDeletion",
        )


def check_immutable(metadata: dict, p: dict) -> None:
    """key_spec, key_usage and multi_region can never change: a different request is an error."""
    existing = {
        "key_spec": metadata.get("KeySpec") or metadata.get("CustomerMasterKeySpec"),
        "key_usage": metadata.get("KeyUsage"),
        "multi_region": bool(metadata.get("MultiRegion")),
    }
    for option, current in existing.items():
        wanted = p[option]
        if wanted is not None and wanted != current:
            raise ByokError(
                f"{p['alias']} is key {metadata.get('KeyId')} with {option}={current}, but {option}={wanted} was "
                f"requested: {option} of a KMS key can never change. Nothing was changed. Drop {option} or set it "
                f"to {current}, or use another alias for a new key",
                option=option, current=current, requested=wanted, key_id=metadata.get("KeyId"),
            )


# ----------------------------------------------------------------------------------------------
# ensure_* steps: each returns (new state, changed) and writes only outside check mode


def ensure_description(client: Any, metadata: dict, description: str | None, check_mode: bool) -> tuple[dict, bool]:
    if description is None or description == (metadata.get("Description") or ""):
        return metadata, False
    if not check_mode:
        client.call("UpdateKeyDescription", KeyId=metadata["KeyId"], Description=description)
    return dict(metadata, Description=description), True


def ensure_policy(
    client: Any, key_id: str | None, current: dict, desired: dict | None, bypass: bool, check_mode: bool
) -> tuple[dict, bool]:
    if desired is None or not policies_differ(current, desired):
        return current, False
    if not check_mode:
        client.call(
            "PutKeyPolicy", KeyId=key_id, PolicyName="default", Policy=policy_to_json(desired),
            BypassPolicyLockoutSafetyCheck=bypass,
        )
    return desired, True


def tag_changes(current: dict, desired: dict | None, purge: bool) -> tuple[dict, list[str]]:
    """Tags to set and keys to remove. Keys under ``aws:`` and ``byok:`` are never removed."""
    if desired is None:
        return {}, []
    to_set, to_unset = compare_aws_tags(current, desired, purge_tags=purge)
    to_unset = [k for k in to_unset if not is_reserved_tag_key(k, (AWS_TAG_PREFIX, BYOK_TAG_PREFIX))]
    return to_set, sorted(to_unset)


def ensure_tags(
    client: Any, key_id: str | None, current: dict, desired: dict | None, purge: bool, check_mode: bool
) -> tuple[dict, bool]:
    to_set, to_unset = tag_changes(current, desired, purge)
    if not to_set and not to_unset:
        return current, False
    if not check_mode:
        if to_unset:
            client.call("UntagResource", KeyId=key_id, TagKeys=to_unset)
        if to_set:
            client.call("TagResource", KeyId=key_id, Tags=ansible_dict_to_boto3_tag_list(to_set, "TagKey", "TagValue"))
    tags = {k: v for k, v in current.items() if k not in to_unset}
    tags.update(to_set)
    return tags, True


def ensure_enabled(client: Any, metadata: dict, enabled: bool | None, check_mode: bool) -> tuple[dict, bool]:
    """Enable or disable a key that has material; a PendingImport key is left as it is."""
    if enabled is None or metadata.get("KeyState") not in TOGGLE_STATES or bool(metadata.get("Enabled")) == enabled:
        return metadata, False
    if not check_mode:
        client.call("EnableKey" if enabled else "DisableKey", KeyId=metadata["KeyId"])
    return dict(metadata, Enabled=enabled, KeyState="Enabled" if enabled else "Disabled"), True


def ensure_settings(
    client: Any, p: dict, metadata: dict, check_mode: bool, changed: bool = False, warnings: list[str] | None = None
) -> dict:
    """Bring an existing key in line with the options: description, policy, tags, enabled."""
    check_usable_key(metadata, p["alias"])
    check_immutable(metadata, p)
    key_id = metadata["KeyId"]
    policy = _policy_of(client, key_id)
    tags = key_tags(client, key_id)
    before = _diff_view(metadata, policy, tags)
    metadata, c_description = ensure_description(client, metadata, p["description"], check_mode)
    policy, c_policy = ensure_policy(
        client, key_id, policy, desired_policy(p, metadata), p["bypass_policy_lockout_safety_check"], check_mode
    )
    tags, c_tags = ensure_tags(client, key_id, tags, p["tags"], p["purge_tags"], check_mode)
    metadata, c_enabled = ensure_enabled(client, metadata, p["enabled"], check_mode)
    changed = changed or c_description or c_policy or c_tags or c_enabled
    return _result(changed, p["alias"], metadata, policy, tags, before, _diff_view(metadata, policy, tags), warnings)


# ----------------------------------------------------------------------------------------------
# Create and delete


def _discard_key(client: Any, key_id: str) -> str | None:
    """Schedule deletion of a key this run created but cannot use; returns a problem, if any."""
    try:
        client.call("ScheduleKeyDeletion", KeyId=key_id, PendingWindowInDays=DELETION_WINDOW_MIN)
    except KmsError as e:
        return e.message
    return None


def _lost_alias(client: Any, p: dict, key_id: str, error: KmsError, winner: dict | None) -> dict:
    """CreateAlias failed for the key this run created: schedule its deletion, then return the key
    another run put under the alias (``winner``), brought in line with the options, or raise."""
    problem = _discard_key(client, key_id)
    note = f"key {key_id}, created by this run, was scheduled for deletion in {DELETION_WINDOW_MIN} days"
    if problem:
        note = f"key {key_id}, created by this run, could not be scheduled for deletion ({problem}): delete it yourself"
    if error.code != "AlreadyExistsException":
        raise ByokError(f"{p['alias']}: CreateAlias failed ({error.message}); {note}", **error.details, key_id=key_id)
    if winner is None:
        raise ByokError(f"{p['alias']} was created by another run and then deleted again; {note}. Run again", key_id=key_id) from None
    warning = f"another run created {p['alias']} at the same time and won; {note}; returning the key under the alias"
    return ensure_settings(client, p, winner, check_mode=False, changed=True, warnings=[warning])


def ensure_created(client: Any, p: dict, check_mode: bool) -> dict:
    """Create the key (EXTERNAL, no material) and its alias. When another run claimed the alias
    first, schedule deletion of the key made here and adopt the winner."""
    key_spec = p["key_spec"] or DEFAULT_KEY_SPEC
    key_usage = p["key_usage"] or default_key_usage(key_spec)
    _validate_usage(key_spec, key_usage)
    multi_region = bool(p["multi_region"])
    tags = dict(p["tags"] or {})
    before: dict = {}
    if check_mode:
        metadata = predicted_metadata(key_spec, key_usage, multi_region, p["description"])
        policy = desired_policy(p, metadata, always=True)
        metadata = ensure_enabled(client, metadata, p["enabled"], check_mode=True)[0]
        return _result(True, p["alias"], metadata, policy, tags, before, _diff_view(metadata, policy, tags))

    request: dict[str, Any] = {"Origin": "EXTERNAL", "KeySpec": key_spec, "KeyUsage": key_usage, "MultiRegion": multi_region}
    if p["description"]:
        request["Description"] = p["description"]
    if tags:
        request["Tags"] = ansible_dict_to_boto3_tag_list(tags, "TagKey", "TagValue")
    if p["policy"] is not None:
        request["Policy"] = policy_to_json(p["policy"])
        request["BypassPolicyLockoutSafetyCheck"] = p["bypass_policy_lockout_safety_check"]
    metadata = client.call("CreateKey", **request)["KeyMetadata"]
    key_id = metadata["KeyId"]

    try:
        client.call("CreateAlias", AliasName=p["alias"], TargetKeyId=key_id)
    except KmsError as e:
        winner = find_key(client, p["alias"]) if e.code == "AlreadyExistsException" else None
        # The alias may be ours after all: a retried CreateAlias whose first attempt had succeeded.
        if winner is None or winner.get("KeyId") != key_id:
            return _lost_alias(client, p, key_id, e, winner)

    if p["policy"] is not None:
        policy = p["policy"]
    else:
        policy = desired_policy(p, metadata, always=True)
        try:
            client.call(
                "PutKeyPolicy", KeyId=key_id, PolicyName="default", Policy=policy_to_json(policy),
                BypassPolicyLockoutSafetyCheck=p["bypass_policy_lockout_safety_check"],
            )
        except KmsError as e:
            raise ByokError(
                f"{p['alias']}: key {key_id} was created, but its key policy could not be set ({e.message}). "
                "It keeps the AWS default policy (the account root only) until a run succeeds",
                **e.details, key_id=key_id,
            ) from None
    metadata = ensure_enabled(client, metadata, p["enabled"], check_mode=False)[0]
    return _result(True, p["alias"], metadata, policy, tags, before, _diff_view(metadata, policy, tags))


def _schedule_deletion(client: Any, key_id: str, days: int) -> Any:
    """ScheduleKeyDeletion; returns the deletion date. A key found pending deletion already (another
    run, or a retried call whose first attempt had succeeded) is no error."""
    try:
        return client.call("ScheduleKeyDeletion", KeyId=key_id, PendingWindowInDays=days).get("DeletionDate")
    except KmsError as e:
        current = find_key(client, key_id) if e.code == "KMSInvalidStateException" else None
        if current is None or current.get("KeyState") != "PendingDeletion":
            raise
        return current.get("DeletionDate")


def _delete_alias(client: Any, alias: str) -> None:
    """DeleteAlias; an alias gone already (another run, or a retried call) is no error."""
    try:
        client.call("DeleteAlias", AliasName=alias)
    except KmsError as e:
        if e.code != "NotFoundException":
            raise


def ensure_absent(client: Any, p: dict, metadata: dict | None, check_mode: bool) -> dict:
    """Schedule deletion of the key (unless already scheduled) and delete the alias."""
    if metadata is None:
        return _result(False, p["alias"], None, None, None, {}, {})
    require_external_customer_key(metadata, p["alias"])
    before = {"alias": p["alias"], "key_id": metadata.get("KeyId"), "key_state": metadata.get("KeyState")}
    if metadata.get("KeyState") != "PendingDeletion":
        if check_mode:
            deletion_date: Any = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=p["deletion_window_days"])
        else:
            deletion_date = _schedule_deletion(client, metadata["KeyId"], p["deletion_window_days"])
        metadata = dict(metadata, KeyState="PendingDeletion", Enabled=False, DeletionDate=deletion_date)
    if not check_mode:
        _delete_alias(client, p["alias"])
    after = {"alias": None, "key_id": metadata.get("KeyId"), "key_state": "PendingDeletion"}
    return _result(True, p["alias"], metadata, None, None, before, after)


def ensure_external_key(client: Any, params: dict, check_mode: bool) -> dict:
    """Make the key under ``params['alias']`` match the options of kms_external_key.

    Returns the module result: changed, alias, key_id, key_arn, key_metadata, key_policy, tags,
    diff (before/after) and warnings. Raises ByokError (ValidationError before any call).
    """
    p = validate_external_key_params(params)
    metadata = find_key(client, p["alias"])
    if p["state"] == "absent":
        return ensure_absent(client, p, metadata, check_mode)
    if metadata is None:
        return ensure_created(client, p, check_mode)
    return ensure_settings(client, p, metadata, check_mode)
