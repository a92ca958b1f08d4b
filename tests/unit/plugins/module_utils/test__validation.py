"""Tests of plugins/module_utils/_validation.py: every rule accepts what KMS accepts and refuses the rest
with a message naming the option, the value and what is allowed."""

from __future__ import annotations

import pytest

from ansible_collections.byok.kms.plugins.module_utils._errors import ValidationError
from ansible_collections.byok.kms.plugins.module_utils import _validation as v


@pytest.mark.parametrize(
    "given, expected",
    [
        ("my-key", "alias/my-key"),
        ("alias/my-key", "alias/my-key"),
        ("team/app/prod_1-A", "alias/team/app/prod_1-A"),
        ("a" * 250, "alias/" + "a" * 250),
        ("aws", "alias/aws"),
        ("awsome", "alias/awsome"),
    ],
)
def test_alias_valid(given, expected):
    assert v.validate_alias(given) == expected


@pytest.mark.parametrize(
    "given",
    # ':' is in the API model's pattern, but KMS refuses it in CreateAlias (and the local server does too)
    ["", "alias/", "my key", "key!", "team:app", "app\n", "alias/app\n", "alias/aws/ebs", "aws/ebs", "a" * 251, "alias/" + "b" * 251, "ключ", None, 5],
)
def test_alias_invalid(given):
    with pytest.raises(ValidationError) as e:
        v.validate_alias(given)
    assert e.value.option == "alias"
    assert e.value.message.startswith("alias: ")
    assert "alias/aws/" in e.value.message  # says what is allowed


def test_alias_too_long_message_names_the_length():
    with pytest.raises(ValidationError) as e:
        v.validate_alias("x" * 300, option="key")
    assert "306 characters" in e.value.message and e.value.option == "key"


@pytest.mark.parametrize(
    "given",
    [
        "alias/my-key",
        "arn:aws:kms:us-east-1:111122223333:alias/my-key",
        "1234abcd-12ab-34cd-56ef-1234567890ab",
        "mrk-1234abcd12ab34cd56ef1234567890ab",
        "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        "arn:aws-cn:kms:cn-north-1:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890ab",
    ],
)
def test_key_reference_valid(given):
    assert v.validate_key_reference(given) == given


@pytest.mark.parametrize(
    "given",
    [
        "my-key", "alias/aws/ebs", "alias/my-key\n", "1234abcd-12ab-34cd-56ef-1234567890ab\n", "1234",
        "arn:aws:kms:us-east-1:111122223333:key/nope", "arn:aws:s3:::bucket", "", None,
    ],
)
def test_key_reference_invalid(given):
    with pytest.raises(ValidationError) as e:
        v.validate_key_reference(given)
    assert e.value.option == "key"


def test_is_alias_reference():
    assert v.is_alias_reference("alias/x")
    assert v.is_alias_reference("arn:aws:kms:us-east-1:111122223333:alias/x")
    assert not v.is_alias_reference("1234abcd-12ab-34cd-56ef-1234567890ab")


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:iam::111122223333:root",
        "arn:aws:iam::111122223333:user/alice",
        "arn:aws:iam::111122223333:role/path/to/Admin",
        "arn:aws-us-gov:iam::111122223333:role/x+y=z,a.b@c-d_e",
    ],
)
def test_principal_valid(arn):
    assert v.validate_principal_arn(arn, "key_admins") == arn


@pytest.mark.parametrize(
    "arn",
    [
        "alice",
        "arn:aws:iam::11112222333:root",
        "arn:aws:iam::111122223333:group/admins",
        "arn:aws:sts::111122223333:assumed-role/x/y",
        "arn:aws:iam::111122223333:user/",
        "arn:aws:iam::111122223333:role/App\n",
        "arn:aws:iam::111122223333:role/ключ",
        "arn:aws:iam::\u0661\u0661\u0661\u0661\u0662\u0662\u0662\u0662\u0663\u0663\u0663\u0663:root",
        "*",
        123,
    ],
)
def test_principal_invalid(arn):
    with pytest.raises(ValidationError) as e:
        v.validate_principal_arns(["arn:aws:iam::111122223333:root", arn], "key_users")
    assert e.value.option == "key_users"
    assert "key_users" in e.value.message and "IAM principal ARN" in e.value.message


def test_principals_dedup_and_none():
    root = "arn:aws:iam::111122223333:root"
    assert v.validate_principal_arns([root, root], "key_users") == [root]
    assert v.validate_principal_arns(None, "key_users") is None
    assert v.validate_principal_arns([], "key_users") == []


def test_account_ids():
    assert v.validate_account_ids(["012345678901", 111122223333, "012345678901"], "external_account_ids") == [
        "012345678901",
        "111122223333",
    ]
    # a trailing newline (YAML block scalar) and other scripts' digits are not 12 digits either
    for bad in ["12345678901", "1234567890123", "abcdefghijkl", True, "11112222333a", "111122223333\n",
                "\u0661" * 12]:
        with pytest.raises(ValidationError) as e:
            v.validate_account_ids([bad], "external_account_ids")
        assert "external_account_ids" in e.value.message and "12 digits" in e.value.message


def test_tags_normalised():
    assert v.validate_tags({"a": 1, "b": None, "c": True, "d": "x"}) == {"a": "1", "b": "", "c": "true", "d": "x"}
    assert v.validate_tags(None) is None
    assert v.validate_tags({}) == {}
    assert len(v.validate_tags({f"k{i}": "v" for i in range(50)})) == 50


@pytest.mark.parametrize(
    "tags, fragment",
    [
        ({"aws:owner": "x"}, "aws:"),
        ({"AWS:Owner": "x"}, "aws:"),
        ({"byok:key-check-value": "abc"}, "byok:"),
        ({"k" * 129: "x"}, "1 to 128"),
        ({"": "x"}, "1 to 128"),
        ({"k": "v" * 257}, "at most 256"),
        ({f"k{i}": "v" for i in range(51)}, "at most 50"),
    ],
)
def test_tags_invalid(tags, fragment):
    with pytest.raises(ValidationError) as e:
        v.validate_tags(tags)
    assert e.value.option == "tags"
    assert e.value.message.startswith("tags: ") and fragment in e.value.message


def test_tags_reserved_prefixes_configurable():
    assert v.validate_tags({"byok:x": "1"}, reserved_prefixes=("aws:",)) == {"byok:x": "1"}


def test_is_reserved_tag_key():
    assert v.is_reserved_tag_key("aws:cloudformation:stack")
    assert v.is_reserved_tag_key("Byok:key-check-value")
    assert not v.is_reserved_tag_key("awsome")


@pytest.mark.parametrize("days", [7, 15, 30])
def test_deletion_window_valid(days):
    assert v.validate_deletion_window(days) == days


@pytest.mark.parametrize("days", [6, 31, 0, -7, True, "7", None])
def test_deletion_window_invalid(days):
    with pytest.raises(ValidationError) as e:
        v.validate_deletion_window(days)
    assert e.value.option == "deletion_window_days" and "7 to 30" in e.value.message


def test_description():
    assert v.validate_description(None) is None
    assert v.validate_description("x" * 8192) == "x" * 8192
    with pytest.raises(ValidationError, match="^description: .*8192"):
        v.validate_description("x" * 8193)


def test_policy_valid():
    doc = {"Version": "2012-10-17", "Statement": []}
    assert v.validate_policy('{"Version": "2012-10-17", "Statement": []}') == doc
    assert v.validate_policy(doc) == doc
    assert v.validate_policy(None) is None


@pytest.mark.parametrize(
    "policy, fragment",
    [
        ("not json", "not valid JSON"),
        ('{"Statement": [}', "not valid JSON"),
        ("[1, 2]", "JSON object"),
        ('{"Version": "2012-10-17"}', "Statement"),
        ({"Statement": ["x" * 33000]}, "at most 32768"),
        (42, "JSON object"),
    ],
)
def test_policy_invalid(policy, fragment):
    with pytest.raises(ValidationError) as e:
        v.validate_policy(policy)
    assert e.value.option == "policy" and e.value.message.startswith("policy: ") and fragment in e.value.message
