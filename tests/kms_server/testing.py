# -*- coding: utf-8 -*-
# Copyright: byok.kms contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Helpers for tests that talk to the local KMS server with boto3 (wrapping done independently of
the collection's own code, with ``cryptography``)."""

from __future__ import annotations

import json
import os
import urllib.request
from datetime import datetime, timedelta, timezone
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.keywrap import aes_key_wrap_with_padding


def client(url: str, service: str = "kms", region: str = "us-east-1", **credentials: str) -> Any:
    import boto3

    credentials.setdefault("aws_access_key_id", "testing")
    credentials.setdefault("aws_secret_access_key", "testing")
    return boto3.client(service, endpoint_url=url, region_name=region, **credentials)


def control(url: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    """GET (body None) or POST a /byok-api/ control; returns its JSON answer."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url + "/byok-api/" + path, data=data,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (loopback only)
        return json.loads(response.read())


def wrap(public_key_der: bytes, algorithm: str, material: bytes) -> bytes:
    """Wrap key material the way AWS documents it, for each wrapping algorithm."""
    public_key = serialization.load_der_public_key(public_key_der)
    digest: hashes.HashAlgorithm = hashes.SHA256() if algorithm.endswith("SHA_256") else hashes.SHA1()
    oaep = padding.OAEP(mgf=padding.MGF1(algorithm=digest), algorithm=digest, label=None)
    if algorithm.startswith("RSAES_OAEP"):
        return public_key.encrypt(material, oaep)  # type: ignore[union-attr]
    aes_key = os.urandom(32)
    return public_key.encrypt(aes_key, oaep) + aes_key_wrap_with_padding(aes_key, material)  # type: ignore[union-attr]


def error_code(exc: Exception) -> str:
    return exc.response["Error"]["Code"]  # type: ignore[attr-defined]


def import_material(kms: Any, key_id: str, material: bytes, algorithm: str = "RSAES_OAEP_SHA_256",
                    wrapping_key_spec: str = "RSA_2048", valid_days: float | None = None,
                    **extra: Any) -> dict[str, Any]:
    """GetParametersForImport + wrap + ImportKeyMaterial. valid_days None: does not expire."""
    params = kms.get_parameters_for_import(KeyId=key_id, WrappingAlgorithm=algorithm, WrappingKeySpec=wrapping_key_spec)
    request: dict[str, Any] = {
        "KeyId": key_id, "ImportToken": params["ImportToken"],
        "EncryptedKeyMaterial": wrap(params["PublicKey"], algorithm, material),
    }
    if valid_days is None:
        request["ExpirationModel"] = "KEY_MATERIAL_DOES_NOT_EXPIRE"
    else:
        request["ExpirationModel"] = "KEY_MATERIAL_EXPIRES"
        request["ValidTo"] = datetime.now(timezone.utc) + timedelta(days=valid_days)
    request.update(extra)
    return kms.import_key_material(**request)
