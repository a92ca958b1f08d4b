# -*- coding: utf-8 -*-
# Copyright: byok.kms contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Finding a KMS key and shaping its metadata for a result. Private to byok.kms."""

from __future__ import annotations

import datetime
from typing import Any

from ansible_collections.amazon.aws.plugins.module_utils.tagging import boto3_tag_list_to_ansible_dict

from ansible_collections.byok.kms.plugins.module_utils._errors import ByokError
from ansible_collections.byok.kms.plugins.module_utils._errors import KmsError

ALIAS_PREFIX = "alias/"
# The tag in which kms_key_material records the key check value of a symmetric key's material.
KCV_TAG = "byok:key-check-value"


def normalize_alias(alias: str) -> str:
    """``my-key`` and ``alias/my-key`` both name ``alias/my-key``."""
    return alias if alias.startswith(ALIAS_PREFIX) else ALIAS_PREFIX + alias


def find_key(client: Any, key: str) -> dict | None:
    """KeyMetadata of the key that ``key`` (alias/..., key id or key ARN) names, or None if there is
    none. One DescribeKey call, whatever the number of aliases in the account."""
    try:
        return client.call("DescribeKey", KeyId=key)["KeyMetadata"]
    except KmsError as e:
        if e.code == "NotFoundException":
            return None
        raise


def key_tags(client: Any, key_id: str) -> dict[str, str]:
    """The key's tags as a dict (every page of ListResourceTags)."""
    return boto3_tag_list_to_ansible_dict(client.paginate("ListResourceTags", "Tags", KeyId=key_id), "TagKey", "TagValue")


def utc(value: datetime.datetime) -> datetime.datetime:
    """A timezone-aware datetime in UTC; a naive one is taken to be UTC already."""
    if value.tzinfo is None:
        return value.replace(tzinfo=datetime.timezone.utc)
    return value.astimezone(datetime.timezone.utc)


def _jsonable(value: Any) -> Any:
    if isinstance(value, (datetime.datetime, datetime.date)):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def key_metadata_to_result(metadata: dict) -> dict:
    """KeyMetadata as DescribeKey returns it (CamelCase keys kept), datetimes as ISO 8601 strings."""
    return _jsonable(metadata)


def require_external_customer_key(metadata: dict, key: str) -> None:
    """Refuse to touch a key this collection does not own: not EXTERNAL, or not customer managed."""
    if metadata.get("KeyManager") != "CUSTOMER":
        raise ByokError(
            f"{key} is an AWS managed key ({metadata.get('Arn')}); byok.kms only manages customer managed keys",
            key_id=metadata.get("KeyId"),
        )
    if metadata.get("Origin") != "EXTERNAL":
        raise ByokError(
            f"{key} is a key with Origin={metadata.get('Origin')} ({metadata.get('Arn')}), not EXTERNAL: "
            "its key material was not imported and cannot be managed by byok.kms; it was left untouched",
            key_id=metadata.get("KeyId"),
        )
