# -*- coding: utf-8 -*-
# Copyright: byok.kms contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Listing the EXTERNAL keys of an account and region, with their aliases, tags and materials.
Private to byok.kms.

Cost: one paginated ListAliases pass for the whole listing (never one per key), one paginated
ListKeys pass unless the candidates are already known (``alias``/``key_ids``), then per candidate
one DescribeKey and, for keys that pass the metadata filters, ListResourceTags and (symmetric keys)
ListKeyRotations. Filters run cheapest first so that rejected keys cost as little as possible.
"""

from __future__ import annotations

import datetime
import fnmatch
import math
from typing import Any

from ansible_collections.byok.kms.plugins.module_utils._errors import KmsError
from ansible_collections.byok.kms.plugins.module_utils._errors import ValidationError
from ansible_collections.byok.kms.plugins.module_utils._keys import ALIAS_PREFIX
from ansible_collections.byok.kms.plugins.module_utils._keys import KCV_TAG
from ansible_collections.byok.kms.plugins.module_utils._keys import find_key
from ansible_collections.byok.kms.plugins.module_utils._keys import key_metadata_to_result
from ansible_collections.byok.kms.plugins.module_utils._keys import key_tags
from ansible_collections.byok.kms.plugins.module_utils._keys import normalize_alias
from ansible_collections.byok.kms.plugins.module_utils._keys import utc
from ansible_collections.byok.kms.plugins.module_utils._validation import ALIAS_RESERVED_PREFIX

KEY_STATES = (
    "Creating",
    "Enabled",
    "Disabled",
    "PendingDeletion",
    "PendingImport",
    "PendingReplicaDeletion",
    "Unavailable",
    "Updating",
)
SECONDS_PER_DAY = 86400


def validate_filters(
    alias: str | None = None,
    key_ids: list[str] | None = None,
    tags: dict | None = None,
    key_states: list[str] | None = None,
    expiring_within_days: int | None = None,
) -> None:
    """Reject bad filters before any call, naming option, value and what is allowed."""
    if alias is not None and (not alias or alias in (ALIAS_PREFIX,)):
        raise ValidationError("alias", alias, "give an alias name (or a shell-style pattern such as 'app-*')")
    for key_id in key_ids or []:
        if not isinstance(key_id, str) or not key_id.strip():
            raise ValidationError("key_ids", key_id, "each entry must be a key id, key ARN or alias")
    for name, value in (tags or {}).items():
        if not isinstance(name, str) or not name:
            raise ValidationError("tags", name, "tag keys must be non-empty strings")
        if not isinstance(value, str):
            raise ValidationError(f"tags.{name}", value, "tag values must be strings (quote numbers and booleans)")
    for state in key_states or []:
        if state not in KEY_STATES:
            raise ValidationError("key_states", state, "allowed: " + ", ".join(KEY_STATES))
    if expiring_within_days is not None and (isinstance(expiring_within_days, bool) or expiring_within_days < 0):
        raise ValidationError("expiring_within_days", expiring_within_days, "must be an integer of 0 or more")


def key_id_from_arn(key: str) -> str:
    """``arn:aws:kms:...:key/ID`` -> ``ID``; anything else unchanged."""
    if key.startswith("arn:") and ":key/" in key:
        return key.rsplit(":key/", 1)[1]
    return key


def aliases_by_key(aliases: list[dict]) -> dict[str, list[str]]:
    """Map of key id -> sorted alias names, from one ListAliases listing (aliases with no target dropped)."""
    result: dict[str, list[str]] = {}
    for entry in aliases:
        key_id = entry.get("TargetKeyId")
        if key_id:
            result.setdefault(key_id, []).append(entry["AliasName"])
    return {key_id: sorted(names) for key_id, names in result.items()}


def alias_matches(pattern: str, alias_name: str) -> bool:
    """``app-*`` and ``alias/app-*`` both match ``alias/app-db``; exact names match themselves."""
    return fnmatch.fnmatchcase(alias_name, normalize_alias(pattern))


def days_until(valid_to: Any, now: datetime.datetime) -> int | None:
    """Whole days (rounded down) from ``now`` to ``valid_to``; None when there is no expiry.
    Negative when the date has passed and KMS has not yet moved the key to PendingImport."""
    when = parse_time(valid_to)
    if when is None:
        return None
    return math.floor((when - now).total_seconds() / SECONDS_PER_DAY)


def parse_time(value: Any) -> datetime.datetime | None:
    """A datetime (as boto3 returns), ISO 8601 string or epoch number -> aware datetime in UTC."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime.datetime):
        when = value
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        when = datetime.datetime.fromtimestamp(value, tz=datetime.timezone.utc)
    else:
        when = datetime.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return utc(when)


def material_to_result(entry: dict, now: datetime.datetime) -> dict:
    """One ListKeyRotations entry as snake_case facts (no secrets: ids, states and dates only)."""
    valid_to = parse_time(entry.get("ValidTo"))
    rotation_date = parse_time(entry.get("RotationDate"))
    return {
        "key_material_id": entry.get("KeyMaterialId"),
        "key_material_state": entry.get("KeyMaterialState"),
        "import_state": entry.get("ImportState"),
        "expiration_model": entry.get("ExpirationModel"),
        "valid_to": valid_to.isoformat() if valid_to else None,
        "days_until_expiry": days_until(valid_to, now),
        "rotation_date": rotation_date.isoformat() if rotation_date else None,
        "rotation_type": entry.get("RotationType"),
        "key_material_description": entry.get("KeyMaterialDescription"),
    }


def key_days_until_expiry(metadata: dict, now: datetime.datetime) -> int | None:
    """Days left for the key's current material; None when it does not expire or is absent."""
    if metadata.get("KeyState") == "PendingImport":
        return None
    if metadata.get("ExpirationModel") != "KEY_MATERIAL_EXPIRES":
        return None
    return days_until(metadata.get("ValidTo"), now)


def _tags_match(wanted: dict | None, actual: dict) -> bool:
    return all(actual.get(name) == value for name, value in (wanted or {}).items())


def _resolve_candidates(
    client: Any, alias: str | None, key_ids: list[str] | None, alias_map: dict[str, list[str]]
) -> list[str]:
    """Key ids worth a DescribeKey, in a stable order."""
    if key_ids:
        by_name = {name: key_id for key_id, names in alias_map.items() for name in names}
        candidates: list[str] = []
        for key in key_ids:
            key = key.strip()
            if key.startswith(ALIAS_PREFIX):
                key_id = by_name.get(key)
                if key_id is None:
                    continue
            else:
                key_id = key_id_from_arn(key)
            if key_id not in candidates:
                candidates.append(key_id)
    elif alias is not None:
        candidates = [key_id for key_id in alias_map if any(alias_matches(alias, n) for n in alias_map[key_id])]
    else:
        candidates = [entry["KeyId"] for entry in client.paginate("ListKeys", "Keys")]
    if alias is not None:
        candidates = [k for k in candidates if any(alias_matches(alias, n) for n in alias_map.get(k, []))]
    # Keys behind alias/aws/... are AWS managed: never EXTERNAL, not worth a DescribeKey.
    aws_managed = {k for k, names in alias_map.items() if any(n.startswith(ALIAS_RESERVED_PREFIX) for n in names)}
    return [k for k in candidates if k not in aws_managed]


def _list_materials(client: Any, key_id: str, now: datetime.datetime) -> list[dict]:
    try:
        rotations = client.paginate("ListKeyRotations", "Rotations", KeyId=key_id, IncludeKeyMaterial="ALL_KEY_MATERIAL")
    except KmsError as e:
        if e.code == "UnsupportedOperationException":
            return []
        raise
    return [material_to_result(entry, now) for entry in rotations]


def list_external_keys(
    client: Any,
    alias: str | None = None,
    key_ids: list[str] | None = None,
    tags: dict | None = None,
    key_states: list[str] | None = None,
    expiring_within_days: int | None = None,
    now: datetime.datetime | None = None,
) -> list[dict]:
    """Every customer managed EXTERNAL key that matches all the given filters, sorted by alias.

    ``client`` is a :class:`KmsClient` (``call``/``paginate``). ``now`` is for tests."""
    validate_filters(alias, key_ids, tags, key_states, expiring_within_days)
    now = now or datetime.datetime.now(datetime.timezone.utc)
    alias_map = aliases_by_key(client.paginate("ListAliases", "Aliases"))
    keys: list[dict] = []
    for key_id in _resolve_candidates(client, alias, key_ids, alias_map):
        metadata = find_key(client, key_id)
        if metadata is None or metadata.get("Origin") != "EXTERNAL" or metadata.get("KeyManager") != "CUSTOMER":
            continue
        if key_states and metadata.get("KeyState") not in key_states:
            continue
        days_left = key_days_until_expiry(metadata, now)
        valid_to = parse_time(metadata.get("ValidTo")) if days_left is not None else None
        if expiring_within_days is not None and (valid_to is None or valid_to > now + datetime.timedelta(days=expiring_within_days)):
            continue
        key_id = metadata["KeyId"]
        tags_of_key = key_tags(client, key_id)
        if not _tags_match(tags, tags_of_key):
            continue
        materials = _list_materials(client, key_id, now) if metadata.get("KeySpec") == "SYMMETRIC_DEFAULT" else []
        keys.append(
            {
                "key_id": key_id,
                "key_arn": metadata.get("Arn"),
                "key_state": metadata.get("KeyState"),
                "key_spec": metadata.get("KeySpec"),
                "aliases": alias_map.get(key_id, []),
                "tags": tags_of_key,
                "valid_to": valid_to.isoformat() if valid_to else None,
                "days_until_expiry": days_left,
                "key_materials": materials,
                "key_check_value": tags_of_key.get(KCV_TAG),
                "key_metadata": key_metadata_to_result(metadata),
            }
        )
    keys.sort(key=lambda k: (k["aliases"][0] if k["aliases"] else "~", k["key_id"]))
    return keys
