# -*- coding: utf-8 -*-
# Copyright: byok.kms contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Exceptions shared by the collection's logic. Private to byok.kms.

The logic in module_utils never calls ``fail_json``: it raises one of these, and the caller (a
module's ``main()`` today, an action plugin later) turns it into a failed result. None of them may
carry key material, in clear or wrapped.
"""

from __future__ import annotations

from typing import Any


class ByokError(Exception):
    """A failure to report to the user. ``details`` are added to the failed result."""

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class ValidationError(ByokError):
    """Bad input, found before any call to KMS. Names the option, the value and what is allowed."""

    def __init__(self, option: str, value: Any, allowed: str, message: str | None = None) -> None:
        if message is None:
            message = f"{option}: {value!r} is not valid; {allowed}"
        super().__init__(message, option=option)
        self.option = option
        self.value = value
        self.allowed = allowed


class KmsError(ByokError):
    """A call to KMS failed. ``code`` is the AWS error code (``NotFoundException``, ...)."""

    def __init__(self, operation: str, code: str, aws_message: str, message: str | None = None) -> None:
        if message is None:
            message = f"KMS {operation} failed: {code}: {aws_message}"
        super().__init__(message, error={"code": code, "message": aws_message, "operation": operation})
        self.operation = operation
        self.code = code
        self.aws_message = aws_message
