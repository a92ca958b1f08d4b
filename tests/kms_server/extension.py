# -*- coding: utf-8 -*-
# Copyright: byok.kms contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""byok extension of moto's KMS: makes moto's server behave like AWS for EXTERNAL keys.

Imported by ``launch.py`` before the server starts; ``install()`` is idempotent.

What it changes (see issue 2 and 3, and /work/shared/docs/kms-import-facts.md):
- EXTERNAL keys start PendingImport and disabled; AWS's key states are enforced (EnableKey on a
  PendingImport key, crypto on PendingImport/PendingDeletion keys -> KMSInvalidStateException; on
  Disabled keys -> DisabledException). Key ARNs are accepted wherever AWS accepts them.
- Validation: ScheduleKeyDeletion windows 7-30, ``aws:`` tags (TagException), policy JSON
  (MalformedPolicyDocumentException), key usage vs key spec, alias names.
- Import: GetParametersForImport, ImportKeyMaterial (real unwrap), DeleteImportedKeyMaterial, lazy expiry,
  NEW_KEY_MATERIAL + RotateKeyOnDemand + ListKeyRotations(IncludeKeyMaterial); the imported material
  is really used by Encrypt/Decrypt/GenerateDataKey/ReEncrypt, Sign/Verify/GetPublicKey, GenerateMac/VerifyMac.
- Test-only controls under ``/byok-api/`` (call counting, clock, token lifetime, request delays): see
  ``_control.py``.

Modules: ``_errors`` (AWS error codes), ``_control`` (controls, WSGI hook), ``_crypto`` (wrapping,
material checks, ciphertext format), ``_model`` (keys, backend), ``_import`` (import operations),
``_responses`` (request parsing and validation). Later features (fault injection, lost responses)
hook into ``_control.wrap_dispatcher``.
"""

from __future__ import annotations

_INSTALLED = False


def install() -> None:
    """Swap moto's KMS backend and request handler for ours and hook the controls into the server."""
    global _INSTALLED  # pylint: disable=global-statement
    if _INSTALLED:
        return
    from moto import kms as moto_kms
    from moto.core.base_backend import BackendDict
    from moto.kms import models as moto_models
    from moto.kms import responses as moto_responses
    from moto.kms import urls as moto_urls
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    from ._control import wrap_dispatcher
    from ._model import ByokKmsBackend, LazyPrivateKey
    from ._responses import ByokKmsResponse

    # moto derives the URL module from the backend class's module: keep it pointing at moto.kms.
    ByokKmsBackend.__module__ = "moto.kms.models"
    backends = BackendDict(ByokKmsBackend, "kms")
    moto_models.kms_backends = backends
    moto_responses.kms_backends = backends
    moto_kms.kms_backends = backends
    moto_models.generate_private_key = LazyPrivateKey
    moto_urls.url_paths = {path: ByokKmsResponse.dispatch for path in moto_urls.url_paths}
    wrap_dispatcher(DomainDispatcherApplication)
    _INSTALLED = True


install()
