# -*- coding: utf-8 -*-
# Copyright: byok.kms contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Key policies: the console's default policy for an EXTERNAL key, built from lists of key
administrators, key users and other accounts, and compared by meaning. Private to byok.kms.

The statements follow what the AWS console writes (see the collection's facts file): the account
root with ``kms:*``; administrators with the management actions (plus ``kms:ImportKeyMaterial``,
since every key of this collection is EXTERNAL, and ``kms:ReplicateKey``/``kms:UpdatePrimaryRegion``
for multi-region keys); users and other accounts with the actions that fit the key type; and the
same principals allowed to manage grants for AWS resources.
"""

from __future__ import annotations

import json
import re
from typing import Any

from ansible_collections.amazon.aws.plugins.module_utils.policy import compare_policies

from ansible_collections.byok.kms.plugins.module_utils._errors import ByokError

POLICY_VERSION = "2012-10-17"

ADMIN_ACTIONS = [
    "kms:Create*",
    "kms:Describe*",
    "kms:Enable*",
    "kms:List*",
    "kms:Put*",
    "kms:Update*",
    "kms:Revoke*",
    "kms:Disable*",
    "kms:Get*",
    "kms:Delete*",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:ScheduleKeyDeletion",
    "kms:CancelKeyDeletion",
    "kms:RotateKeyOnDemand",
    "kms:ImportKeyMaterial",
]
ADMIN_DELETE_ACTIONS = ["kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion"]
ADMIN_MULTI_REGION_ACTIONS = ["kms:ReplicateKey", "kms:UpdatePrimaryRegion"]

USER_ACTIONS = {
    "symmetric": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
    "hmac": ["kms:DescribeKey", "kms:GenerateMac", "kms:VerifyMac"],
    "asymmetric_encrypt": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:DescribeKey", "kms:GetPublicKey"],
    "asymmetric_sign": ["kms:DescribeKey", "kms:GetPublicKey", "kms:Sign", "kms:Verify"],
    "key_agreement": ["kms:DescribeKey", "kms:GetPublicKey", "kms:DeriveSharedSecret"],
}
GRANT_ACTIONS = ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"]

SID_ROOT = "Enable IAM User Permissions"
SID_ADMINS = "Allow access for Key Administrators"
SID_USERS = "Allow use of the key"
SID_GRANTS = "Allow attachment of persistent resources"

_KEY_ARN = re.compile(r"^arn:(?P<partition>aws[a-zA-Z-]*):kms:(?P<region>[a-z0-9-]*):(?P<account>\d{12}):key/")


def key_type(key_spec: str, key_usage: str) -> str:
    """The kind of key that decides what key users may do: symmetric, hmac, asymmetric_encrypt,
    asymmetric_sign or key_agreement."""
    if key_spec in ("SYMMETRIC_DEFAULT", "SM4"):
        return "symmetric"
    if key_spec.startswith("HMAC_"):
        return "hmac"
    if key_usage == "ENCRYPT_DECRYPT":
        return "asymmetric_encrypt"
    if key_usage == "KEY_AGREEMENT":
        return "key_agreement"
    return "asymmetric_sign"


def account_and_partition(key_arn: str) -> tuple[str, str]:
    """The account id and partition of a key ARN (``arn:aws:kms:eu-west-1:111122223333:key/...``)."""
    match = _KEY_ARN.match(key_arn or "")
    if not match:
        raise ByokError(f"cannot read the account id and partition from the key ARN {key_arn!r}")
    return match.group("account"), match.group("partition")


def account_root(account_id: str, partition: str = "aws") -> str:
    return f"arn:{partition}:iam::{account_id}:root"


def build_key_policy(
    account_id: str,
    partition: str,
    key_spec: str,
    key_usage: str,
    key_admins: list[str] | None = None,
    key_users: list[str] | None = None,
    external_account_ids: list[str] | None = None,
    allow_key_admins_to_delete: bool = True,
    multi_region: bool = False,
) -> dict:
    """The console's default key policy for an EXTERNAL key of this spec and usage.

    Statements without principals are left out, so with no administrators, users or accounts the
    policy is AWS's own default (the account root with ``kms:*``).
    """
    statements: list[dict[str, Any]] = [
        {
            "Sid": SID_ROOT,
            "Effect": "Allow",
            "Principal": {"AWS": account_root(account_id, partition)},
            "Action": "kms:*",
            "Resource": "*",
        }
    ]
    if key_admins:
        actions = [a for a in ADMIN_ACTIONS if allow_key_admins_to_delete or a not in ADMIN_DELETE_ACTIONS]
        if multi_region:
            actions += ADMIN_MULTI_REGION_ACTIONS
        statements.append(
            {"Sid": SID_ADMINS, "Effect": "Allow", "Principal": {"AWS": list(key_admins)}, "Action": actions, "Resource": "*"}
        )
    users = list(key_users or []) + [account_root(a, partition) for a in external_account_ids or []]
    if users:
        statements.append(
            {
                "Sid": SID_USERS,
                "Effect": "Allow",
                "Principal": {"AWS": users},
                "Action": list(USER_ACTIONS[key_type(key_spec, key_usage)]),
                "Resource": "*",
            }
        )
        statements.append(
            {
                "Sid": SID_GRANTS,
                "Effect": "Allow",
                "Principal": {"AWS": users},
                "Action": list(GRANT_ACTIONS),
                "Resource": "*",
                "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}},
            }
        )
    return {"Version": POLICY_VERSION, "Statement": statements}


def parse_policy(text: str | dict | None) -> dict:
    """A key policy as KMS returns it (a JSON string) as a dict."""
    if text is None:
        return {}
    if isinstance(text, dict):
        return text
    return json.loads(text)


def policies_differ(current: dict, desired: dict) -> bool:
    """True when the two policies mean different things. Statement and action order, a single
    string versus a one-element list, and a missing ``Version`` do not count."""
    return bool(compare_policies(current, desired))


def policy_to_json(policy: dict) -> str:
    """A policy as the JSON text PutKeyPolicy takes."""
    return json.dumps(policy, indent=2, sort_keys=False)
