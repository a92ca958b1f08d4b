#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: byok.kms contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: kms_key_verify
short_description: Prove a KMS key works with a cryptographic round trip that fits its usage
version_added: 0.1.0
description:
  - Runs a round trip with the key and fails when KMS does not complete it.
  - C(ENCRYPT_DECRYPT) keys, C(Encrypt) a random probe and C(Decrypt) it (symmetric keys with an encryption context).
  - C(GENERATE_VERIFY_MAC) keys, C(GenerateMac) and C(VerifyMac), which must also reject the MAC for a different message.
  - C(SIGN_VERIFY) keys, C(Sign) and C(Verify), which must also reject the signature for a different message.
  - The probe, ciphertext, MAC and signature are never returned. The key is not changed; the module runs in check mode too.
author:
  - byok.kms maintainers (@byok-kms)
options:
  key:
    description:
      - The key, as alias (C(alias/...)), key id or key ARN. The key must be C(Enabled).
    type: str
    required: true
  public_key_sha256:
    description:
      - For RSA and ECC keys, the expected SHA-256 (hex) of the key's DER public key, for example
        RV(byok.kms.key_material_escrow#module:public_key_sha256) of the escrowed material. A different
        public key fails the verification.
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
      - The round trip only uses the key, it never changes it, so it runs in check mode as well.
  diff_mode:
    support: none
  idempotent:
    support: full
seealso:
  - module: byok.kms.kms_key_material
  - module: byok.kms.key_material_escrow
"""

EXAMPLES = r"""
- name: Prove the imported key encrypts and decrypts
  byok.kms.kms_key_verify:
    key: alias/payments

- name: Prove a signing key signs, and holds the escrowed private key
  byok.kms.kms_key_verify:
    key: alias/signing
    public_key_sha256: "{{ escrow.public_key_sha256 }}"
"""

RETURN = r"""
ok:
  description: True when the round trip succeeded (the module fails otherwise).
  returned: always
  type: bool
  sample: true
key_id:
  description: Key id.
  returned: success
  type: str
key_arn:
  description: Key ARN.
  returned: success
  type: str
key_spec:
  description: KeySpec of the key.
  returned: success
  type: str
  sample: HMAC_256
key_usage:
  description: KeyUsage of the key.
  returned: success
  type: str
  sample: GENERATE_VERIFY_MAC
operations:
  description: The KMS operations of the round trip, in order.
  returned: success
  type: list
  elements: str
  sample: [GenerateMac, VerifyMac]
algorithm:
  description: The encryption, MAC or signing algorithm used.
  returned: success
  type: str
  sample: HMAC_SHA_256
public_key_sha256:
  description: SHA-256 of the key's public key, when O(public_key_sha256) was given and matched.
  returned: when O(public_key_sha256) is set
  type: str
"""

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.byok.kms.plugins.module_utils._errors import ByokError
from ansible_collections.byok.kms.plugins.module_utils._kms import KmsClient
from ansible_collections.byok.kms.plugins.module_utils._kms import client_config
from ansible_collections.byok.kms.plugins.module_utils._verify import verify_key


def main() -> None:
    module = AnsibleAWSModule(
        argument_spec=dict(key=dict(type="str", required=True, no_log=False), public_key_sha256=dict(type="str")),
        supports_check_mode=True,
    )
    try:
        client = KmsClient(module.client("kms", config=client_config()))
        result = verify_key(client, module.params["key"], module.params["public_key_sha256"])
    except ByokError as e:
        details = dict(e.details)
        details.setdefault("ok", False)
        module.fail_json(msg=e.message, **details)
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
