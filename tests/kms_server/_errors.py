# -*- coding: utf-8 -*-
# Copyright: byok.kms contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""KMS errors the extension raises, as AWS names them (HTTP 400, JSON body with __type and message)."""

from __future__ import annotations

from moto.core.exceptions import JsonRESTError


class KmsError(JsonRESTError):
    """Base: the class name is the AWS error code."""

    code = 400

    def __init__(self, message: str = "") -> None:
        super().__init__(type(self).__name__, message)


class KMSInvalidStateException(KmsError):
    pass


class DisabledException(KmsError):
    pass


class TagException(KmsError):
    pass


class MalformedPolicyDocumentException(KmsError):
    pass


class UnsupportedOperationException(KmsError):
    pass


class ValidationException(KmsError):
    pass


class NotFoundException(KmsError):
    pass


class NotAuthorizedException(KmsError):
    pass


class InvalidImportTokenException(KmsError):
    pass


class ExpiredImportTokenException(KmsError):
    pass


class InvalidCiphertextException(KmsError):
    pass


class IncorrectKeyMaterialException(KmsError):
    pass


class InvalidKeyUsageException(KmsError):
    pass


class KMSInvalidMacException(KmsError):
    pass


class InvalidMarkerException(KmsError):
    pass
