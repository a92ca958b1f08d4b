# -*- coding: utf-8 -*-
# Copyright: byok.kms contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Local KMS server, issue 2: key states, ARNs, validation of tags/policies/windows, aliases, accounts.

One server per module (tests create their own keys, so they do not interfere).
"""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from kms_server.testing import client, control, error_code


def expect(code, call, **kwargs):
    with pytest.raises(ClientError) as info:
        call(**kwargs)
    assert error_code(info.value) == code, info.value
    return info.value


def external(kms, **kwargs):
    return kms.create_key(Origin="EXTERNAL", **kwargs)["KeyMetadata"]


# -- EXTERNAL keys start without material -------------------------------------------------------------

def test_external_key_is_pending_import_and_disabled(kms):
    created = external(kms, Description="byok")
    described = kms.describe_key(KeyId=created["KeyId"])["KeyMetadata"]
    for meta in (created, described):
        assert meta["Origin"] == "EXTERNAL"
        assert meta["KeyState"] == "PendingImport"
        assert meta["Enabled"] is False
        assert "ExpirationModel" not in meta and "ValidTo" not in meta
        assert "CurrentKeyMaterialId" not in meta


def test_aws_kms_key_is_enabled_with_material(kms):
    meta = kms.create_key()["KeyMetadata"]
    assert meta["KeyState"] == "Enabled" and meta["Enabled"] is True
    assert len(meta["CurrentKeyMaterialId"]) == 64


@pytest.mark.parametrize("op", ["enable_key", "disable_key"])
def test_enable_disable_pending_import_key_fails(kms, op):
    key = external(kms)
    expect("KMSInvalidStateException", getattr(kms, op), KeyId=key["Arn"])
    assert kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["KeyState"] == "PendingImport"


def test_crypto_on_pending_import_keys_fails(kms):
    key = external(kms)
    expect("KMSInvalidStateException", kms.encrypt, KeyId=key["KeyId"], Plaintext=b"x")
    expect("KMSInvalidStateException", kms.generate_data_key, KeyId=key["KeyId"], KeySpec="AES_256")
    hmac_key = external(kms, KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")
    expect("KMSInvalidStateException", kms.generate_mac, KeyId=hmac_key["KeyId"], Message=b"m",
           MacAlgorithm="HMAC_SHA_256")
    ecc_key = external(kms, KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")
    expect("KMSInvalidStateException", kms.get_public_key, KeyId=ecc_key["KeyId"])
    expect("KMSInvalidStateException", kms.sign, KeyId=ecc_key["KeyId"], Message=b"m",
           SigningAlgorithm="ECDSA_SHA_256")


def test_crypto_on_disabled_and_pending_deletion_keys_fails(kms):
    key = kms.create_key()["KeyMetadata"]
    blob = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"secret")["CiphertextBlob"]
    kms.disable_key(KeyId=key["Arn"])
    expect("DisabledException", kms.encrypt, KeyId=key["KeyId"], Plaintext=b"x")
    expect("DisabledException", kms.decrypt, CiphertextBlob=blob)
    kms.enable_key(KeyId=key["Arn"])
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"secret"
    kms.schedule_key_deletion(KeyId=key["Arn"], PendingWindowInDays=7)
    expect("KMSInvalidStateException", kms.encrypt, KeyId=key["KeyId"], Plaintext=b"x")


# -- ARNs and state transitions -------------------------------------------------------------------------------

def test_lifecycle_calls_accept_key_arns(kms):
    key = kms.create_key()["KeyMetadata"]
    arn = key["Arn"]
    kms.disable_key(KeyId=arn)
    assert kms.describe_key(KeyId=arn)["KeyMetadata"]["KeyState"] == "Disabled"
    kms.enable_key(KeyId=arn)
    assert kms.describe_key(KeyId=arn)["KeyMetadata"]["Enabled"] is True
    scheduled = kms.schedule_key_deletion(KeyId=arn, PendingWindowInDays=10)
    assert scheduled["KeyId"] == arn and scheduled["KeyState"] == "PendingDeletion"
    assert scheduled["PendingWindowInDays"] == 10
    meta = kms.describe_key(KeyId=arn)["KeyMetadata"]
    assert meta["KeyState"] == "PendingDeletion" and "DeletionDate" in meta
    assert kms.cancel_key_deletion(KeyId=arn)["KeyId"] == arn
    assert kms.describe_key(KeyId=arn)["KeyMetadata"]["KeyState"] == "Disabled"
    for op in ("update_key_description", "get_key_policy", "list_resource_tags", "tag_resource"):
        kwargs = {"update_key_description": {"Description": "d"}, "get_key_policy": {"PolicyName": "default"},
                  "tag_resource": {"Tags": [{"TagKey": "k", "TagValue": "v"}]}}.get(op, {})
        getattr(kms, op)(KeyId=arn, **kwargs)
    assert kms.list_resource_tags(KeyId=arn)["Tags"] == [{"TagKey": "k", "TagValue": "v"}]


def test_lifecycle_calls_reject_aliases(kms):
    key = kms.create_key()["KeyMetadata"]
    kms.create_alias(AliasName="alias/lifecycle-alias", TargetKeyId=key["KeyId"])
    expect("NotFoundException", kms.disable_key, KeyId="alias/lifecycle-alias")


def test_missing_key_is_not_found(kms):
    missing = "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000000"
    for op in ("enable_key", "disable_key", "cancel_key_deletion", "schedule_key_deletion", "describe_key"):
        expect("NotFoundException", getattr(kms, op), KeyId=missing)


@pytest.mark.parametrize("days", [1, 6, 31, 365])
def test_schedule_window_outside_7_to_30_is_rejected(kms, days):
    key = kms.create_key()["KeyMetadata"]
    expect("ValidationException", kms.schedule_key_deletion, KeyId=key["Arn"], PendingWindowInDays=days)
    assert kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["KeyState"] == "Enabled"


@pytest.mark.parametrize("days", [7, 30])
def test_schedule_window_bounds_are_accepted(kms, days):
    key = kms.create_key()["KeyMetadata"]
    assert kms.schedule_key_deletion(KeyId=key["KeyId"], PendingWindowInDays=days)["PendingWindowInDays"] == days


def test_schedule_twice_and_cancel_without_schedule_fail(kms):
    key = external(kms)
    expect("KMSInvalidStateException", kms.cancel_key_deletion, KeyId=key["KeyId"])
    kms.schedule_key_deletion(KeyId=key["KeyId"], PendingWindowInDays=7)
    expect("KMSInvalidStateException", kms.schedule_key_deletion, KeyId=key["KeyId"], PendingWindowInDays=7)
    kms.cancel_key_deletion(KeyId=key["Arn"])
    # a key without material goes back to PendingImport, not Disabled
    assert kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["KeyState"] == "PendingImport"


# -- tags and policies -----------------------------------------------------------------------------------

@pytest.mark.parametrize("tag_key", ["aws:owner", "AWS:owner", "Aws:x"])
def test_reserved_tag_prefix_is_rejected(kms, tag_key):
    tags = [{"TagKey": tag_key, "TagValue": "v"}]
    expect("TagException", kms.create_key, Origin="EXTERNAL", Tags=tags)
    key = external(kms, Tags=[{"TagKey": "awsome", "TagValue": "fine"}])
    expect("TagException", kms.tag_resource, KeyId=key["KeyId"], Tags=tags)
    assert kms.list_resource_tags(KeyId=key["KeyId"])["Tags"] == [{"TagKey": "awsome", "TagValue": "fine"}]


def test_too_many_tags_are_rejected(kms):
    tags = [{"TagKey": f"k{i}", "TagValue": "v"} for i in range(51)]
    expect("TagException", kms.create_key, Tags=tags)
    key = kms.create_key(Tags=tags[:50])["KeyMetadata"]
    expect("TagException", kms.tag_resource, KeyId=key["KeyId"], Tags=tags[50:])


@pytest.mark.parametrize("policy", ["{not json", "[1, 2]", '"text"', '{"Version": "2012-10-17"}'])
def test_malformed_policy_is_rejected(kms, policy):
    expect("MalformedPolicyDocumentException", kms.create_key, Origin="EXTERNAL", Policy=policy)
    key = external(kms)
    before = kms.get_key_policy(KeyId=key["KeyId"], PolicyName="default")["Policy"]
    expect("MalformedPolicyDocumentException", kms.put_key_policy, KeyId=key["Arn"], PolicyName="default",
           Policy=policy)
    assert kms.get_key_policy(KeyId=key["KeyId"], PolicyName="default")["Policy"] == before


def test_valid_policy_is_stored(kms):
    policy = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Sid": "root", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
        "Action": "kms:*", "Resource": "*"}]})
    key = external(kms, Policy=policy)
    assert kms.get_key_policy(KeyId=key["Arn"], PolicyName="default")["Policy"] == policy


# -- key specs and usages ---------------------------------------------------------------------------------

def test_key_usage_must_fit_key_spec(kms):
    expect("ValidationException", kms.create_key, Origin="EXTERNAL", KeySpec="HMAC_256")
    expect("ValidationException", kms.create_key, KeySpec="ECC_NIST_P256", KeyUsage="ENCRYPT_DECRYPT")
    meta = external(kms, KeySpec="HMAC_384", KeyUsage="GENERATE_VERIFY_MAC")
    assert meta["MacAlgorithms"] == ["HMAC_SHA_384"] and "EncryptionAlgorithms" not in meta
    meta = external(kms, KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")
    assert "RSASSA_PSS_SHA_256" in meta["SigningAlgorithms"] and "EncryptionAlgorithms" not in meta
    meta = external(kms, KeySpec="ECC_NIST_P256", KeyUsage="KEY_AGREEMENT")
    assert meta["KeyAgreementAlgorithms"] == ["ECDH"]
    assert "SigningAlgorithms" not in meta and "EncryptionAlgorithms" not in meta
    assert kms.describe_key(KeyId=meta["KeyId"])["KeyMetadata"]["KeyAgreementAlgorithms"] == ["ECDH"]


# -- aliases -------------------------------------------------------------------------------------------------

def test_describe_key_by_alias_and_duplicate_alias(kms):
    key = external(kms)
    kms.create_alias(AliasName="alias/byok-app", TargetKeyId=key["Arn"])
    assert kms.describe_key(KeyId="alias/byok-app")["KeyMetadata"]["KeyId"] == key["KeyId"]
    alias_arn = "arn:aws:kms:us-east-1:123456789012:alias/byok-app"
    assert kms.describe_key(KeyId=alias_arn)["KeyMetadata"]["KeyState"] == "PendingImport"
    other = external(kms)
    expect("AlreadyExistsException", kms.create_alias, AliasName="alias/byok-app", TargetKeyId=other["KeyId"])
    expect("NotFoundException", kms.describe_key, KeyId="alias/never-created")


def test_alias_names_are_validated(kms):
    key = external(kms)
    expect("NotAuthorizedException", kms.create_alias, AliasName="alias/aws/mine", TargetKeyId=key["KeyId"])
    expect("ValidationException", kms.create_alias, AliasName="alias/" + "a" * 251, TargetKeyId=key["KeyId"])
    expect("ValidationException", kms.create_alias, AliasName="alias/bad name", TargetKeyId=key["KeyId"])
    # AWS's CreateAlias documentation allows letters, digits, / _ - (moto and AWS reject ':')
    expect("ValidationException", kms.create_alias, AliasName="alias/team:app", TargetKeyId=key["KeyId"])
    kms.create_alias(AliasName="alias/team/app/prod_1-a", TargetKeyId=key["KeyId"])
    kms.schedule_key_deletion(KeyId=key["KeyId"], PendingWindowInDays=7)
    expect("KMSInvalidStateException", kms.create_alias, AliasName="alias/late", TargetKeyId=key["KeyId"])


# -- multi-region ------------------------------------------------------------------------------------------

def test_multi_region_external_key(kms, url):
    key = external(kms, MultiRegion=True)
    assert key["KeyId"].startswith("mrk-") and key["MultiRegion"] is True
    assert key["MultiRegionConfiguration"]["MultiRegionKeyType"] == "PRIMARY"
    assert kms.describe_key(KeyId=key["Arn"])["KeyMetadata"]["KeyState"] == "PendingImport"
    expect("KMSInvalidStateException", kms.replicate_key, KeyId=key["KeyId"], ReplicaRegion="eu-west-1")


def test_multi_region_aws_kms_key_replicates_and_shares_material(kms, url):
    key = kms.create_key(MultiRegion=True, Description="primary")["KeyMetadata"]
    replica = kms.replicate_key(KeyId=key["Arn"], ReplicaRegion="eu-west-1",
                                Tags=[{"TagKey": "r", "TagValue": "1"}])["ReplicaKeyMetadata"]
    assert replica["KeyId"] == key["KeyId"] and ":eu-west-1:" in replica["Arn"]
    assert replica["MultiRegionConfiguration"]["MultiRegionKeyType"] == "REPLICA"
    eu = client(url, region="eu-west-1")
    blob = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"across regions")["CiphertextBlob"]
    assert eu.decrypt(CiphertextBlob=blob)["Plaintext"] == b"across regions"
    # per-region state is not shared
    kms.create_alias(AliasName="alias/primary-only", TargetKeyId=key["KeyId"])
    assert all(a["AliasName"] != "alias/primary-only" for a in eu.list_aliases()["Aliases"])
    assert eu.list_resource_tags(KeyId=key["KeyId"])["Tags"] == [{"TagKey": "r", "TagValue": "1"}]
    assert kms.list_resource_tags(KeyId=key["KeyId"])["Tags"] == []


# -- accounts ----------------------------------------------------------------------------------------------

def test_assumed_role_credentials_create_keys_in_the_role_account(url):
    creds = client(url, "sts").assume_role(RoleArn="arn:aws:iam::210987654321:role/byok-admin",
                                           RoleSessionName="byok-test")["Credentials"]
    other = client(url, aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                   aws_session_token=creds["SessionToken"])
    meta = other.create_key(Origin="EXTERNAL")["KeyMetadata"]
    assert meta["AWSAccountId"] == "210987654321"
    assert meta["Arn"].startswith("arn:aws:kms:us-east-1:210987654321:key/")
    default_ids = {k["KeyId"] for k in client(url).list_keys()["Keys"]}
    assert meta["KeyId"] not in default_ids
    assert meta["KeyId"] in {k["KeyId"] for k in other.list_keys()["Keys"]}


# -- call counting -----------------------------------------------------------------------------------------

def test_call_counter_counts_kms_operations_since_a_mark(url):
    kms = client(url)
    mark = control(url, "calls")["seq"]
    key = kms.create_key(Origin="EXTERNAL")["KeyMetadata"]
    kms.describe_key(KeyId=key["KeyId"])
    kms.describe_key(KeyId=key["KeyId"])
    expect("KMSInvalidStateException", kms.enable_key, KeyId=key["KeyId"])
    counted = control(url, f"calls?since={mark}")
    assert counted["calls"] == {"CreateKey": 1, "DescribeKey": 2, "EnableKey": 1}
    assert counted["total"] == 4 and counted["seq"] == mark + 4


def test_concurrent_create_alias_has_exactly_one_winner(url):
    from concurrent.futures import ThreadPoolExecutor

    kms_a, kms_b = client(url), client(url)
    keys = [kms_a.create_key(Origin="EXTERNAL")["KeyMetadata"]["KeyId"] for _index in range(8)]

    def create(args):
        kms_x, key_id = args
        try:
            kms_x.create_alias(AliasName="alias/race", TargetKeyId=key_id)
            return "won"
        except ClientError as exc:
            return error_code(exc)

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(create, [(kms_a if i % 2 else kms_b, k) for i, k in enumerate(keys)]))
    assert sorted(results) == ["AlreadyExistsException"] * 7 + ["won"]
    owners = [a for a in kms_a.list_aliases()["Aliases"] if a["AliasName"] == "alias/race"]
    assert len(owners) == 1
