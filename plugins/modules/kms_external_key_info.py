#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: byok.kms contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: kms_external_key_info
short_description: List KMS keys with imported (EXTERNAL) key material, their materials and expiry
version_added: 0.1.0
description:
  - Lists the customer managed KMS keys of origin C(EXTERNAL) in one account and region, with their aliases,
    tags, key materials and the days left until their material expires.
  - Aliases come from one paginated C(ListAliases) pass for the whole listing, never one call per key.
    With O(alias) or O(key_ids) no C(ListKeys) pass is made; each candidate then costs one C(DescribeKey),
    and keys that pass the metadata filters one C(ListResourceTags) and, for symmetric keys, one C(ListKeyRotations).
  - Keys of another origin (C(AWS_KMS), C(AWS_CLOUDHSM), C(EXTERNAL_KEY_STORE)) and AWS managed keys are never listed.
author:
  - byok.kms maintainers (@byok-kms)
options:
  alias:
    description:
      - Only keys with an alias that matches this name or shell-style pattern (V(app-*)), with or without
        the C(alias/) prefix.
    type: str
  key_ids:
    description:
      - Only these keys, each given as key id, key ARN or alias (C(alias/...)). Unknown keys are skipped.
    type: list
    elements: str
  tags:
    description:
      - Only keys that carry every one of these tags with exactly this value.
    type: dict
  key_states:
    description:
      - Only keys in one of these states.
    type: list
    elements: str
    choices: [Creating, Enabled, Disabled, PendingDeletion, PendingImport, PendingReplicaDeletion, Unavailable, Updating]
  expiring_within_days:
    description:
      - Only keys whose current key material expires within this many days from now (already past included).
      - Keys whose material does not expire, or that have no material (C(PendingImport)), are left out.
    type: int
extends_documentation_fragment:
  - byok.kms._attributes
  - byok.kms._attributes.INFO_MODULE
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
seealso:
  - module: byok.kms.kms_external_key
  - module: byok.kms.kms_key_material
  - module: amazon.aws.kms_key_info
"""

EXAMPLES = r"""
- name: Every EXTERNAL key of the region
  byok.kms.kms_external_key_info:
  register: external_keys

- name: Keys whose material expires within 30 days
  byok.kms.kms_external_key_info:
    expiring_within_days: 30
  register: expiring

- name: Report them
  ansible.builtin.debug:
    msg: "{{ item.aliases | join(', ') }} expires in {{ item.days_until_expiry }} days"
  loop: "{{ expiring.kms_keys }}"
  loop_control:
    label: "{{ item.key_id }}"

- name: Keys of one application that are waiting for their material
  byok.kms.kms_external_key_info:
    alias: "payments-*"
    tags:
      team: payments
    key_states: [PendingImport]
"""

RETURN = r"""
kms_keys:
  description: The matching keys, sorted by their first alias.
  returned: always
  type: list
  elements: dict
  contains:
    key_id:
      description: Key id.
      type: str
      sample: 1234abcd-12ab-34cd-56ef-1234567890ab
    key_arn:
      description: Key ARN.
      type: str
    key_state:
      description: KeyState (V(Enabled), V(PendingImport), ...).
      type: str
    key_spec:
      description: KeySpec (V(SYMMETRIC_DEFAULT), V(HMAC_256), V(ECC_NIST_P256), ...).
      type: str
    aliases:
      description: Every alias of the key, with the C(alias/) prefix, sorted.
      type: list
      elements: str
    tags:
      description: Tags of the key.
      type: dict
    valid_to:
      description: Expiry of the current key material (ISO 8601), null when it does not expire or is absent.
      type: str
    days_until_expiry:
      description:
        - Whole days left (rounded down) until the current key material expires.
        - Null when the material does not expire or no material is imported.
      type: int
    key_materials:
      description:
        - Every key material of a symmetric key (C(ListKeyRotations) with C(ALL_KEY_MATERIAL)).
        - Empty for HMAC and asymmetric keys, which have exactly one material (see RV(kms_keys[].key_metadata)).
      type: list
      elements: dict
      contains:
        key_material_id:
          description: Id KMS computed for the material.
          type: str
        key_material_state:
          description: V(CURRENT), V(NON_CURRENT) or V(PENDING_ROTATION).
          type: str
        import_state:
          description: V(IMPORTED) or V(PENDING_IMPORT).
          type: str
        expiration_model:
          description: V(KEY_MATERIAL_EXPIRES) or V(KEY_MATERIAL_DOES_NOT_EXPIRE).
          type: str
        valid_to:
          description: Expiry of this material (ISO 8601) or null.
          type: str
        days_until_expiry:
          description: Whole days left for this material, or null.
          type: int
        rotation_date:
          description: When this material became current (ISO 8601) or null.
          type: str
        rotation_type:
          description: V(AUTOMATIC) or V(ON_DEMAND), or null.
          type: str
        key_material_description:
          description: Description given at import, or null.
          type: str
    key_check_value:
      description:
        - Key check value recorded in the C(byok:key-check-value) tag at import (symmetric keys), or null.
      type: str
    key_metadata:
      description: KeyMetadata as DescribeKey returns it (CamelCase keys, datetimes as ISO 8601 strings).
      type: dict
"""

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.byok.kms.plugins.module_utils._errors import ByokError
from ansible_collections.byok.kms.plugins.module_utils._key_inventory import KEY_STATES
from ansible_collections.byok.kms.plugins.module_utils._key_inventory import list_external_keys
from ansible_collections.byok.kms.plugins.module_utils._kms import KmsClient
from ansible_collections.byok.kms.plugins.module_utils._kms import client_config


def main() -> None:
    argument_spec = dict(
        alias=dict(type="str"),
        key_ids=dict(type="list", elements="str", no_log=False),
        tags=dict(type="dict"),
        key_states=dict(type="list", elements="str", choices=list(KEY_STATES)),
        expiring_within_days=dict(type="int"),
    )
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    params = {name: module.params[name] for name in argument_spec}
    try:
        client = KmsClient(module.client("kms", config=client_config()))
        keys = list_external_keys(client, **params)
    except ByokError as e:
        module.fail_json(msg=e.message, **e.details)
    module.exit_json(changed=False, kms_keys=keys)


if __name__ == "__main__":
    main()
