# -*- coding: utf-8 -*-
# Copyright: byok.kms contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Local KMS server: the test-only delay control (``/byok-api/delay``) that makes concurrent requests overlap.

One server per module; every test clears the delays it sets.
"""

from __future__ import annotations

import threading
import time
import urllib.error
import uuid

import pytest
from botocore.exceptions import ClientError

from kms_server.testing import client, control, error_code


@pytest.fixture
def clients(url):
    """Four boto3 clients (one per thread), without botocore retries."""
    from botocore.config import Config

    config = Config(retries={"total_max_attempts": 1}, read_timeout=60)
    made = [client(url, config=config) for _thread in range(4)]
    yield made
    control(url, "delay", {"clear": True})


class Call(threading.Thread):
    """Runs one call in a thread and keeps its result or ClientError, and when it returned."""

    def __init__(self, call, **kwargs):
        super().__init__(daemon=True)
        self._call, self._kwargs = call, kwargs
        self.result = self.error = self.done_at = None

    def run(self):
        try:
            self.result = self._call(**self._kwargs)
        except ClientError as exc:
            self.error = exc
        self.done_at = time.monotonic()


def new_key(kms):
    return kms.create_key(Origin="EXTERNAL")["KeyMetadata"]["KeyId"]


def alias_name():
    return f"alias/delay-{uuid.uuid4().hex[:8]}"


def test_delay_holds_the_operation_but_not_the_server(url, clients):
    kms, other = clients[0], clients[1]
    key_id = new_key(kms)
    alias = alias_name()
    answer = control(url, "delay", {"operation": "CreateAlias", "seconds": 2})
    assert answer["delays"] == {"CreateAlias": {"seconds": 2.0, "gather": 0}}
    held_before = answer["held"].get("CreateAlias", 0)

    started = time.monotonic()
    call = Call(kms.create_alias, AliasName=alias, TargetKeyId=key_id)
    call.start()
    time.sleep(0.3)
    # The held CreateAlias does not block the server: other operations (even on the same key) go on.
    assert other.describe_key(KeyId=key_id)["KeyMetadata"]["KeyId"] == key_id
    assert other.list_aliases(KeyId=key_id)["Aliases"] == []
    assert time.monotonic() - started < 1.8
    assert call.is_alive()
    call.join(10)
    assert call.error is None and call.done_at - started >= 2
    assert other.describe_key(KeyId=alias)["KeyMetadata"]["KeyId"] == key_id
    assert control(url, "delay")["held"]["CreateAlias"] == held_before + 1

    # Cleared: no delay any more.
    assert control(url, "delay", {"operation": "CreateAlias", "seconds": 0})["delays"] == {}
    started = time.monotonic()
    kms.create_alias(AliasName=alias_name(), TargetKeyId=key_id)
    assert time.monotonic() - started < 1.0


def test_gather_makes_concurrent_create_alias_race(url, clients):
    """Three CreateAlias for one alias are held until all three arrived: exactly one wins."""
    keys = [new_key(kms) for kms in clients[:3]]
    alias = alias_name()
    control(url, "delay", {"operation": "CreateAlias", "seconds": 20, "gather": 3})
    before = control(url, "delay")
    calls = [Call(kms.create_alias, AliasName=alias, TargetKeyId=key) for kms, key in zip(clients, keys)]
    calls[0].start()
    calls[1].start()
    time.sleep(0.5)
    assert calls[0].is_alive() and calls[1].is_alive(), "released before the group was complete"
    last_sent = time.monotonic()
    calls[2].start()
    for call in calls:
        call.join(15)
        assert not call.is_alive()
    assert all(call.done_at >= last_sent for call in calls)
    assert all(call.done_at - last_sent < 10 for call in calls), "released by the timeout, not by the group"
    winners = [key for call, key in zip(calls, keys) if call.error is None]
    assert len(winners) == 1
    assert sorted(error_code(call.error) for call in calls if call.error) == ["AlreadyExistsException"] * 2
    assert clients[3].describe_key(KeyId=alias)["KeyMetadata"]["KeyId"] == winners[0]
    after = control(url, "delay")
    assert after["gathered"].get("CreateAlias", 0) - before["gathered"].get("CreateAlias", 0) == 3
    assert after["timed_out"].get("CreateAlias", 0) == before["timed_out"].get("CreateAlias", 0)


def test_gather_times_out(url, clients):
    kms = clients[0]
    key_id = new_key(kms)
    before = control(url, "delay")["timed_out"].get("CreateAlias", 0)
    control(url, "delay", {"operation": "CreateAlias", "seconds": 0.5, "gather": 5})
    started = time.monotonic()
    kms.create_alias(AliasName=alias_name(), TargetKeyId=key_id)
    assert 0.5 <= time.monotonic() - started < 5
    assert control(url, "delay")["timed_out"]["CreateAlias"] == before + 1


def test_clearing_releases_held_requests(url, clients):
    kms = clients[0]
    control(url, "delay", {"operation": "ListKeys", "seconds": 60})
    call = Call(kms.list_keys)
    started = time.monotonic()
    call.start()
    time.sleep(0.3)
    assert call.is_alive()
    control(url, "reset-controls", {})
    assert control(url, "delay")["delays"] == {}
    call.join(5)
    assert not call.is_alive() and call.error is None
    assert call.done_at - started < 5


def test_other_operations_are_not_delayed(url, clients):
    kms = clients[0]
    control(url, "delay", {"operation": "CreateAlias", "seconds": 30})
    started = time.monotonic()
    new_key(kms)
    kms.list_keys()
    assert time.monotonic() - started < 5


@pytest.mark.parametrize("body", [
    {"seconds": 1},
    {"operation": "", "seconds": 1},
    {"operation": "Create Alias", "seconds": 1},
    {"operation": "CreateAlias", "seconds": -1},
    {"operation": "CreateAlias", "seconds": 301},
    {"operation": "CreateAlias", "seconds": "soon"},
    {"operation": "CreateAlias", "seconds": 1, "gather": -1},
    {"operation": "CreateAlias", "seconds": 1, "gather": 1.5},
    {"operation": "CreateAlias", "seconds": 1, "gather": True},
])
def test_bad_delay_is_refused(url, body):
    with pytest.raises(urllib.error.HTTPError) as info:
        control(url, "delay", body)
    assert info.value.code == 400
    assert control(url, "delay")["delays"] == {}
