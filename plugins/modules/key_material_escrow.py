#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: byok.kms contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: key_material_escrow
short_description: Generate key material for a KMS key spec into a private escrow file, or check an existing one
version_added: 0.1.0
description:
  - Makes sure O(path) holds key material that fits O(key_spec), readable by its owner only (mode C(0600)).
  - When O(path) is absent, generates new material (random bytes of the right length for C(SYMMETRIC_DEFAULT)
    and C(HMAC_*), a new private key of the right size or curve for C(RSA_*) and C(ECC_*)), writes it atomically
    (a private temporary file in the same directory, whatever the umask, linked into place so that an existing
    file is never overwritten; the temporary file never stays behind), reads it back and compares it by digest.
  - When O(path) exists, checks that its material fits O(key_spec) and that its mode is C(0600); a different
    mode is fixed (O(fix_permissions=true)) or an error.
  - Missing directories are created with mode C(0700). An existing directory that others may read or write
    is refused.
  - Material that is not escrowed must never be imported into KMS; run this module before
    M(byok.kms.kms_key_material) with O(byok.kms.kms_key_material#module:key_material_path) set to the same path.
  - File format, as M(byok.kms.kms_key_material) reads it, raw bytes for C(SYMMETRIC_DEFAULT) and C(HMAC_*),
    an unencrypted PKCS#8 PEM private key for C(RSA_*) and C(ECC_*).
  - The material itself never appears in results, diffs or logs.
author:
  - byok.kms maintainers (@byok-kms)
options:
  path:
    description:
      - The escrow file, on the host the module runs on (usually the controller, with C(connection=local)).
    type: path
    required: true
  key_spec:
    description:
      - The KMS key spec the material is for.
    type: str
    required: true
    choices: [SYMMETRIC_DEFAULT, HMAC_224, HMAC_256, HMAC_384, HMAC_512, RSA_2048, RSA_3072, RSA_4096,
              ECC_NIST_P256, ECC_NIST_P384, ECC_NIST_P521, ECC_SECG_P256K1]
  fix_permissions:
    description:
      - When an existing escrow file's mode is not C(0600), set it to C(0600) (V(true)) or fail (V(false)).
    type: bool
    default: true
extends_documentation_fragment:
  - byok.kms._attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details:
      - The diff shows the file's state and mode, never its content.
  idempotent:
    support: full
requirements:
  - cryptography (for RSA and ECC key specs, and the key check value)
seealso:
  - module: byok.kms.kms_key_material
  - module: byok.kms.kms_external_key
"""

EXAMPLES = r"""
- name: Escrow new AES-256 material for a symmetric key
  byok.kms.key_material_escrow:
    path: /srv/byok/escrow/payments.key
    key_spec: SYMMETRIC_DEFAULT
  register: escrow

- name: Import it (only escrowed material is imported)
  byok.kms.kms_key_material:
    key: alias/payments
    key_material_path: "{{ escrow.path }}"
    valid_days: 365

- name: An ECC P-256 signing key, escrowed as a PKCS#8 PEM file
  byok.kms.key_material_escrow:
    path: /srv/byok/escrow/signing.pem
    key_spec: ECC_NIST_P256
"""

RETURN = r"""
path:
  description: Absolute path of the escrow file.
  returned: always
  type: str
  sample: /srv/byok/escrow/payments.key
key_spec:
  description: The key spec the material fits.
  returned: always
  type: str
  sample: SYMMETRIC_DEFAULT
created:
  description: Whether new material was generated (or, in check mode, would be).
  returned: always
  type: bool
mode:
  description: Mode of the escrow file.
  returned: always
  type: str
  sample: "0600"
length:
  description: Length of the material in bytes (symmetric and HMAC).
  returned: when the material exists and O(key_spec) is C(SYMMETRIC_DEFAULT) or C(HMAC_*)
  type: int
  sample: 32
key_check_value:
  description:
    - Key check value of symmetric material (AES-CMAC of a zero block, first 3 bytes, hex), as
      M(byok.kms.kms_key_material) records it on the key. Reveals nothing usable about the key.
  returned: when the material exists and O(key_spec=SYMMETRIC_DEFAULT)
  type: str
  sample: 6B2C1F
mac_algorithm:
  description: The KMS MAC algorithm for HMAC material.
  returned: when the material exists and O(key_spec) is C(HMAC_*)
  type: str
  sample: HMAC_SHA_256
key_size:
  description: RSA key size in bits.
  returned: when the material exists and O(key_spec) is C(RSA_*)
  type: int
curve:
  description: Curve name of ECC material.
  returned: when the material exists and O(key_spec) is C(ECC_*)
  type: str
  sample: secp256r1
public_key_sha256:
  description: SHA-256 (hex) of the DER public key, as KMS GetPublicKey would return it.
  returned: when the material exists and O(key_spec) is C(RSA_*) or C(ECC_*)
  type: str
"""

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.basic import missing_required_lib

from ansible_collections.byok.kms.plugins.module_utils._errors import ByokError
from ansible_collections.byok.kms.plugins.module_utils._escrow import ensure_escrow
from ansible_collections.byok.kms.plugins.module_utils._material import CRYPTOGRAPHY_IMPORT_ERROR
from ansible_collections.byok.kms.plugins.module_utils._material import HAS_CRYPTOGRAPHY
from ansible_collections.byok.kms.plugins.module_utils._material import KEY_SPECS


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            key_spec=dict(type="str", required=True, choices=list(KEY_SPECS)),
            fix_permissions=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    if not HAS_CRYPTOGRAPHY:
        module.fail_json(msg=missing_required_lib("cryptography"), exception=CRYPTOGRAPHY_IMPORT_ERROR)
    try:
        result = ensure_escrow(
            module.params["path"], module.params["key_spec"],
            check_mode=module.check_mode, fix_permissions=module.params["fix_permissions"],
        )
    except ByokError as e:
        module.fail_json(msg=e.message, **e.details)
    except OSError as e:
        module.fail_json(msg=f"escrow file {module.params['path']}: {e.strerror or e}", path=module.params["path"])
    diff = result.pop("diff")
    if module._diff:
        result["diff"] = diff
    module.exit_json(**result)


if __name__ == "__main__":
    main()
