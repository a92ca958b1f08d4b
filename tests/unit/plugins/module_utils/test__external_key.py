"""Tests of plugins/module_utils/_external_key.py against moto's KMS, in process (mock_aws).

Stock moto creates EXTERNAL keys Enabled (AWS: PendingImport); the tests that depend on the state
say which one they expect, and the PendingImport rules are tested on plain metadata.
"""

from __future__ import annotations

import json

import boto3
from botocore.exceptions import ClientError
import pytest
from moto import mock_aws

from ansible_collections.byok.kms.plugins.module_utils._errors import ByokError
from ansible_collections.byok.kms.plugins.module_utils._errors import KmsError
from ansible_collections.byok.kms.plugins.module_utils._errors import ValidationError
from ansible_collections.byok.kms.plugins.module_utils._kms import KmsClient
from ansible_collections.byok.kms.plugins.module_utils import _external_key as ek

ADMIN = "arn:aws:iam::123456789012:role/KeyAdmin"
USER = "arn:aws:iam::123456789012:role/App"
READS = {"DescribeKey", "GetKeyPolicy", "ListResourceTags"}


@pytest.fixture
def boto_kms():
    with mock_aws():
        yield boto3.client("kms", region_name="us-east-1")


@pytest.fixture
def client(boto_kms):
    return KmsClient(boto_kms, retries=1, delay=0)


def run(client, check_mode=False, **params):
    client.calls.clear()
    return ek.ensure_external_key(client, params, check_mode)


def writes(client):
    return {op for op in client.calls if op not in READS}


def statement_sids(policy):
    return {s["Sid"] for s in policy["Statement"]}


# --- validation -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "params, option, value",
    [
        ({"alias": "alias/aws/ebs"}, "alias", "alias/aws/ebs"),
        ({"alias": "bad name"}, "alias", "bad name"),
        ({"alias": "alias/"}, "alias", "alias/"),
        ({"alias": "team:app"}, "alias", "team:app"),
        ({"alias": "a" * 251}, "alias", "257 characters"),
        ({"alias": "k", "key_admins": ["bob"]}, "key_admins", "bob"),
        ({"alias": "k", "key_users": ["arn:aws:iam::1:root"]}, "key_users", "arn:aws:iam::1:root"),
        ({"alias": "k", "key_users": ["arn:aws:iam::123456789012:group/admins"]}, "key_users", "group/admins"),
        ({"alias": "k", "external_account_ids": ["12345"]}, "external_account_ids", "12345"),
        ({"alias": "k", "external_account_ids": ["1234567890123"]}, "external_account_ids", "1234567890123"),
        ({"alias": "k", "tags": {"aws:x": "1"}}, "tags", "aws:x"),
        ({"alias": "k", "tags": {"AWS:X": "1"}}, "tags", "AWS:X"),
        ({"alias": "k", "tags": {"byok:key-check-value": "1"}}, "tags", "byok:key-check-value"),
        ({"alias": "k", "tags": {"k" * 129: "1"}}, "tags", "k" * 129),
        ({"alias": "k", "tags": {"long": "v" * 257}}, "tags", "long="),
        ({"alias": "k", "tags": {f"k{i}": "v" for i in range(51)}}, "tags", "51 tags"),
        ({"alias": "k", "deletion_window_days": 6}, "deletion_window_days", "6"),
        ({"alias": "k", "deletion_window_days": 31, "state": "absent"}, "deletion_window_days", "31"),
        ({"alias": "k", "policy": "{nope"}, "policy", "{nope"),
        ({"alias": "k", "policy": '{"Version": "2012-10-17"}'}, "policy", "2012-10-17"),
        ({"alias": "k", "policy": {"Statement": []}, "key_users": [USER]}, "policy", "key_users"),
        ({"alias": "k", "policy": {"Statement": []}, "allow_key_admins_to_delete": False}, "policy", "allow_key_admins_to_delete"),
        ({"alias": "k", "key_spec": "RSA_2048", "key_usage": "GENERATE_VERIFY_MAC"}, "key_usage", "GENERATE_VERIFY_MAC"),
        ({"alias": "k", "key_spec": "ML_DSA_44"}, "key_spec", "ML_DSA_44"),
        ({"alias": "k", "state": "gone"}, "state", "gone"),
    ],
)
def test_bad_input_fails_before_any_call(client, params, option, value):
    with pytest.raises(ValidationError) as e:
        run(client, **params)
    assert e.value.option == option
    assert e.value.message.startswith(option) or f"{option} and" in e.value.message
    assert value in e.value.message
    assert e.value.allowed in e.value.message or "mutually exclusive" in e.value.message  # names what is allowed
    assert not client.calls


def test_validation_is_idempotent():
    p = ek.validate_external_key_params({"alias": "k", "tags": {"a": 1}, "external_account_ids": ["111122223333"]})
    assert ek.validate_external_key_params(p) == p
    assert p["alias"] == "alias/k" and p["tags"] == {"a": "1"} and p["deletion_window_days"] == 30 and p["purge_tags"] is True


# --- create, check mode, idempotence --------------------------------------------------------


def test_create_check_mode_predicts_and_writes_nothing(client, boto_kms):
    result = run(client, check_mode=True, alias="app", description="d", tags={"team": "a"}, key_users=[USER])
    assert result["changed"] is True
    assert client.calls == {"DescribeKey": 1}
    assert boto_kms.list_keys()["Keys"] == []
    assert result["key_id"] is None and result["key_arn"] is None
    meta = result["key_metadata"]
    assert (meta["Origin"], meta["KeyState"], meta["Enabled"], meta["KeySpec"], meta["KeyUsage"]) == (
        "EXTERNAL", "PendingImport", False, "SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT")
    assert result["tags"] == {"team": "a"}
    assert "Allow use of the key" in statement_sids(result["key_policy"])
    assert result["diff"]["before"] == {} and result["diff"]["after"]["description"] == "d"


def test_create_then_idempotent(client, boto_kms):
    params = dict(alias="app", description="d", tags={"team": "a"}, key_admins=[ADMIN], key_users=[USER],
                  external_account_ids=["111122223333"])
    created = run(client, **params)
    assert created["changed"] is True
    assert writes(client) == {"CreateKey", "CreateAlias", "PutKeyPolicy"}
    assert created["alias"] == "alias/app"
    meta = boto_kms.describe_key(KeyId="alias/app")["KeyMetadata"]
    assert meta["KeyId"] == created["key_id"] and meta["Origin"] == "EXTERNAL" and meta["Description"] == "d"
    policy = json.loads(boto_kms.get_key_policy(KeyId=created["key_id"], PolicyName="default")["Policy"])
    assert statement_sids(policy) == {"Enable IAM User Permissions", "Allow access for Key Administrators",
                                      "Allow use of the key", "Allow attachment of persistent resources"}
    assert created["key_policy"] == policy
    assert boto_kms.list_resource_tags(KeyId=created["key_id"])["Tags"] == [{"TagKey": "team", "TagValue": "a"}]
    assert isinstance(created["key_metadata"]["CreationDate"], str)

    again = run(client, **params)
    assert again["changed"] is False
    assert client.calls == {"DescribeKey": 1, "GetKeyPolicy": 1, "ListResourceTags": 1}
    assert again["key_metadata"] == created["key_metadata"]
    assert again["key_policy"] == created["key_policy"] and again["tags"] == created["tags"]
    assert again["diff"]["before"] == again["diff"]["after"]

    checked = run(client, check_mode=True, **params)
    assert checked["changed"] is False and not writes(client)


def test_create_with_spec_and_given_policy(client, boto_kms):
    policy = {"Version": "2012-10-17", "Statement": [{"Sid": "root", "Effect": "Allow",
              "Principal": {"AWS": "arn:aws:iam::123456789012:root"}, "Action": "kms:*", "Resource": "*"}]}
    result = run(client, alias="sign", key_spec="ECC_NIST_P256", policy=json.dumps(policy))
    assert writes(client) == {"CreateKey", "CreateAlias"}  # the policy went with CreateKey
    meta = boto_kms.describe_key(KeyId="alias/sign")["KeyMetadata"]
    assert (meta["KeySpec"], meta["KeyUsage"]) == ("ECC_NIST_P256", "SIGN_VERIFY")
    assert result["key_policy"] == policy
    assert run(client, alias="sign", key_spec="ECC_NIST_P256", policy=policy)["changed"] is False


def test_create_check_mode_matches_real_run(client):
    params = dict(alias="sign", key_spec="RSA_3072", key_usage="SIGN_VERIFY", description="sig", tags={"x": "y"})
    predicted = run(client, check_mode=True, **params)
    real = run(client, **params)
    ignore = {"KeyId", "Arn", "AWSAccountId", "CreationDate", "KeyState", "Enabled"}  # ids, and moto's state
    assert {k: v for k, v in predicted["key_metadata"].items() if k not in ignore} == {
        k: v for k, v in real["key_metadata"].items() if k in predicted["key_metadata"] and k not in ignore}
    assert predicted["tags"] == real["tags"]
    assert predicted["key_policy"]["Statement"][0]["Principal"]["AWS"] == f"arn:aws:iam::{ek.UNKNOWN_ACCOUNT}:root"


# --- changes ----------------------------------------------------------------------------------


def test_tag_change_four_steps_and_byok_tags_kept(client, boto_kms):
    created = run(client, alias="app", tags={"a": "1", "b": "2"})
    boto_kms.tag_resource(KeyId=created["key_id"], Tags=[{"TagKey": "byok:key-check-value", "TagValue": "ABCDEF"}])
    new = dict(alias="app", tags={"a": "10", "c": "3"})
    checked = run(client, check_mode=True, **new)
    assert checked["changed"] is True and not writes(client)
    assert checked["tags"] == {"a": "10", "c": "3", "byok:key-check-value": "ABCDEF"}
    assert checked["diff"]["before"]["tags"] == {"a": "1", "b": "2", "byok:key-check-value": "ABCDEF"}
    assert checked["diff"]["after"]["tags"] == checked["tags"]
    real = run(client, **new)
    assert real["changed"] is True and writes(client) == {"TagResource", "UntagResource"}
    tags = {t["TagKey"]: t["TagValue"] for t in boto_kms.list_resource_tags(KeyId=created["key_id"])["Tags"]}
    assert tags == checked["tags"]
    assert run(client, check_mode=True, **new)["changed"] is False
    assert run(client, **new)["changed"] is False


def test_tags_without_purge_and_unset_tags(client):
    run(client, alias="app", tags={"a": "1"})
    result = run(client, alias="app", tags={"b": "2"}, purge_tags=False)
    assert result["tags"] == {"a": "1", "b": "2"} and writes(client) == {"TagResource"}
    result = run(client, alias="app")  # tags unset: left alone even with purge_tags
    assert result["changed"] is False and result["tags"] == {"a": "1", "b": "2"}
    result = run(client, alias="app", tags={})
    assert result["tags"] == {} and writes(client) == {"UntagResource"}


def test_policy_change_four_steps(client, boto_kms):
    created = run(client, alias="app", key_users=[USER])
    new = dict(alias="app", key_users=[USER], key_admins=[ADMIN], allow_key_admins_to_delete=False)
    checked = run(client, check_mode=True, **new)
    assert checked["changed"] is True and not writes(client)
    assert "Allow access for Key Administrators" in statement_sids(checked["key_policy"])
    assert "Allow access for Key Administrators" not in statement_sids(checked["diff"]["before"]["policy"])
    real = run(client, **new)
    assert writes(client) == {"PutKeyPolicy"} and real["key_policy"] == checked["key_policy"]
    stored = json.loads(boto_kms.get_key_policy(KeyId=created["key_id"], PolicyName="default")["Policy"])
    admin = [s for s in stored["Statement"] if s["Sid"] == "Allow access for Key Administrators"][0]
    assert "kms:ScheduleKeyDeletion" not in admin["Action"]
    assert run(client, check_mode=True, **new)["changed"] is False
    assert run(client, **new)["changed"] is False
    # No policy option: the policy is left alone.
    assert run(client, alias="app")["changed"] is False


def test_description_and_enabled(client, boto_kms):
    created = run(client, alias="app")
    assert created["key_metadata"]["KeyState"] in ("PendingImport", "Enabled")
    if created["key_metadata"]["KeyState"] == "PendingImport":
        pytest.skip("this moto creates EXTERNAL keys PendingImport; enable/disable is tested on plain metadata")
    checked = run(client, check_mode=True, alias="app", description="new", enabled=False)
    assert checked["changed"] is True and not writes(client)
    assert checked["key_metadata"]["Description"] == "new" and checked["key_metadata"]["KeyState"] == "Disabled"
    assert (checked["diff"]["before"]["description"], checked["diff"]["after"]["description"]) == ("", "new")
    assert (checked["diff"]["before"]["enabled"], checked["diff"]["after"]["enabled"]) == (True, False)
    real = run(client, alias="app", description="new", enabled=False)
    assert writes(client) == {"UpdateKeyDescription", "DisableKey"}
    meta = boto_kms.describe_key(KeyId=created["key_id"])["KeyMetadata"]
    assert meta["Description"] == "new" and meta["Enabled"] is False
    assert real["key_metadata"]["Enabled"] is False
    assert run(client, alias="app", description="new", enabled=False)["changed"] is False
    assert run(client, alias="app", enabled=True)["changed"] is True
    assert writes(client) == {"EnableKey"}


class FakeClient:
    def __init__(self):
        self.calls = []

    def call(self, operation, **params):
        self.calls.append(operation)
        return {}


@pytest.mark.parametrize("enabled", [True, False])
def test_enabled_leaves_pending_import_key_alone(enabled):
    fake = FakeClient()
    meta = {"KeyId": "k", "KeyState": "PendingImport", "Enabled": False}
    assert ek.ensure_enabled(fake, meta, enabled, check_mode=False) == (meta, False)
    assert fake.calls == []


def test_enabled_toggles_imported_key():
    fake = FakeClient()
    meta, changed = ek.ensure_enabled(fake, {"KeyId": "k", "KeyState": "Disabled", "Enabled": False}, True, check_mode=False)
    assert changed and meta["KeyState"] == "Enabled" and fake.calls == ["EnableKey"]


# --- refusals -------------------------------------------------------------------------------


def test_immutable_attributes(client, boto_kms):
    created = run(client, alias="app", key_spec="RSA_2048")
    for option, value in [("key_spec", "RSA_4096"), ("key_usage", "SIGN_VERIFY"), ("multi_region", True)]:
        with pytest.raises(ByokError) as e:
            run(client, alias="app", description="changed", **{option: value})
        assert e.value.details["option"] == option and "never change" in e.value.message
        assert not writes(client)
    assert boto_kms.describe_key(KeyId=created["key_id"])["KeyMetadata"]["Description"] == ""
    assert run(client, alias="app", key_spec="RSA_2048", key_usage="ENCRYPT_DECRYPT", multi_region=False)["changed"] is False


def test_key_not_external_is_refused(client, boto_kms):
    key_id = boto_kms.create_key()["KeyMetadata"]["KeyId"]
    boto_kms.create_alias(AliasName="alias/native", TargetKeyId=key_id)
    for state in ("present", "absent"):
        with pytest.raises(ByokError, match="Origin=AWS_KMS"):
            run(client, alias="native", state=state, tags={"a": "b"})
        assert not writes(client)
    assert boto_kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "Enabled"


def test_alias_on_key_pending_deletion(client, boto_kms):
    created = run(client, alias="app")
    boto_kms.schedule_key_deletion(KeyId=created["key_id"], PendingWindowInDays=7)
    with pytest.raises(ByokError, match="scheduled for deletion") as e:
        run(client, alias="app", tags={"a": "b"})
    assert e.value.details["key_id"] == created["key_id"] and not writes(client)
    # state=absent removes the alias; then present creates a new key.
    gone = run(client, alias="app", state="absent")
    assert gone["changed"] is True and writes(client) == {"DeleteAlias"}
    new = run(client, alias="app")
    assert new["changed"] is True and new["key_id"] != created["key_id"]


# --- absent -------------------------------------------------------------------------------------


def test_absent_four_steps(client, boto_kms):
    created = run(client, alias="app")
    checked = run(client, check_mode=True, alias="app", state="absent", deletion_window_days=8)
    assert checked["changed"] is True and not writes(client)
    assert checked["key_metadata"]["KeyState"] == "PendingDeletion" and checked["key_id"] == created["key_id"]
    real = run(client, alias="app", state="absent", deletion_window_days=8)
    assert real["changed"] is True and writes(client) == {"ScheduleKeyDeletion", "DeleteAlias"}
    assert boto_kms.describe_key(KeyId=created["key_id"])["KeyMetadata"]["KeyState"] == "PendingDeletion"
    assert boto_kms.list_aliases(KeyId=created["key_id"])["Aliases"] == []
    for check_mode in (True, False):
        again = run(client, check_mode=check_mode, alias="app", state="absent")
        assert again["changed"] is False and client.calls == {"DescribeKey": 1}
        assert again["key_id"] is None


# --- concurrency ------------------------------------------------------------------------------


class RacingClient(KmsClient):
    """Lets another 'run' create the alias between this run's DescribeKey and CreateAlias."""

    def __init__(self, boto_kms):
        super().__init__(boto_kms, retries=1, delay=0)
        self.boto_kms = boto_kms
        self.winner = None

    def call(self, operation, **params):
        if operation == "CreateAlias" and self.winner is None:
            self.winner = self.boto_kms.create_key(Origin="EXTERNAL")["KeyMetadata"]["KeyId"]
            self.boto_kms.create_alias(AliasName=params["AliasName"], TargetKeyId=self.winner)
        return super().call(operation, **params)


def test_concurrent_create_loser_discards_its_key(boto_kms):
    racing = RacingClient(boto_kms)
    result = ek.ensure_external_key(racing, {"alias": "app", "tags": {"a": "1"}}, False)
    assert result["changed"] is True
    assert result["key_id"] == racing.winner
    assert boto_kms.describe_key(KeyId="alias/app")["KeyMetadata"]["KeyId"] == racing.winner
    keys = {k["KeyId"] for k in boto_kms.list_keys()["Keys"]}
    assert len(keys) == 2
    (loser,) = keys - {racing.winner}
    loser_meta = boto_kms.describe_key(KeyId=loser)["KeyMetadata"]
    assert loser_meta["KeyState"] == "PendingDeletion"
    assert racing.calls["ScheduleKeyDeletion"] == 1
    assert result["warnings"] and loser in result["warnings"][0]
    # The winner was brought in line with this run's options.
    assert result["tags"] == {"a": "1"}


def test_create_alias_other_error_discards_key(boto_kms):
    class Failing(KmsClient):
        def call(self, operation, **params):
            if operation == "CreateAlias":
                self.calls[operation] += 1
                raise KmsError("CreateAlias", "LimitExceededException", "too many aliases")
            return super().call(operation, **params)

    failing = Failing(boto_kms, retries=1, delay=0)
    with pytest.raises(ByokError, match="LimitExceededException.*scheduled for deletion"):
        ek.ensure_external_key(failing, {"alias": "app"}, False)
    (key,) = boto_kms.list_keys()["Keys"]
    assert boto_kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["KeyState"] == "PendingDeletion"


# --- against the local server (AWS's EXTERNAL behaviour: PendingImport, import, enable) -----------


def test_enabled_only_after_import_on_local_server(kms_client):
    from kms_server.testing import import_material

    server = KmsClient(kms_client, retries=1, delay=0)
    created = run(server, alias="imp", enabled=True)
    assert created["key_metadata"]["KeyState"] == "PendingImport" and created["key_metadata"]["Enabled"] is False
    # enabled on a key without material: left alone, no error
    for enabled in (True, False):
        result = run(server, alias="imp", enabled=enabled)
        assert result["changed"] is False and not writes(server)

    import_material(kms_client, created["key_id"], bytes(range(32)))
    assert kms_client.describe_key(KeyId="alias/imp")["KeyMetadata"]["KeyState"] == "Enabled"
    checked = run(server, check_mode=True, alias="imp", enabled=False)
    assert checked["changed"] is True and not writes(server) and checked["key_metadata"]["KeyState"] == "Disabled"
    assert (checked["diff"]["before"]["enabled"], checked["diff"]["after"]["enabled"]) == (True, False)
    disabled = run(server, alias="imp", enabled=False)
    assert writes(server) == {"DisableKey"} and disabled["key_metadata"] == checked["key_metadata"]
    assert kms_client.describe_key(KeyId="alias/imp")["KeyMetadata"]["KeyState"] == "Disabled"
    assert run(server, alias="imp", enabled=False)["changed"] is False
    run(server, alias="imp", enabled=True)
    assert writes(server) == {"EnableKey"}
    assert kms_client.describe_key(KeyId="alias/imp")["KeyMetadata"]["Enabled"] is True
    gone = run(server, alias="imp", state="absent", deletion_window_days=7)
    assert gone["changed"] is True
    assert kms_client.describe_key(KeyId=created["key_id"])["KeyMetadata"]["KeyState"] == "PendingDeletion"


def test_policy_failure_after_create_is_explained_and_rerun_fixes_it(boto_kms):
    class RejectPolicy(KmsClient):
        reject = True

        def call(self, operation, **params):
            if operation == "PutKeyPolicy" and self.reject:
                self.calls[operation] += 1
                raise KmsError("PutKeyPolicy", "MalformedPolicyDocumentException", "principal does not exist")
            return super().call(operation, **params)

    client = RejectPolicy(boto_kms, retries=1, delay=0)
    with pytest.raises(ByokError, match="was created, but its key policy could not be set.*MalformedPolicyDocument") as e:
        ek.ensure_external_key(client, {"alias": "app", "key_users": [USER]}, False)
    key_id = boto_kms.describe_key(KeyId="alias/app")["KeyMetadata"]["KeyId"]
    assert e.value.details["key_id"] == key_id
    client.reject = False
    fixed = run(client, alias="app", key_users=[USER])
    assert fixed["changed"] is True and writes(client) == {"PutKeyPolicy"} and fixed["key_id"] == key_id


# --- check mode predicts what a real run returns (local server: AWS's shapes for EXTERNAL keys) ---


SPECS = [
    dict(key_spec="SYMMETRIC_DEFAULT"),
    dict(key_spec="SYMMETRIC_DEFAULT", multi_region=True),
    dict(key_spec="HMAC_256"),
    dict(key_spec="RSA_2048", key_usage="ENCRYPT_DECRYPT"),
    dict(key_spec="RSA_3072", key_usage="SIGN_VERIFY"),
    dict(key_spec="ECC_NIST_P384"),
    dict(key_spec="ECC_NIST_P256", key_usage="KEY_AGREEMENT"),
    dict(key_spec="ECC_SECG_P256K1"),
]


def account_of(arn):
    return arn.split(":")[4]


def test_check_mode_has_the_shape_and_values_of_a_real_run(kms_client):
    server = KmsClient(kms_client, retries=1, delay=0)
    known_after_create = {"AWSAccountId", "KeyId", "Arn", "CreationDate", "MultiRegionConfiguration"}
    for n, spec in enumerate(SPECS):
        params = dict(alias=f"shape-{n}", description="shape", tags={"t": str(n)}, key_admins=[ADMIN],
                      key_users=[USER], external_account_ids=["444455556666"], **spec)
        predicted = run(server, check_mode=True, **params)
        real = run(server, **params)
        label = str(spec)
        assert set(predicted) == set(real), label
        assert set(predicted["key_metadata"]) == set(real["key_metadata"]), label
        for name, value in predicted["key_metadata"].items():
            if name not in known_after_create:
                assert value == real["key_metadata"][name], (label, name)
        assert predicted["tags"] == real["tags"] and predicted["alias"] == real["alias"] == f"alias/shape-{n}"
        # The predicted policy is the real one but for the account id, unknown before the key exists.
        policy = json.loads(json.dumps(predicted["key_policy"]).replace(ek.UNKNOWN_ACCOUNT, account_of(real["key_arn"])))
        assert not ek.policies_differ(policy, real["key_policy"]), label
        assert set(predicted["diff"]["after"]) == set(real["diff"]["after"])

    # A change to an existing key, and state=absent: same shape again, same values.
    change = dict(alias="shape-0", description="changed", tags={"t": "changed"}, key_users=[USER])
    predicted, real = run(server, check_mode=True, **change), run(server, **change)
    assert predicted == real


def test_multi_region_key_and_its_admin_actions(kms_client):
    server = KmsClient(kms_client, retries=1, delay=0)
    result = run(server, alias="mrk", multi_region=True, key_admins=[ADMIN])
    assert result["key_id"].startswith("mrk-") and result["key_metadata"]["MultiRegion"] is True
    stored = json.loads(kms_client.get_key_policy(KeyId=result["key_id"], PolicyName="default")["Policy"])
    admin = [s for s in stored["Statement"] if s["Sid"] == "Allow access for Key Administrators"][0]
    assert {"kms:ReplicateKey", "kms:UpdatePrimaryRegion", "kms:ImportKeyMaterial"} <= set(admin["Action"])
    single = run(server, alias="single", key_admins=[ADMIN])
    admin = [s for s in single["key_policy"]["Statement"] if s["Sid"] == "Allow access for Key Administrators"][0]
    assert "kms:ReplicateKey" not in admin["Action"] and "kms:UpdatePrimaryRegion" not in admin["Action"]
    # Rerun of the multi-region key: no change (the policy is built for the key's own MultiRegion).
    assert run(server, alias="mrk", key_admins=[ADMIN])["changed"] is False


@pytest.mark.parametrize("days", [7, 19])
def test_deletion_window_days_is_honoured(kms_client, days):
    import datetime

    server = KmsClient(kms_client, retries=1, delay=0)
    created = run(server, alias="gone")
    predicted = run(server, check_mode=True, alias="gone", state="absent", deletion_window_days=days)
    real = run(server, alias="gone", state="absent", deletion_window_days=days)
    assert set(predicted) == set(real) and set(predicted["key_metadata"]) == set(real["key_metadata"])
    stored = kms_client.describe_key(KeyId=created["key_id"])["KeyMetadata"]["DeletionDate"]
    expected = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=days)
    for date in (predicted["key_metadata"]["DeletionDate"], real["key_metadata"]["DeletionDate"], stored):
        date = datetime.datetime.fromisoformat(date) if isinstance(date, str) else date
        assert abs(date - expected) < datetime.timedelta(minutes=5), (date, expected)


# --- retried calls whose first attempt had succeeded (the response was lost) -----------------------


class LostResponses:
    """A boto3 client whose listed operations do their work, then fail once with KMSInternalException."""

    def __init__(self, boto_kms, *methods):
        self._boto_kms = boto_kms
        self._lose = set(methods)

    def __getattr__(self, name):
        method = getattr(self._boto_kms, name)
        if name not in self._lose:
            return method

        def done_but_lost(**params):
            response = method(**params)
            if name not in self._lose:
                return response
            self._lose.discard(name)
            raise ClientError({"Error": {"Code": "KMSInternalException", "Message": "lost"}}, name)
        return done_but_lost


def test_retried_create_alias_that_had_succeeded_keeps_the_key(boto_kms):
    lossy = KmsClient(LostResponses(boto_kms, "create_alias"), retries=3, delay=0)
    result = ek.ensure_external_key(lossy, {"alias": "app"}, False)
    assert lossy.calls["CreateAlias"] == 2 and lossy.calls["CreateKey"] == 1  # the retry found the alias taken
    assert "ScheduleKeyDeletion" not in lossy.calls and not result["warnings"]
    meta = boto_kms.describe_key(KeyId="alias/app")["KeyMetadata"]
    assert meta["KeyId"] == result["key_id"] and meta["KeyState"] != "PendingDeletion"


def test_retried_schedule_deletion_and_delete_alias_that_had_succeeded(kms_client):
    boto_kms = kms_client  # the local server refuses a second ScheduleKeyDeletion, as AWS does
    created = run(KmsClient(boto_kms, retries=1, delay=0), alias="app")
    lossy = KmsClient(LostResponses(boto_kms, "schedule_key_deletion", "delete_alias"), retries=3, delay=0)
    result = ek.ensure_external_key(lossy, {"alias": "app", "state": "absent", "deletion_window_days": 7}, False)
    assert result["changed"] is True and result["key_metadata"]["KeyState"] == "PendingDeletion"
    assert lossy.calls["ScheduleKeyDeletion"] == 2 and lossy.calls["DeleteAlias"] == 2
    assert lossy.calls["DescribeKey"] == 2  # the alias, then the key the retry found pending deletion
    assert boto_kms.describe_key(KeyId=created["key_id"])["KeyMetadata"]["KeyState"] == "PendingDeletion"
    assert boto_kms.list_aliases(KeyId=created["key_id"])["Aliases"] == []
