"""Fixtures shared by every test suite: the local KMS server and clients of it."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
sys.path.insert(0, str(TESTS))

from kms_server.launch import kms_server  # noqa: E402
from kms_server.testing import client  # noqa: E402
from kms_server.with_server import endpoint_env  # noqa: E402


@pytest.fixture
def kms_endpoint():
    """URL of a fresh local KMS server (new process, empty state) on 127.0.0.1."""
    with kms_server() as url:
        yield url


@pytest.fixture
def kms_env(kms_endpoint):
    """Environment for a child process (ansible-playbook) that talks to the local server only."""
    return endpoint_env(kms_endpoint)


@pytest.fixture
def kms_client(kms_endpoint):
    """A boto3 KMS client of the local server."""
    return client(kms_endpoint)
