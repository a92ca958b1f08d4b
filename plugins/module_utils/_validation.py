# -*- coding: utf-8 -*-
# Copyright: byok.kms contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure validators of user input, run before any call to KMS. Private to byok.kms.

Each validator takes plain values and the name of the option they came from, returns the value in
its normal form (``alias/`` prefix added, tag values as strings, policy as a dict) and raises
:class:`ValidationError` naming the option, the bad value and what is allowed. The rules are
those of KMS (see the collection's facts file): failing here saves a round trip and gives a
message a person can act on.
"""

from __future__ import annotations

import json
import re
from typing import Any
from typing import Callable
from typing import Iterable

from ansible_collections.byok.kms.plugins.module_utils._errors import ValidationError
from ansible_collections.byok.kms.plugins.module_utils._keys import ALIAS_PREFIX
from ansible_collections.byok.kms.plugins.module_utils._keys import normalize_alias

ALIAS_MAX_LENGTH = 256
ALIAS_RESERVED_PREFIX = "alias/aws/"
# What CreateAlias accepts. The API model's pattern also has ':', but KMS refuses it ("contains
# invalid characters for an alias"), and its documentation lists letters, digits and /_- only.
# Patterns: ASCII only (\d and \w would take other scripts' digits and letters), and \Z, not $ (which
# lets a trailing newline through, as a YAML block scalar adds one).
_ALIAS_NAME = re.compile(r"^[a-zA-Z0-9/_-]+\Z", re.ASCII)

# Key ids: a UUID, or "mrk-" and 32 hex digits for multi-region keys.
_KEY_ID = re.compile(r"^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|mrk-[0-9a-fA-F]{32})\Z", re.ASCII)
_KEY_ARN = re.compile(r"^arn:aws[a-zA-Z-]*:kms:[a-z0-9-]+:\d{12}:key/(?P<id>.+)\Z", re.ASCII)
_ALIAS_ARN = re.compile(r"^arn:aws[a-zA-Z-]*:kms:[a-z0-9-]+:\d{12}:(?P<alias>alias/.+)\Z", re.ASCII)
_PRINCIPAL_ARN = re.compile(r"^arn:aws[a-zA-Z-]*:iam::\d{12}:(root|user/[\w+=,.@/-]+|role/[\w+=,.@/-]+)\Z", re.ASCII)
_ACCOUNT_ID = re.compile(r"^\d{12}\Z", re.ASCII)

TAG_KEY_MAX_LENGTH = 128
TAG_VALUE_MAX_LENGTH = 256
TAGS_MAX = 50
# Tag key prefixes nobody but AWS may set (compared case-insensitively).
AWS_TAG_PREFIX = "aws:"
# The collection's own tags (byok:key-check-value, ...): written by its modules only.
BYOK_TAG_PREFIX = "byok:"

DELETION_WINDOW_MIN = 7
DELETION_WINDOW_MAX = 30
DESCRIPTION_MAX_LENGTH = 8192
POLICY_MAX_LENGTH = 32768


def validate_alias(alias: Any, option: str = "alias") -> str:
    """An alias name with or without ``alias/``; returns it with the prefix."""
    allowed = (
        "an alias is 'alias/' (optional) followed by letters, digits and '/_-', "
        f"at most {ALIAS_MAX_LENGTH} characters in all, and may not start with 'alias/aws/' (reserved for AWS)"
    )
    if not isinstance(alias, str) or not alias:
        raise ValidationError(option, alias, allowed)
    full = normalize_alias(alias)
    name = full[len(ALIAS_PREFIX):]
    if not name or not _ALIAS_NAME.match(name):
        raise ValidationError(option, alias, allowed)
    if len(full) > ALIAS_MAX_LENGTH:
        raise ValidationError(
            option, alias, allowed,
            message=f"{option}: {full[:40]!r}... is {len(full)} characters long; {allowed}",
        )
    if full.startswith(ALIAS_RESERVED_PREFIX):
        raise ValidationError(option, alias, allowed)
    return full


def validate_key_reference(key: Any, option: str = "key") -> str:
    """An alias (``alias/NAME``), alias ARN, key id or key ARN. A bare name without ``alias/`` is
    refused here because it would be ambiguous with a key id; returns the value unchanged."""
    allowed = "give an alias ('alias/NAME'), an alias ARN, a key id (UUID or 'mrk-...') or a key ARN"
    if not isinstance(key, str) or not key:
        raise ValidationError(option, key, allowed)
    if key.startswith(ALIAS_PREFIX):
        validate_alias(key, option)
        return key
    match = _ALIAS_ARN.match(key)
    if match:
        validate_alias(match.group("alias"), option)
        return key
    match = _KEY_ARN.match(key)
    if match and _KEY_ID.match(match.group("id")):
        return key
    if _KEY_ID.match(key):
        return key
    raise ValidationError(option, key, allowed)


def is_alias_reference(key: str) -> bool:
    """True when ``key`` (already validated) names an alias rather than a key."""
    return key.startswith(ALIAS_PREFIX) or bool(_ALIAS_ARN.match(key))


def validate_principal_arn(arn: Any, option: str) -> str:
    """An IAM principal: ``arn:<partition>:iam::<12 digits>:root``, ``...:user/NAME`` or ``...:role/NAME``."""
    if not isinstance(arn, str) or not _PRINCIPAL_ARN.match(arn):
        raise ValidationError(
            option, arn,
            "each element must be an IAM principal ARN: arn:<partition>:iam::<12-digit account>:root, "
            "...:user/NAME or ...:role/NAME",
        )
    return arn


def _validate_each(values: Iterable[Any] | None, option: str, validate: Callable[[Any, str], str]) -> list[str] | None:
    """Each element through ``validate``, duplicates removed (first one kept); None stays None."""
    if values is None:
        return None
    result: list[str] = []
    for value in values:
        value = validate(value, option)
        if value not in result:
            result.append(value)
    return result


def validate_principal_arns(arns: Iterable[Any] | None, option: str) -> list[str] | None:
    """A list of IAM principal ARNs, duplicates removed (first one kept); None stays None."""
    return _validate_each(arns, option, validate_principal_arn)


def validate_account_id(account_id: Any, option: str) -> str:
    """A 12-digit AWS account id (as a string, leading zeros kept)."""
    if isinstance(account_id, bool) or not isinstance(account_id, (str, int)) or not _ACCOUNT_ID.match(str(account_id)):
        raise ValidationError(option, account_id, "each element must be an AWS account id of exactly 12 digits (quote it in YAML)")
    return str(account_id)


def validate_account_ids(account_ids: Iterable[Any] | None, option: str) -> list[str] | None:
    """A list of 12-digit account ids, duplicates removed; None stays None."""
    return _validate_each(account_ids, option, validate_account_id)


def is_reserved_tag_key(key: str, prefixes: Iterable[str] = (AWS_TAG_PREFIX, BYOK_TAG_PREFIX)) -> bool:
    """True for tag keys under a reserved prefix (case-insensitive)."""
    return any(key.lower().startswith(prefix) for prefix in prefixes)


def _tag_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def validate_tags(
    tags: dict | None,
    option: str = "tags",
    reserved_prefixes: Iterable[str] = (AWS_TAG_PREFIX, BYOK_TAG_PREFIX),
) -> dict[str, str] | None:
    """Tags as a dict of strings (None values become ''). Keys 1-128 characters, values at most 256,
    at most 50 tags, no key under a reserved prefix (``aws:`` for AWS, ``byok:`` for this collection)."""
    if tags is None:
        return None
    if not isinstance(tags, dict):
        raise ValidationError(option, tags, "give a dictionary of tag keys and values")
    reserved_prefixes = tuple(reserved_prefixes)
    if len(tags) > TAGS_MAX:
        raise ValidationError(
            option, f"{len(tags)} tags", f"a KMS key has at most {TAGS_MAX} tags",
            message=f"{option}: {len(tags)} tags given; a KMS key has at most {TAGS_MAX} tags",
        )
    result: dict[str, str] = {}
    for key, value in tags.items():
        key = str(key)
        if not 1 <= len(key) <= TAG_KEY_MAX_LENGTH:
            raise ValidationError(option, key, f"tag keys are 1 to {TAG_KEY_MAX_LENGTH} characters long (this one: {len(key)})")
        if is_reserved_tag_key(key, reserved_prefixes):
            raise ValidationError(
                option, key,
                "tag keys may not start with " + " or ".join(repr(p) for p in reserved_prefixes)
                + " (aws: is reserved for AWS, byok: for the tags this collection writes itself)",
            )
        text = _tag_value(value)
        if len(text) > TAG_VALUE_MAX_LENGTH:
            raise ValidationError(
                option, f"{key}={text[:40]}...",
                f"tag values are at most {TAG_VALUE_MAX_LENGTH} characters long (the value of {key!r}: {len(text)})",
            )
        result[key] = text
    return result


def validate_deletion_window(days: Any, option: str = "deletion_window_days") -> int:
    """The waiting period before KMS deletes a key: 7 to 30 days."""
    if isinstance(days, bool) or not isinstance(days, int) or not DELETION_WINDOW_MIN <= days <= DELETION_WINDOW_MAX:
        raise ValidationError(option, days, f"the deletion window is {DELETION_WINDOW_MIN} to {DELETION_WINDOW_MAX} days")
    return days


def validate_description(description: Any, option: str = "description") -> str | None:
    """A key description: at most 8192 characters; None stays None."""
    if description is None:
        return None
    if not isinstance(description, str) or len(description) > DESCRIPTION_MAX_LENGTH:
        shown = description[:40] + "..." if isinstance(description, str) else description
        raise ValidationError(option, shown, f"a description is a string of at most {DESCRIPTION_MAX_LENGTH} characters")
    return description


def validate_policy(policy: Any, option: str = "policy") -> dict | None:
    """A key policy given as a JSON string or a dict; returns the dict. None stays None."""
    if policy is None:
        return None
    allowed = f"give a key policy as a JSON object (a string or a dictionary) with a 'Statement', at most {POLICY_MAX_LENGTH} characters"
    if isinstance(policy, dict):
        document = policy
        text = json.dumps(policy)
    elif isinstance(policy, str):
        text = policy
        try:
            document = json.loads(policy)
        except ValueError as e:
            shown = policy if len(policy) <= 60 else policy[:60] + "..."
            raise ValidationError(option, shown, allowed, message=f"{option}: {shown!r} is not valid JSON ({e}); {allowed}") from None
    else:
        raise ValidationError(option, policy, allowed)
    if not isinstance(document, dict) or "Statement" not in document:
        shown = text if len(text) <= 60 else text[:60] + "..."
        raise ValidationError(option, shown, allowed)
    if len(text) > POLICY_MAX_LENGTH:
        raise ValidationError(option, f"{len(text)} characters", allowed)
    return document
