"""Tests of plugins/module_utils/_key_policy.py: the console's default policy per key type."""

from __future__ import annotations

import json

import pytest

from ansible_collections.byok.kms.plugins.module_utils._errors import ByokError
from ansible_collections.byok.kms.plugins.module_utils import _key_policy as kp

ACCOUNT = "111122223333"
ADMIN = "arn:aws:iam::111122223333:role/KeyAdmin"
USER = "arn:aws:iam::111122223333:role/App"


def statements(policy):
    return {s["Sid"]: s for s in policy["Statement"]}


def test_root_only_without_principals():
    policy = kp.build_key_policy(ACCOUNT, "aws", "SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT")
    assert policy["Version"] == "2012-10-17"
    assert policy["Statement"] == [
        {
            "Sid": "Enable IAM User Permissions",
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
            "Action": "kms:*",
            "Resource": "*",
        }
    ]


# The console's key administrator actions (facts file), written out here rather than read from the code.
CONSOLE_ADMIN_ACTIONS = {
    "kms:Create*", "kms:Describe*", "kms:Enable*", "kms:List*", "kms:Put*", "kms:Update*", "kms:Revoke*",
    "kms:Disable*", "kms:Get*", "kms:Delete*", "kms:TagResource", "kms:UntagResource", "kms:ScheduleKeyDeletion",
    "kms:CancelKeyDeletion", "kms:RotateKeyOnDemand",
}


@pytest.mark.parametrize(
    "delete, multi_region, expected",
    [
        (True, False, CONSOLE_ADMIN_ACTIONS | {"kms:ImportKeyMaterial"}),
        (False, False, CONSOLE_ADMIN_ACTIONS - {"kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion"} | {"kms:ImportKeyMaterial"}),
        (True, True, CONSOLE_ADMIN_ACTIONS | {"kms:ImportKeyMaterial", "kms:ReplicateKey", "kms:UpdatePrimaryRegion"}),
        (False, True, CONSOLE_ADMIN_ACTIONS - {"kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion"}
         | {"kms:ImportKeyMaterial", "kms:ReplicateKey", "kms:UpdatePrimaryRegion"}),
    ],
)
def test_admin_actions_exactly(delete, multi_region, expected):
    for spec, usage in [("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT"), ("HMAC_512", "GENERATE_VERIFY_MAC"), ("RSA_4096", "SIGN_VERIFY")]:
        policy = kp.build_key_policy(ACCOUNT, "aws", spec, usage, key_admins=[ADMIN],
                                     allow_key_admins_to_delete=delete, multi_region=multi_region)
        actions = statements(policy)["Allow access for Key Administrators"]["Action"]
        assert set(actions) == expected and len(actions) == len(expected)


def test_admins_get_import_and_delete_rights():
    policy = kp.build_key_policy(ACCOUNT, "aws", "SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT", key_admins=[ADMIN])
    admins = statements(policy)["Allow access for Key Administrators"]
    assert admins["Principal"] == {"AWS": [ADMIN]}
    assert {"kms:ImportKeyMaterial", "kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion", "kms:Delete*"} <= set(admins["Action"])
    assert "kms:ReplicateKey" not in admins["Action"]
    assert "Allow use of the key" not in statements(policy)


def test_admins_without_delete_and_multi_region():
    policy = kp.build_key_policy(
        ACCOUNT, "aws", "SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT", key_admins=[ADMIN],
        allow_key_admins_to_delete=False, multi_region=True,
    )
    actions = set(statements(policy)["Allow access for Key Administrators"]["Action"])
    assert "kms:ScheduleKeyDeletion" not in actions and "kms:CancelKeyDeletion" not in actions
    assert {"kms:ReplicateKey", "kms:UpdatePrimaryRegion", "kms:ImportKeyMaterial"} <= actions


@pytest.mark.parametrize(
    "spec, usage, expected",
    [
        ("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT", {"kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"}),
        ("HMAC_256", "GENERATE_VERIFY_MAC", {"kms:DescribeKey", "kms:GenerateMac", "kms:VerifyMac"}),
        ("RSA_2048", "ENCRYPT_DECRYPT", {"kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:DescribeKey", "kms:GetPublicKey"}),
        ("RSA_4096", "SIGN_VERIFY", {"kms:DescribeKey", "kms:GetPublicKey", "kms:Sign", "kms:Verify"}),
        ("ECC_NIST_P256", "SIGN_VERIFY", {"kms:DescribeKey", "kms:GetPublicKey", "kms:Sign", "kms:Verify"}),
        ("ECC_SECG_P256K1", "SIGN_VERIFY", {"kms:DescribeKey", "kms:GetPublicKey", "kms:Sign", "kms:Verify"}),
        ("RSA_3072", "ENCRYPT_DECRYPT", {"kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:DescribeKey", "kms:GetPublicKey"}),
        ("ECC_NIST_P384", "KEY_AGREEMENT", {"kms:DescribeKey", "kms:GetPublicKey", "kms:DeriveSharedSecret"}),
    ],
)
def test_user_actions_per_key_type(spec, usage, expected):
    policy = kp.build_key_policy(ACCOUNT, "aws", spec, usage, key_users=[USER], external_account_ids=["444455556666"])
    use = statements(policy)["Allow use of the key"]
    assert set(use["Action"]) == expected
    assert use["Principal"] == {"AWS": [USER, "arn:aws:iam::444455556666:root"]}
    grants = statements(policy)["Allow attachment of persistent resources"]
    assert grants["Principal"] == use["Principal"]
    assert set(grants["Action"]) == {"kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"}
    assert grants["Condition"] == {"Bool": {"kms:GrantIsForAWSResource": "true"}}


def test_partition_in_principals():
    policy = kp.build_key_policy(ACCOUNT, "aws-cn", "SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT", external_account_ids=["444455556666"])
    assert statements(policy)["Enable IAM User Permissions"]["Principal"]["AWS"] == "arn:aws-cn:iam::111122223333:root"
    assert statements(policy)["Allow use of the key"]["Principal"]["AWS"] == ["arn:aws-cn:iam::444455556666:root"]


def test_account_and_partition():
    assert kp.account_and_partition("arn:aws-us-gov:kms:us-gov-west-1:111122223333:key/abc") == ("111122223333", "aws-us-gov")
    with pytest.raises(ByokError):
        kp.account_and_partition("arn:aws:kms:us-east-1:111122223333:alias/abc")


def test_policies_compared_by_meaning():
    built = kp.build_key_policy(ACCOUNT, "aws", "SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT", key_admins=[ADMIN], key_users=[USER])
    # What KMS may return: statements and actions in another order, one-element lists as strings, JSON text.
    shuffled = json.loads(kp.policy_to_json(built))
    shuffled["Statement"].reverse()
    for statement in shuffled["Statement"]:
        if isinstance(statement["Action"], list):
            statement["Action"] = list(reversed(statement["Action"]))
        principals = statement["Principal"]["AWS"]
        if isinstance(principals, list) and len(principals) == 1:
            statement["Principal"]["AWS"] = principals[0]
    assert not kp.policies_differ(kp.parse_policy(json.dumps(shuffled)), built)
    # A real difference is one.
    other = kp.build_key_policy(ACCOUNT, "aws", "SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT", key_admins=[ADMIN], key_users=[USER, ADMIN])
    assert kp.policies_differ(built, other)
    fewer = kp.build_key_policy(ACCOUNT, "aws", "SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT", key_admins=[ADMIN], key_users=[USER],
                                allow_key_admins_to_delete=False)
    assert kp.policies_differ(built, fewer)


def test_parse_policy():
    assert kp.parse_policy(None) == {}
    assert kp.parse_policy('{"a": 1}') == {"a": 1}
    assert kp.parse_policy({"a": 1}) == {"a": 1}
