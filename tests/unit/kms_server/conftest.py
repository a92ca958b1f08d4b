"""Fixtures of the local server's own tests: one server per test module (tests keep their keys apart)."""

from __future__ import annotations

import pytest

from kms_server.launch import kms_server
from kms_server.testing import client


@pytest.fixture(scope="module")
def url():
    """URL of a local KMS server shared by the tests of one module."""
    with kms_server() as server_url:
        yield server_url


@pytest.fixture(scope="module")
def kms(url):
    """A boto3 KMS client of that server."""
    return client(url)
