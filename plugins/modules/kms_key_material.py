#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: byok.kms contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: kms_key_material
short_description: Import, renew, rotate and revoke the key material of an EXTERNAL AWS KMS key
version_added: 0.1.0
description:
  - Imports your own key material into an AWS KMS key whose origin is C(EXTERNAL) (see M(byok.kms.kms_external_key)),
    re-imports the same material when its expiry must change or comes close, rotates the material of symmetric keys
    and deletes (revokes) it.
  - The module resolves O(key) with one C(DescribeKey) call and validates everything (material length, private key type,
    size and curve, wrapping algorithm, expiry) before the first write.
  - It knows without writing whether the given material is the key's. Asymmetric keys, C(GetPublicKey) is compared with
    the public key of the given private key. HMAC keys, C(GenerateMac) over a fixed message is compared with the local HMAC.
    Symmetric keys, a key check value (AES-CMAC of a zero block, first 3 bytes; it reveals nothing usable about the key)
    is recorded in the tag C(byok:key-check-value) at import and compared on later runs; where the tag is missing, a
    re-import of the same material settles it once.
  - KMS only ever accepts the material first imported into a key. Other material fails before any write; rotate
    (O(state=rotated)) to change the material of a symmetric key.
  - A run that changes nothing makes at most three KMS calls.
  - The key material never appears in results, diffs, warnings or error messages.
options:
  key:
    description:
      - The key, as an alias (C(alias/NAME)), alias ARN, key id or key ARN.
    type: str
    required: true
  state:
    description:
      - V(present) imports the material unless it is on the key with the requested expiry and not about to expire.
      - V(absent) deletes the imported material (C(DeleteImportedKeyMaterial)); the key goes to C(PendingImport).
        A key without material is left as it is. O(key_material) and O(key_material_path) are not used.
      - V(rotated) (C(SYMMETRIC_DEFAULT) keys only) makes the given material the key's current material. When the key's
        current material is another one, it imports the given material as C(NEW_KEY_MATERIAL) and calls
        C(RotateKeyOnDemand); data encrypted under earlier material still decrypts. A key without any material gets it
        imported as with V(present). A C(Disabled) key is not rotated, as KMS refuses C(RotateKeyOnDemand) on it; the
        module fails before any write, enable the key first.
      - Material can be imported into, re-imported into and deleted from a C(Disabled) key; it stays C(Disabled).
    type: str
    choices: [present, absent, rotated]
    default: present
  key_material:
    description:
      - The key material, base64 encoded.
      - Symmetric and HMAC keys, the raw bytes (32 bytes for C(SYMMETRIC_DEFAULT); 28, 32, 48 or 64 for C(HMAC_224) to
        C(HMAC_512)). RSA and ECC keys, the private key (DER or PEM, PKCS#1, SEC1 or PKCS#8, unencrypted).
      - Mutually exclusive with O(key_material_path). One of them is required unless O(state=absent).
    type: str
  key_material_path:
    description:
      - A file on the host the module runs on that holds the key material, in the same formats as O(key_material) but
        not base64 encoded (raw bytes for symmetric and HMAC keys; a PEM or DER private key for RSA and ECC keys).
      - The module warns when the file can be read by its group or by others.
    type: path
  wrapping_algorithm:
    description:
      - How the material is wrapped for the transfer to KMS.
      - Symmetric and HMAC material takes C(RSAES_OAEP_SHA_*) (default C(RSAES_OAEP_SHA_256)); RSA private keys take
        C(RSA_AES_KEY_WRAP_SHA_*) (default C(RSA_AES_KEY_WRAP_SHA_256)); ECC private keys take either (default
        C(RSA_AES_KEY_WRAP_SHA_256)).
    type: str
    choices: [RSAES_OAEP_SHA_256, RSAES_OAEP_SHA_1, RSA_AES_KEY_WRAP_SHA_256, RSA_AES_KEY_WRAP_SHA_1]
  wrapping_key_spec:
    description:
      - Size of the RSA public key KMS wraps with. C(RSA_4096) is the one AWS prefers.
    type: str
    choices: [RSA_2048, RSA_3072, RSA_4096]
    default: RSA_4096
  valid_to:
    description:
      - The material expires at this date and time (ISO 8601, e.g. C(2030-01-31T00:00:00Z); without a time zone it is
        UTC). In the future and at most 365 days ahead.
      - Mutually exclusive with O(valid_days). Without either, the material does not expire.
    type: str
  valid_days:
    description:
      - The material expires this many days after its import (1-365). It is re-imported, with a new expiry, when less
        than O(renew_within_days) remain, or when it expires more than O(valid_days) days from now (it was imported
        with a longer validity).
    type: int
  renew_within_days:
    description:
      - With O(valid_days), re-import the material when less than this many days remain before it expires.
      - Defaults to 30 days, but at most a third of O(valid_days), so a run right after an import never re-imports.
        An explicit value must be smaller than O(valid_days).
    type: int
  key_material_description:
    description:
      - A description of the material (C(SYMMETRIC_DEFAULT) keys only), sent with the import.
    type: str
extends_documentation_fragment:
  - byok.kms._attributes
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
attributes:
  check_mode:
    support: full
    details:
      - Predicts the result without C(GetParametersForImport); after a rotation the new key material id is not known.
  diff_mode:
    support: full
    details:
      - C(before) and C(after) hold key state, expiration model, expiry, key material id and key check value; never the material.
  idempotent:
    support: full
notes:
  - With O(key_material) the material passes through the module's arguments, which Ansible writes into the module
    file it copies to the managed host (removed after the run) unless pipelining is on; prefer O(key_material_path)
    on the managed host, or enable pipelining.
seealso:
  - module: byok.kms.kms_external_key
  - module: amazon.aws.kms_key
author:
  - byok.kms maintainers (@byok-kms)
"""

EXAMPLES = r"""
- name: Import 32 bytes of AES key material that never expires
  byok.kms.kms_key_material:
    key: alias/payments
    key_material: "{{ lookup('ansible.builtin.file', 'payments.key.b64') }}"

- name: Import an ECC private key from a file on the managed host, valid for 90 days and renewed when 30 remain
  byok.kms.kms_key_material:
    key: alias/signing
    key_material_path: /etc/pki/kms/signing.pem
    valid_days: 90

- name: Rotate a symmetric key to new material (older ciphertext still decrypts)
  byok.kms.kms_key_material:
    key: alias/payments
    state: rotated
    key_material_path: /etc/pki/kms/payments-2026.key

- name: Revoke the material (the key goes to PendingImport until the material is imported again)
  byok.kms.kms_key_material:
    key: alias/payments
    state: absent
"""

RETURN = r"""
action:
  description: What the run did (or would do in check mode).
  returned: always
  type: str
  sample: import
  choices: [none, import, reimport, settle, rotate, delete]
key_id:
  description: The key id.
  returned: always
  type: str
  sample: 1234abcd-12ab-34cd-56ef-1234567890ab
key_arn:
  description: The key ARN.
  returned: always
  type: str
  sample: arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab
key_state:
  description: The key state afterwards (C(Enabled), C(Disabled), C(PendingImport)).
  returned: always
  type: str
  sample: Enabled
key_material_id:
  description: The id KMS gives the key's current material (symmetric keys); null in check mode after a rotation.
  returned: always
  type: str
  sample: 6a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9
expiration_model:
  description: C(KEY_MATERIAL_EXPIRES) or C(KEY_MATERIAL_DOES_NOT_EXPIRE); null without material.
  returned: always
  type: str
  sample: KEY_MATERIAL_EXPIRES
valid_to:
  description: When the material expires (ISO 8601), null when it does not.
  returned: always
  type: str
  sample: "2030-01-31T00:00:00+00:00"
key_check_value:
  description: Symmetric keys, the key check value of the material (6 hex characters, AES-CMAC of a zero block); null otherwise.
  returned: always
  type: str
  sample: 8A3F21
key_metadata:
  description: KMS's KeyMetadata as DescribeKey returns it (CamelCase keys, datetimes as ISO 8601 strings).
  returned: always
  type: dict
  sample: {"KeyId": "1234abcd-12ab-34cd-56ef-1234567890ab", "Origin": "EXTERNAL", "KeyState": "Enabled"}
"""

import traceback

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.byok.kms.plugins.module_utils._errors import ByokError
from ansible_collections.byok.kms.plugins.module_utils._key_material import DEFAULT_WRAPPING_KEY_SPEC
from ansible_collections.byok.kms.plugins.module_utils._key_material import STATES
from ansible_collections.byok.kms.plugins.module_utils._key_material import WRAPPING_KEY_SPECS
from ansible_collections.byok.kms.plugins.module_utils._key_material import ensure_key_material
from ansible_collections.byok.kms.plugins.module_utils._key_material import read_key_material
from ansible_collections.byok.kms.plugins.module_utils._key_material import scrubbed
from ansible_collections.byok.kms.plugins.module_utils._kms import KmsClient
from ansible_collections.byok.kms.plugins.module_utils._kms import client_config
from ansible_collections.byok.kms.plugins.module_utils._material import CRYPTOGRAPHY_IMPORT_ERROR
from ansible_collections.byok.kms.plugins.module_utils._material import HAS_CRYPTOGRAPHY
from ansible_collections.byok.kms.plugins.module_utils._wrap import WRAPPING_ALGORITHMS


def main() -> None:
    argument_spec = dict(
        key=dict(type="str", required=True, no_log=False),
        state=dict(type="str", default="present", choices=list(STATES)),
        key_material=dict(type="str", no_log=True),
        key_material_path=dict(type="path"),
        wrapping_algorithm=dict(type="str", choices=list(WRAPPING_ALGORITHMS)),
        wrapping_key_spec=dict(type="str", default=DEFAULT_WRAPPING_KEY_SPEC, choices=list(WRAPPING_KEY_SPECS)),
        valid_to=dict(type="str"),
        valid_days=dict(type="int"),
        renew_within_days=dict(type="int"),
        key_material_description=dict(type="str", no_log=False),
    )
    module = AnsibleAWSModule(
        argument_spec=argument_spec,
        supports_check_mode=True,
        mutually_exclusive=[["key_material", "key_material_path"], ["valid_to", "valid_days"]],
        required_if=[
            ["state", "present", ["key_material", "key_material_path"], True],
            ["state", "rotated", ["key_material", "key_material_path"], True],
        ],
        required_by={"renew_within_days": "valid_days"},
    )
    if not HAS_CRYPTOGRAPHY:
        module.fail_json(msg=missing_required_lib("cryptography"), exception=CRYPTOGRAPHY_IMPORT_ERROR)

    material = None
    try:
        material, warnings = read_key_material(module.params)
        for warning in warnings:
            module.warn(warning)
        client = KmsClient(module.client("kms", config=client_config()))
        result = ensure_key_material(client, module.params, module.check_mode, material)
    except ByokError as e:
        module.fail_json(msg=e.message, **e.details)
    except Exception as e:  # pylint: disable=broad-exception-caught
        # Whatever failed, its text may hold the material: report it scrubbed, and a traceback of the frames
        # only (no exception text), so that the traceback Ansible adds with -vvv / DISPLAY_TRACEBACK cannot leak it.
        error = scrubbed(ByokError(f"{type(e).__name__}: {e}"), [material] if material else [])
        module.fail_json(msg=error.message, exception="".join(traceback.format_tb(e.__traceback__)))

    for warning in result.pop("warnings"):
        module.warn(warning)
    diff = result.pop("diff")
    if module._diff:  # pylint: disable=protected-access
        result["diff"] = diff
    module.exit_json(**result)


if __name__ == "__main__":
    main()
