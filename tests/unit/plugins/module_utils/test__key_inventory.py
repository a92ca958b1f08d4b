"""Unit tests of plugins/module_utils/_key_inventory.py against a fake KMS client that counts calls."""

from __future__ import annotations

import datetime
from collections import Counter

import pytest

from ansible_collections.byok.kms.plugins.module_utils import _key_inventory as inv
from ansible_collections.byok.kms.plugins.module_utils._errors import KmsError
from ansible_collections.byok.kms.plugins.module_utils._errors import ValidationError

NOW = datetime.datetime(2025, 6, 1, 12, 0, tzinfo=datetime.timezone.utc)
ACCOUNT = "111122223333"


def meta(key_id, spec="SYMMETRIC_DEFAULT", state="Enabled", origin="EXTERNAL", manager="CUSTOMER", valid_to=None):
    m = {
        "KeyId": key_id,
        "Arn": f"arn:aws:kms:us-east-1:{ACCOUNT}:key/{key_id}",
        "KeyState": state,
        "Enabled": state == "Enabled",
        "Origin": origin,
        "KeyManager": manager,
        "KeySpec": spec,
        "CreationDate": NOW - datetime.timedelta(days=100),
    }
    if valid_to is not None:
        m["ExpirationModel"] = "KEY_MATERIAL_EXPIRES"
        m["ValidTo"] = valid_to
    elif state != "PendingImport" and origin == "EXTERNAL":
        m["ExpirationModel"] = "KEY_MATERIAL_DOES_NOT_EXPIRE"
    return m


class FakeKms:
    """call/paginate like KmsClient; pages of `page_size` so pagination is exercised."""

    def __init__(self, keys, aliases, tags=None, rotations=None, page_size=2):
        self.keys = {k["KeyId"]: k for k in keys}
        self.aliases = aliases  # list of (alias name, key id or None)
        self.tags = tags or {}
        self.rotations = rotations or {}
        self.page_size = page_size
        self.calls = Counter()

    def _page(self, items, result_key, params):
        start = int(params.get("Marker") or 0)
        page = items[start:start + self.page_size]
        out = {result_key: page, "Truncated": start + self.page_size < len(items)}
        if out["Truncated"]:
            out["NextMarker"] = str(start + self.page_size)
        return out

    def call(self, operation, **params):
        self.calls[operation] += 1
        if operation == "ListAliases":
            assert "KeyId" not in params, "ListAliases must never be called per key"
            items = [{"AliasName": n, **({"TargetKeyId": k} if k else {})} for n, k in self.aliases]
            return self._page(items, "Aliases", params)
        if operation == "ListKeys":
            return self._page([{"KeyId": k} for k in self.keys], "Keys", params)
        if operation == "DescribeKey":
            key = params["KeyId"]
            if key not in self.keys:
                raise KmsError("DescribeKey", "NotFoundException", f"{key} not found")
            return {"KeyMetadata": dict(self.keys[key])}
        if operation == "ListResourceTags":
            items = [{"TagKey": k, "TagValue": v} for k, v in self.tags.get(params["KeyId"], {}).items()]
            return self._page(items, "Tags", params)
        if operation == "ListKeyRotations":
            assert params["IncludeKeyMaterial"] == "ALL_KEY_MATERIAL"
            if self.keys[params["KeyId"]]["KeySpec"] != "SYMMETRIC_DEFAULT":
                raise KmsError("ListKeyRotations", "UnsupportedOperationException", "not symmetric")
            return self._page(self.rotations.get(params["KeyId"], []), "Rotations", params)
        raise AssertionError(f"unexpected call {operation}")

    def paginate(self, operation, result_key, **params):
        items = []
        while True:
            page = self.call(operation, **params)
            items.extend(page.get(result_key, []))
            if not page.get("Truncated"):
                return items
            params = dict(params, Marker=page["NextMarker"])


@pytest.fixture
def account():
    keys = [
        meta("k-sym", valid_to=NOW + datetime.timedelta(days=10, hours=3)),
        meta("k-hmac", spec="HMAC_256", valid_to=NOW + datetime.timedelta(days=200)),
        meta("k-ecc", spec="ECC_NIST_P256"),
        meta("k-pending", state="PendingImport"),
        meta("k-kms", origin="AWS_KMS"),
        meta("k-aws", manager="AWS", origin="AWS_KMS"),
        meta("k-old", valid_to=NOW - datetime.timedelta(hours=5)),
    ]
    aliases = [
        ("alias/app-sym", "k-sym"),
        ("alias/app-sym-2", "k-sym"),
        ("alias/app-hmac", "k-hmac"),
        ("alias/other-ecc", "k-ecc"),
        ("alias/app-pending", "k-pending"),
        ("alias/app-kms", "k-kms"),
        ("alias/aws/s3", "k-aws"),
        ("alias/aws/ebs", None),
        ("alias/old", "k-old"),
    ]
    tags = {
        "k-sym": {"team": "payments", "byok:key-check-value": "A1B2C3"},
        "k-hmac": {"team": "payments"},
        "k-ecc": {"team": "identity"},
    }
    rotations = {
        "k-sym": [
            {"KeyId": "k-sym", "KeyMaterialId": "m1", "KeyMaterialState": "NON_CURRENT", "ImportState": "IMPORTED",
             "ExpirationModel": "KEY_MATERIAL_DOES_NOT_EXPIRE"},
            {"KeyId": "k-sym", "KeyMaterialId": "m2", "KeyMaterialState": "CURRENT", "ImportState": "IMPORTED",
             "ExpirationModel": "KEY_MATERIAL_EXPIRES", "ValidTo": NOW + datetime.timedelta(days=10, hours=3),
             "RotationDate": NOW - datetime.timedelta(days=1), "RotationType": "ON_DEMAND"},
            {"KeyId": "k-sym", "KeyMaterialId": "m3", "KeyMaterialState": "PENDING_ROTATION", "ImportState": "IMPORTED",
             "ExpirationModel": "KEY_MATERIAL_DOES_NOT_EXPIRE"},
        ]
    }
    return FakeKms(keys, aliases, tags, rotations)


def ids(keys):
    return [k["key_id"] for k in keys]


def test_lists_only_customer_external_keys_sorted_by_alias(account):
    keys = inv.list_external_keys(account, now=NOW)
    assert ids(keys) == ["k-hmac", "k-pending", "k-sym", "k-old", "k-ecc"]
    # one pass of each listing (paginated: 9 aliases in pages of 2 = 5 calls), never per key
    assert account.calls["ListAliases"] == 5
    assert account.calls["ListKeys"] == 4
    # the AWS managed key is known by its alias/aws/ alias and never described
    assert account.calls["DescribeKey"] == 6


def test_entry_shape(account):
    (sym,) = inv.list_external_keys(account, key_ids=["k-sym"], now=NOW)
    assert sym["aliases"] == ["alias/app-sym", "alias/app-sym-2"]
    assert sym["tags"] == {"team": "payments", "byok:key-check-value": "A1B2C3"}
    assert sym["key_check_value"] == "A1B2C3"
    assert sym["days_until_expiry"] == 10
    assert sym["valid_to"] == (NOW + datetime.timedelta(days=10, hours=3)).isoformat()
    assert sym["key_metadata"]["CreationDate"] == (NOW - datetime.timedelta(days=100)).isoformat()
    assert sym["key_arn"].endswith(":key/k-sym")
    assert [m["key_material_id"] for m in sym["key_materials"]] == ["m1", "m2", "m3"]
    current = sym["key_materials"][1]
    assert current["key_material_state"] == "CURRENT"
    assert current["import_state"] == "IMPORTED"
    assert current["days_until_expiry"] == 10
    assert current["rotation_type"] == "ON_DEMAND"
    assert sym["key_materials"][0]["valid_to"] is None
    assert sym["key_materials"][0]["days_until_expiry"] is None


def test_no_rotation_listing_for_non_symmetric_keys(account):
    keys = inv.list_external_keys(account, key_ids=["k-hmac", "k-ecc"], now=NOW)
    assert [k["key_materials"] for k in keys] == [[], []]
    assert account.calls["ListKeyRotations"] == 0
    assert [k["days_until_expiry"] for k in keys] == [200, None]
    assert [k["key_check_value"] for k in keys] == [None, None]


def test_alias_pattern_skips_list_keys(account):
    keys = inv.list_external_keys(account, alias="app-*", now=NOW)
    assert ids(keys) == ["k-hmac", "k-pending", "k-sym"]
    assert account.calls["ListKeys"] == 0
    assert account.calls["DescribeKey"] == 4  # k-kms is described and dropped (AWS_KMS)


def test_exact_alias_with_prefix(account):
    assert ids(inv.list_external_keys(account, alias="alias/app-sym-2", now=NOW)) == ["k-sym"]
    assert ids(inv.list_external_keys(account, alias="app-sym", now=NOW)) == ["k-sym"]
    assert inv.list_external_keys(account, alias="nope", now=NOW) == []


def test_key_ids_accept_id_arn_and_alias(account):
    keys = inv.list_external_keys(
        account, key_ids=[f"arn:aws:kms:us-east-1:{ACCOUNT}:key/k-ecc", "alias/app-hmac", "k-hmac", "missing", "alias/missing"],
        now=NOW,
    )
    assert ids(keys) == ["k-hmac", "k-ecc"]
    assert account.calls["ListKeys"] == 0


def test_key_ids_and_alias_intersect(account):
    assert ids(inv.list_external_keys(account, key_ids=["k-ecc", "k-sym"], alias="app-*", now=NOW)) == ["k-sym"]


def test_tags_filter_needs_every_tag(account):
    assert ids(inv.list_external_keys(account, tags={"team": "payments"}, now=NOW)) == ["k-hmac", "k-sym"]
    assert ids(inv.list_external_keys(account, tags={"team": "payments", "byok:key-check-value": "A1B2C3"}, now=NOW)) == ["k-sym"]
    assert inv.list_external_keys(account, tags={"team": "nobody"}, now=NOW) == []


def test_key_states_filter_before_tags(account):
    keys = inv.list_external_keys(account, key_states=["PendingImport"], now=NOW)
    assert ids(keys) == ["k-pending"]
    assert keys[0]["days_until_expiry"] is None
    assert account.calls["ListResourceTags"] == 1


def test_expiring_within_days(account):
    assert ids(inv.list_external_keys(account, expiring_within_days=30, now=NOW)) == ["k-sym", "k-old"]
    # 10 days and 3 hours left: not within 10 days, within 11
    assert ids(inv.list_external_keys(account, expiring_within_days=10, now=NOW)) == ["k-old"]
    assert ids(inv.list_external_keys(account, expiring_within_days=11, now=NOW)) == ["k-sym", "k-old"]
    assert ids(inv.list_external_keys(account, expiring_within_days=365, now=NOW)) == ["k-hmac", "k-sym", "k-old"]
    old = inv.list_external_keys(account, key_ids=["k-old"], now=NOW)[0]
    assert old["days_until_expiry"] == -1


def test_expiring_filter_skips_tag_calls_for_rejected_keys(account):
    inv.list_external_keys(account, expiring_within_days=0, now=NOW)
    assert account.calls["ListResourceTags"] == 1  # only k-old


@pytest.mark.parametrize(
    "kwargs, option",
    [
        ({"key_states": ["Enabled", "Sleeping"]}, "key_states"),
        ({"expiring_within_days": -1}, "expiring_within_days"),
        ({"tags": {"team": 3}}, "tags.team"),
        ({"key_ids": [""]}, "key_ids"),
        ({"alias": ""}, "alias"),
    ],
)
def test_bad_filters_fail_before_any_call(account, kwargs, option):
    with pytest.raises(ValidationError) as e:
        inv.list_external_keys(account, now=NOW, **kwargs)
    assert e.value.option == option
    assert option.split(".")[0] in e.value.message
    assert sum(account.calls.values()) == 0


def test_key_vanishing_between_listing_and_describe_is_skipped(account):
    account.aliases.append(("alias/app-ghost", "k-ghost"))
    assert "k-ghost" not in ids(inv.list_external_keys(account, alias="app-*", now=NOW))


def test_other_errors_propagate(account):
    def boom(operation, **params):
        raise KmsError(operation, "AccessDeniedException", "no")

    account.call = boom
    with pytest.raises(KmsError) as e:
        inv.list_external_keys(account, now=NOW)
    assert e.value.code == "AccessDeniedException"


@pytest.mark.parametrize(
    "value, expected",
    [
        (None, None),
        ("2025-06-03T12:00:00Z", 2),
        ("2025-06-03T11:59:59+00:00", 1),
        (NOW.timestamp() + 86400 * 5, 5),
        (datetime.datetime(2025, 6, 1, 11, 0), -1),
    ],
)
def test_days_until(value, expected):
    assert inv.days_until(value, NOW) == expected


def test_aliases_by_key_drops_untargeted():
    assert inv.aliases_by_key([{"AliasName": "alias/b", "TargetKeyId": "k"}, {"AliasName": "alias/a", "TargetKeyId": "k"},
                               {"AliasName": "alias/aws/x"}]) == {"k": ["alias/a", "alias/b"]}


@pytest.mark.parametrize("filters", [{}, {"alias": "cost-*"}, {"tags": {"cost": "yes"}}])
def test_cost_grows_with_matching_keys_never_a_listaliases_per_key(filters):
    def calls_for(n):
        keys = [meta(f"k{i}") for i in range(n)]
        fake = FakeKms(keys, [(f"alias/cost-{i}", f"k{i}") for i in range(n)], {f"k{i}": {"cost": "yes"} for i in range(n)},
                       page_size=100)
        assert len(inv.list_external_keys(fake, now=NOW, **filters)) == n
        return fake.calls

    one, five = calls_for(1), calls_for(5)
    assert one["ListAliases"] == five["ListAliases"] == 1
    per_key = {op: five[op] - one[op] for op in ("DescribeKey", "ListResourceTags", "ListKeyRotations")}
    assert per_key == {"DescribeKey": 4, "ListResourceTags": 4, "ListKeyRotations": 4}
    assert sum(five.values()) - sum(one.values()) == 12
