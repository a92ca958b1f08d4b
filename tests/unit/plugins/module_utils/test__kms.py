"""Tests of plugins/module_utils/_kms.py: retries with backoff, CreateKey never repeated after a
failure that may have created the key, error mapping. A stub stands in for the boto3 client."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError
from botocore.exceptions import EndpointConnectionError

from ansible_collections.amazon.aws.plugins.module_utils import cloud
from ansible_collections.byok.kms.plugins.module_utils import _kms
from ansible_collections.byok.kms.plugins.module_utils._errors import KmsError


def client_error(code, operation):
    return ClientError({"Error": {"Code": code, "Message": f"{code} from the stub"}}, operation)


class StubKms:
    """A boto3 KMS client whose operations fail with ``failures`` (error codes, in order) and then
    succeed. ``create_key`` behaves like KMS: a throttled request creates nothing, any other failure
    comes after the key was created (the response was lost)."""

    def __init__(self, *failures):
        self.failures = list(failures)
        self.attempts = []
        self.keys = []

    def _next(self, operation):
        self.attempts.append(operation)
        if self.failures:
            raise client_error(self.failures.pop(0), operation)

    def describe_key(self, KeyId):
        self._next("DescribeKey")
        return {"KeyMetadata": {"KeyId": KeyId}, "ResponseMetadata": {"HTTPStatusCode": 200}}

    def create_key(self, **params):
        if not self.failures or self.failures[0] != "ThrottlingException":
            self.keys.append(f"key-{len(self.keys) + 1}")
        self._next("CreateKey")
        return {"KeyMetadata": {"KeyId": self.keys[-1], **params}}


@pytest.fixture
def sleeps(monkeypatch):
    """The waits between attempts, with the jitter at its upper bound so the backoff is visible."""
    waited = []
    monkeypatch.setattr(cloud.time, "sleep", waited.append)
    monkeypatch.setattr(cloud.random, "uniform", lambda low, high: high)
    return waited


def test_throttling_retried_with_backoff_then_succeeds(sleeps):
    stub = StubKms("ThrottlingException", "ThrottlingException", "ThrottlingException")
    client = _kms.KmsClient(stub, retries=5, delay=0.01, max_delay=0.03)
    assert client.call("DescribeKey", KeyId="alias/app") == {"KeyMetadata": {"KeyId": "alias/app"}}
    assert stub.attempts == ["DescribeKey"] * 4
    assert client.calls["DescribeKey"] == 4
    assert sleeps == pytest.approx([0.01, 0.02, 0.03])  # doubling, capped at max_delay


def test_throttled_create_key_is_retried_and_makes_one_key(sleeps):
    stub = StubKms("ThrottlingException", "ThrottlingException")
    client = _kms.KmsClient(stub, retries=5, delay=0.01)
    assert client.call("CreateKey", Origin="EXTERNAL")["KeyMetadata"]["KeyId"] == "key-1"
    assert stub.attempts == ["CreateKey"] * 3 and stub.keys == ["key-1"] and len(sleeps) == 2


@pytest.mark.parametrize(
    "code", ["KMSInternalException", "DependencyTimeoutException", "InternalFailure", "ServiceUnavailable", "InternalError"]
)
def test_create_key_is_not_retried_after_a_server_failure(sleeps, code):
    stub = StubKms(code)  # the key was created, the response is an error
    client = _kms.KmsClient(stub, retries=5, delay=0.01)
    with pytest.raises(KmsError) as e:
        client.call("CreateKey", Origin="EXTERNAL")
    assert (e.value.operation, e.value.code) == ("CreateKey", code)
    assert stub.attempts == ["CreateKey"] and stub.keys == ["key-1"] and sleeps == []


@pytest.mark.parametrize("code", ["KMSInternalException", "DependencyTimeoutException", "InternalFailure", "ServiceUnavailable"])
def test_server_failures_retried_for_other_operations(sleeps, code):
    stub = StubKms(code, code)
    client = _kms.KmsClient(stub, retries=5, delay=0.01)
    client.call("DescribeKey", KeyId="k")
    assert stub.attempts == ["DescribeKey"] * 3 and len(sleeps) == 2


def test_other_errors_are_not_retried(sleeps):
    stub = StubKms("NotFoundException")
    client = _kms.KmsClient(stub, retries=5, delay=0.01)
    with pytest.raises(KmsError) as e:
        client.call("DescribeKey", KeyId="alias/none")
    assert e.value.code == "NotFoundException" and "NotFoundException from the stub" in e.value.message
    assert e.value.details["error"] == {"code": "NotFoundException", "message": "NotFoundException from the stub",
                                        "operation": "DescribeKey"}
    assert stub.attempts == ["DescribeKey"] and sleeps == []


def test_retries_give_up_after_the_last_attempt(sleeps):
    stub = StubKms(*["ThrottlingException"] * 10)
    client = _kms.KmsClient(stub, retries=3, delay=0.01)
    with pytest.raises(KmsError) as e:
        client.call("DescribeKey", KeyId="k")
    assert e.value.code == "ThrottlingException" and stub.attempts == ["DescribeKey"] * 3 and len(sleeps) == 2


def test_each_call_starts_its_backoff_afresh(sleeps):
    stub = StubKms("ThrottlingException", "ThrottlingException")
    client = _kms.KmsClient(stub, retries=5, delay=0.01, max_delay=1)
    client.call("DescribeKey", KeyId="k")
    stub.failures = ["ThrottlingException"]
    client.call("DescribeKey", KeyId="k")
    assert sleeps == pytest.approx([0.01, 0.02, 0.01])


def test_botocore_errors_become_kms_errors(sleeps):
    class Unreachable:
        def describe_key(self, **params):
            raise EndpointConnectionError(endpoint_url="http://127.0.0.1:9")

    with pytest.raises(KmsError) as e:
        _kms.KmsClient(Unreachable(), retries=3, delay=0.01).call("DescribeKey", KeyId="k")
    assert e.value.code == "EndpointConnectionError" and "127.0.0.1:9" in e.value.message


def test_paginate_follows_markers():
    class Pages:
        def list_resource_tags(self, KeyId, Marker=None):
            if Marker is None:
                return {"Tags": [{"TagKey": "a"}], "Truncated": True, "NextMarker": "m1"}
            return {"Tags": [{"TagKey": "b"}], "Truncated": False}

    client = _kms.KmsClient(Pages(), retries=1, delay=0)
    assert client.paginate("ListResourceTags", "Tags", KeyId="k") == [{"TagKey": "a"}, {"TagKey": "b"}]
    assert client.calls["ListResourceTags"] == 2


def test_client_config_leaves_retries_to_kms_client():
    assert _kms.client_config().retries == {"mode": "standard", "total_max_attempts": 1}
