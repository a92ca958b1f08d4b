# -*- coding: utf-8 -*-
# Copyright: byok.kms contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one way the collection talks to KMS. Private to byok.kms.

Every call goes through :meth:`KmsClient.call`: throttling and transient errors are retried with
jittered backoff (amazon.aws ``AWSRetry``), and botocore's exceptions become :class:`KmsError`.
Nothing else in the collection imports botocore. The client holds no per-key state, so one instance
can serve every key of a run (the worker-process path planned for later reuses it across loop items).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

try:
    import botocore.config
    import botocore.exceptions

    HAS_BOTOCORE = True
except ImportError:  # AnsibleAWSModule reports the missing library
    HAS_BOTOCORE = False

from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry

from ansible_collections.byok.kms.plugins.module_utils._errors import KmsError

# A request KMS refused before doing anything (HTTP 400 ThrottlingException, and the generic
# throttling codes): another try is safe for every operation.
THROTTLING_ERROR_CODES = ("ThrottlingException", "Throttling", "TooManyRequestsException", "RequestLimitExceeded")
# Failures on KMS's side (HTTP 5xx): the request may have been carried out, so another try is
# safe only for operations that can be repeated.
TRANSIENT_ERROR_CODES = THROTTLING_ERROR_CODES + (
    "KMSInternalException", "DependencyTimeoutException",
    "InternalFailure", "InternalError", "ServiceUnavailable", "Unavailable",
)
# Calls that create something: a retry after a failure that may have come after the work was done
# could create it twice, so only a throttled request is retried.
NOT_IDEMPOTENT = frozenset(["CreateKey"])


class _KmsRetry(AWSRetry):
    """AWSRetry that retries exactly the codes it is given. AWSRetry's own list adds 5xx codes
    (InternalFailure, ServiceUnavailable, ...) to every decorator, which would retry CreateKey
    after a failure that may have created the key."""

    @staticmethod
    def found(response_code: str, catch_extra_error_codes: Any = None) -> bool:
        return response_code in (catch_extra_error_codes or ())


def client_config() -> Any:
    """botocore config for the KMS client: botocore itself never retries, ``KmsClient`` does."""
    return botocore.config.Config(
        retries={"mode": "standard", "total_max_attempts": 1},
        connect_timeout=10,
        read_timeout=60,
    )


def _method_name(operation: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in operation).lstrip("_")


class KmsClient:
    """A boto3 KMS client with retries and error mapping. ``calls`` counts calls per operation."""

    def __init__(self, client: Any, retries: int = 10, delay: float = 1, max_delay: float = 30) -> None:
        self._client = client
        self.calls: Counter[str] = Counter()
        self._backoff = {"retries": retries, "delay": delay, "max_delay": max_delay}

    def _retry(self, operation: str) -> Any:
        # A new decorator per call: AWSRetry's backoff iterator keeps its state in the decorator, so
        # sharing one would let concurrent calls (one client for all loop items) reset each other's delay.
        codes = THROTTLING_ERROR_CODES if operation in NOT_IDEMPOTENT else TRANSIENT_ERROR_CODES
        return _KmsRetry.jittered_backoff(catch_extra_error_codes=codes, **self._backoff)

    def _attempt(self, method: Any, operation: str, params: dict) -> dict:
        self.calls[operation] += 1
        return method(**params)

    def call(self, operation: str, **params: Any) -> dict:
        """Call a KMS operation by its API name (``DescribeKey``); return the response without
        ``ResponseMetadata``; raise :class:`KmsError` on failure."""
        method = getattr(self._client, _method_name(operation))
        try:
            response = self._retry(operation)(self._attempt)(method, operation, params)
        except botocore.exceptions.ClientError as e:
            error = e.response.get("Error", {})
            raise KmsError(operation, error.get("Code", "Unknown"), error.get("Message", "")) from None
        except botocore.exceptions.BotoCoreError as e:
            raise KmsError(operation, type(e).__name__, str(e)) from None
        response.pop("ResponseMetadata", None)
        return response

    def paginate(self, operation: str, result_key: str, **params: Any) -> list:
        """Call a paginated operation until the last page; return the concatenated ``result_key``."""
        items: list = []
        while True:
            page = self.call(operation, **params)
            items.extend(page.get(result_key, []))
            marker = page.get("NextMarker")
            if not page.get("Truncated") or not marker:
                return items
            params = dict(params, Marker=marker)
