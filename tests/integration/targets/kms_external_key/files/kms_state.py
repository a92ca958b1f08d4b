#!/usr/bin/env python
"""Independent view of the local KMS server for the kms_external_key target (plain boto3, not the
collection's code). Talks to BYOK_KMS_ENDPOINT only and refuses anything but loopback.

    kms_state.py list                       -> JSON: {"keys": [{KeyId, KeyState, Origin, Enabled, Description,
                                               KeySpec, KeyUsage, MultiRegion, Aliases, Tags, Policy}]}
    kms_state.py schedule-deletion KEY_ID   -> schedules deletion of a key (7 days)
    kms_state.py create-native ALIAS        -> an AWS_KMS key (not EXTERNAL) under ALIAS; prints its id
"""

from __future__ import annotations

import json
import os
import sys

import boto3


def client():
    endpoint = os.environ["BYOK_KMS_ENDPOINT"]
    if not endpoint.startswith("http://127."):
        raise SystemExit(f"refusing to talk to {endpoint}: loopback only")
    return boto3.client("kms", endpoint_url=endpoint, region_name="us-east-1",
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def list_keys(kms):
    aliases = {}
    for page in kms.get_paginator("list_aliases").paginate():
        for alias in page["Aliases"]:
            if "TargetKeyId" in alias:
                aliases.setdefault(alias["TargetKeyId"], []).append(alias["AliasName"])
    keys = []
    for page in kms.get_paginator("list_keys").paginate():
        for key in page["Keys"]:
            meta = kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]
            tags = kms.list_resource_tags(KeyId=key["KeyId"]).get("Tags", [])
            policy = kms.get_key_policy(KeyId=key["KeyId"], PolicyName="default")["Policy"]
            keys.append({
                "KeyId": meta["KeyId"], "KeyState": meta["KeyState"], "Origin": meta["Origin"],
                "Enabled": meta["Enabled"], "Description": meta.get("Description", ""),
                "KeySpec": meta.get("KeySpec"), "KeyUsage": meta.get("KeyUsage"),
                "MultiRegion": meta.get("MultiRegion", False),
                "Aliases": sorted(aliases.get(meta["KeyId"], [])),
                "Tags": {t["TagKey"]: t["TagValue"] for t in tags},
                "Policy": json.loads(policy),
            })
    return {"keys": keys}


def main(argv):
    kms = client()
    command = argv[0] if argv else "list"
    if command == "list":
        print(json.dumps(list_keys(kms)))
    elif command == "schedule-deletion":
        kms.schedule_key_deletion(KeyId=argv[1], PendingWindowInDays=7)
        print(json.dumps({"KeyId": argv[1]}))
    elif command == "create-native":
        key_id = kms.create_key(Origin="AWS_KMS")["KeyMetadata"]["KeyId"]
        kms.create_alias(AliasName=argv[1], TargetKeyId=key_id)
        print(json.dumps({"KeyId": key_id}))
    elif command == "tag":
        kms.tag_resource(KeyId=argv[1], Tags=[{"TagKey": argv[2], "TagValue": argv[3]}])
        print(json.dumps({"KeyId": argv[1]}))
    else:
        raise SystemExit(f"unknown command {command}")


if __name__ == "__main__":
    main(sys.argv[1:])
