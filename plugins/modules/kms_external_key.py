#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: byok.kms contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: kms_external_key
short_description: An AWS KMS key for imported key material (Origin EXTERNAL) under an alias
version_added: 0.1.0
description:
  - Creates, updates or schedules deletion of a customer managed AWS KMS key whose key material you bring
    yourself (Origin V(EXTERNAL)), identified by its alias.
  - A new key has no key material. It stays in state V(PendingImport) and disabled until material is imported
    with M(byok.kms.kms_key_material).
  - The key is found with one C(DescribeKey) call on the alias. A run that changes nothing makes three KMS calls
    (C(DescribeKey), C(GetKeyPolicy), C(ListResourceTags)), whatever the number of keys and aliases in the account.
  - A key under the alias that is not EXTERNAL or not customer managed is never changed; the module fails.
  - If two runs create the same alias at the same time, the one that loses C(CreateAlias) schedules deletion of the
    key it just created (7 days), warns, and returns the key under the alias.
author:
  - byok.kms maintainers (@byok-kms)
options:
  alias:
    description:
      - The alias of the key, with or without the C(alias/) prefix. It is the key's identity.
      - Letters, digits and C(/_-), at most 256 characters with the prefix; C(alias/aws/) is reserved for AWS.
    type: str
    required: true
  state:
    description:
      - V(present) creates the key or brings it in line with the options.
      - V(absent) schedules deletion of the key after O(deletion_window_days) days (unless already scheduled) and
        deletes the alias. Nothing happens when the alias does not exist.
      - With V(present), an alias that points at a key already scheduled for deletion is an error; the module neither
        cancels the deletion nor replaces the key. Cancel the deletion yourself to keep the key, or run V(absent)
        then V(present) for a new key.
    type: str
    choices: [present, absent]
    default: present
  description:
    description:
      - The description of the key, at most 8192 characters. Left as it is when not set.
    type: str
  key_spec:
    description:
      - The type of key. Only specs that accept imported material are offered.
      - V(SYMMETRIC_DEFAULT) when a key is created and this is not set. Cannot change on an existing key; a different
        value is an error. When not set, an existing key of any spec is accepted.
    type: str
    choices: [SYMMETRIC_DEFAULT, HMAC_224, HMAC_256, HMAC_384, HMAC_512, RSA_2048, RSA_3072, RSA_4096,
              ECC_NIST_P256, ECC_NIST_P384, ECC_NIST_P521, ECC_SECG_P256K1]
  key_usage:
    description:
      - What the key is for. When a key is created and this is not set, the usage that fits O(key_spec)
        (V(ENCRYPT_DECRYPT) for symmetric and RSA keys, V(GENERATE_VERIFY_MAC) for HMAC keys, V(SIGN_VERIFY) for
        ECC keys).
      - V(KEY_AGREEMENT) is for C(ECC_NIST_*) keys only. Cannot change on an existing key.
    type: str
    choices: [ENCRYPT_DECRYPT, SIGN_VERIFY, GENERATE_VERIFY_MAC, KEY_AGREEMENT]
  multi_region:
    description:
      - Whether the key is a multi-region primary key. V(false) when a key is created and this is not set.
        Cannot change on an existing key.
    type: bool
  key_admins:
    description:
      - IAM principal ARNs (C(arn:aws:iam::111122223333:root), C(...:user/NAME) or C(...:role/NAME)) that
        administer the key, as the console's key administrators. They may also import key material.
      - When any of O(key_admins), O(key_users) and O(external_account_ids) is set, the key policy is the console's
        default policy built from the three lists (unset lists count as empty). When none of them nor O(policy) is
        set, the policy of an existing key is left alone, and a new key gets AWS's default policy (account root only).
    type: list
    elements: str
  key_users:
    description:
      - IAM principal ARNs allowed to use the key, with the actions that fit its type (encrypt and decrypt, sign and
        verify, generate and verify MACs, derive shared secrets), and to create grants for AWS resources.
    type: list
    elements: str
  external_account_ids:
    description:
      - AWS account ids (12 digits, quoted in YAML) whose principals may use the key like O(key_users).
    type: list
    elements: str
  allow_key_admins_to_delete:
    description:
      - Whether O(key_admins) may schedule and cancel the deletion of the key.
    type: bool
    default: true
  policy:
    description:
      - A complete key policy (JSON string or dictionary) instead of the one built from O(key_admins),
        O(key_users), O(external_account_ids) and O(allow_key_admins_to_delete).
      - Compared by meaning with the key's policy, so statement order or a string instead of a one-element list
        never cause a change.
    type: json
  bypass_policy_lockout_safety_check:
    description:
      - Let KMS accept a policy that would keep the caller from changing it later. Use with care.
    type: bool
    default: false
  enabled:
    description:
      - Whether the key is enabled. Applied once key material is imported; a key without material
        (V(PendingImport)) is left as it is, without error. Left as it is when not set.
    type: bool
  deletion_window_days:
    description:
      - With O(state=absent), the number of days (7 to 30) before KMS deletes the key.
    type: int
    default: 30
extends_documentation_fragment:
  - byok.kms._attributes
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.tags
  - amazon.aws.boto3
attributes:
  check_mode:
    support: full
    details:
      - On create, the predicted key has no key id and ARN yet (V(null)), and the account in a built key policy
        is shown as C(ACCOUNT_ID).
  diff_mode:
    support: full
  idempotent:
    support: full
notes:
  - O(tags) takes at most 50 tags; keys are 1 to 128 characters, values at most 256. Tag keys starting with C(aws:)
    (reserved by AWS) or C(byok:) (written by this collection's modules, for example C(byok:key-check-value) by
    M(byok.kms.kms_key_material)) are refused in O(tags), and O(purge_tags) never removes them.
  - The key policy built from O(key_admins), O(key_users) and O(external_account_ids) needs the key's account id.
    On create it is read from the new key's ARN, so the key is created with the AWS default policy and the built
    policy is set right after C(CreateAlias); the module makes no STS call.
  - Throttling and transient errors are retried with jittered backoff. C(CreateKey) is retried only when throttled,
    so a lost response never creates a second key.
seealso:
  - module: amazon.aws.kms_key
  - module: byok.kms.kms_key_material
  - name: Importing key material into AWS KMS keys
    description: The AWS KMS Developer Guide on keys with imported key material.
    link: https://docs.aws.amazon.com/kms/latest/developerguide/importing-keys.html
"""

EXAMPLES = r"""
- name: A symmetric key for imported material, with administrators and users
  byok.kms.kms_external_key:
    alias: payments-data
    description: Payments data key (BYOK)
    key_admins:
      - arn:aws:iam::111122223333:role/KeyAdmin
    key_users:
      - arn:aws:iam::111122223333:role/PaymentsApp
    external_account_ids:
      - "444455556666"
    tags:
      team: payments
  register: payments_key

- name: Show the key
  ansible.builtin.debug:
    msg: "{{ payments_key.key_arn }} is {{ payments_key.key_metadata.KeyState }}"

- name: An RSA signing key with a policy of its own
  byok.kms.kms_external_key:
    alias: alias/release-signing
    key_spec: RSA_3072
    key_usage: SIGN_VERIFY
    policy:
      Version: "2012-10-17"
      Statement:
        - Sid: Enable IAM User Permissions
          Effect: Allow
          Principal:
            AWS: arn:aws:iam::111122223333:root
          Action: kms:*
          Resource: "*"

- name: Disable a key once its material is imported
  byok.kms.kms_external_key:
    alias: payments-data
    enabled: false

- name: Remove the alias and schedule deletion of the key in 7 days
  byok.kms.kms_external_key:
    alias: payments-data
    state: absent
    deletion_window_days: 7
"""

RETURN = r"""
alias:
  description: The alias, with its C(alias/) prefix.
  returned: always
  type: str
  sample: alias/payments-data
key_id:
  description: The id of the key; V(null) when check mode predicts a create, or with O(state=absent) when there was no key.
  returned: always
  type: str
  sample: 1234abcd-12ab-34cd-56ef-1234567890ab
key_arn:
  description: The ARN of the key; V(null) like RV(key_id).
  returned: always
  type: str
  sample: arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab
key_metadata:
  description:
    - The key's metadata as C(DescribeKey) returns it (CamelCase keys), datetimes as ISO 8601 strings.
    - In check mode, predicted; on create C(AWSAccountId), C(KeyId), C(Arn), C(CreationDate) and, for a multi-region
      key, C(MultiRegionConfiguration.PrimaryKey) are V(null).
    - V(null) with O(state=absent) when there was no key.
  returned: always
  type: dict
  sample:
    AWSAccountId: "111122223333"
    KeyId: 1234abcd-12ab-34cd-56ef-1234567890ab
    Arn: arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab
    CreationDate: "2025-01-01T12:00:00+00:00"
    Enabled: false
    Description: Payments data key (BYOK)
    KeyUsage: ENCRYPT_DECRYPT
    KeyState: PendingImport
    Origin: EXTERNAL
    KeyManager: CUSTOMER
    CustomerMasterKeySpec: SYMMETRIC_DEFAULT
    KeySpec: SYMMETRIC_DEFAULT
    EncryptionAlgorithms: [SYMMETRIC_DEFAULT]
    MultiRegion: false
key_policy:
  description: The key policy as a dictionary; V(null) with O(state=absent).
  returned: always
  type: dict
  sample:
    Version: "2012-10-17"
    Statement:
      - Sid: Enable IAM User Permissions
        Effect: Allow
        Principal:
          AWS: arn:aws:iam::111122223333:root
        Action: kms:*
        Resource: "*"
tags:
  description: The key's tags, including C(aws:) and C(byok:) tags; V(null) with O(state=absent).
  returned: always
  type: dict
  sample:
    team: payments
"""

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.byok.kms.plugins.module_utils._errors import ByokError
from ansible_collections.byok.kms.plugins.module_utils._external_key import ALL_KEY_USAGES
from ansible_collections.byok.kms.plugins.module_utils._external_key import KEY_SPECS
from ansible_collections.byok.kms.plugins.module_utils._external_key import ensure_external_key
from ansible_collections.byok.kms.plugins.module_utils._external_key import validate_external_key_params
from ansible_collections.byok.kms.plugins.module_utils._kms import KmsClient
from ansible_collections.byok.kms.plugins.module_utils._kms import client_config


def main() -> None:
    argument_spec = dict(
        alias=dict(type="str", required=True),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        description=dict(type="str"),
        key_spec=dict(type="str", choices=KEY_SPECS),
        key_usage=dict(type="str", choices=ALL_KEY_USAGES),
        multi_region=dict(type="bool"),
        key_admins=dict(type="list", elements="str", no_log=False),
        key_users=dict(type="list", elements="str", no_log=False),
        external_account_ids=dict(type="list", elements="str"),
        allow_key_admins_to_delete=dict(type="bool", default=True),
        policy=dict(type="json"),
        bypass_policy_lockout_safety_check=dict(type="bool", default=False),
        enabled=dict(type="bool"),
        deletion_window_days=dict(type="int", default=30),
        tags=dict(type="dict", aliases=["resource_tags"]),
        purge_tags=dict(type="bool", default=True),
    )
    module = AnsibleAWSModule(
        argument_spec=argument_spec,
        supports_check_mode=True,
        mutually_exclusive=[
            ["policy", "key_admins"],
            ["policy", "key_users"],
            ["policy", "external_account_ids"],
            ["policy", "allow_key_admins_to_delete"],
        ],
    )
    options = {k: v for k, v in module.params.items() if k in argument_spec}
    try:
        params = validate_external_key_params(options)  # before the client exists: bad input makes no call
        client = KmsClient(module.client("kms", config=client_config()))
        result = ensure_external_key(client, params, module.check_mode)
    except ByokError as e:
        module.fail_json(msg=e.message, **e.details)
    for warning in result.pop("warnings", []):
        module.warn(warning)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
