"""Test-only KMS client of the kms_key_material targets (never part of the collection).

Talks to the local KMS server only (BYOK_KMS_ENDPOINT on 127.0.0.1) and prints JSON:
    create-key SPEC [ORIGIN] [ALIAS]     CreateKey (+ CreateAlias) -> KeyMetadata
    describe KEY                         DescribeKey -> KeyMetadata
    snapshot KEY...                      DescribeKey + ListResourceTags of each key -> {key: {...}}
    tags KEY                             ListResourceTags -> {key: value}
    encrypt KEY TEXT                     Encrypt -> {"ciphertext": base64}
    decrypt CIPHERTEXT_B64               Decrypt -> {"KeyId": ..., "plaintext": text}
    public-key KEY                       GetPublicKey -> {"public_key": base64 DER}
    mac KEY MAC_ALGORITHM MESSAGE        GenerateMac -> {"mac": base64, "mac_hex": HEX}
    sign-verify KEY                      Sign + Verify a message with the key's first algorithm -> {"valid": bool}
    rotations KEY                        ListKeyRotations(ALL_KEY_MATERIAL) -> list
    schedule-deletion KEY                ScheduleKeyDeletion(7 days)
    disable KEY / enable KEY             DisableKey / EnableKey
    control NAME JSON                    POST /byok-api/NAME (test controls of the local server)
"""

from __future__ import annotations

import base64
import json
import os
import sys
import urllib.request

import boto3

ENDPOINT = os.environ["BYOK_KMS_ENDPOINT"]
if not ENDPOINT.startswith("http://127."):
    sys.exit(f"refusing to talk to {ENDPOINT}: local KMS server only")

KMS = boto3.client("kms", endpoint_url=ENDPOINT, region_name="us-east-1",
                   aws_access_key_id="testing", aws_secret_access_key="testing")
USAGE = {"SYMMETRIC_DEFAULT": "ENCRYPT_DECRYPT", "HMAC": "GENERATE_VERIFY_MAC", "RSA": "SIGN_VERIFY", "ECC": "SIGN_VERIFY"}


def out(value) -> None:
    print(json.dumps(value, default=str, sort_keys=True))


def main(cmd: str, *args: str) -> None:
    if cmd == "create-key":
        spec = args[0]
        origin = args[1] if len(args) > 1 else "EXTERNAL"
        alias = args[2] if len(args) > 2 else ""
        usage = USAGE.get(spec) or USAGE[spec.split("_")[0]]
        meta = KMS.create_key(KeySpec=spec, KeyUsage=usage, Origin=origin)["KeyMetadata"]
        if alias:
            KMS.create_alias(AliasName=alias, TargetKeyId=meta["KeyId"])
        out(meta)
    elif cmd == "describe":
        out(KMS.describe_key(KeyId=args[0])["KeyMetadata"])
    elif cmd == "snapshot":
        snapshot = {}
        for key in args:
            meta = KMS.describe_key(KeyId=key)["KeyMetadata"]
            tags = KMS.list_resource_tags(KeyId=meta["KeyId"])["Tags"]  # takes no alias
            snapshot[key] = {"metadata": meta, "tags": {t["TagKey"]: t["TagValue"] for t in tags}}
        out(snapshot)
    elif cmd == "tags":
        key_id = KMS.describe_key(KeyId=args[0])["KeyMetadata"]["KeyId"]
        out({t["TagKey"]: t["TagValue"] for t in KMS.list_resource_tags(KeyId=key_id)["Tags"]})
    elif cmd == "encrypt":
        blob = KMS.encrypt(KeyId=args[0], Plaintext=args[1].encode())["CiphertextBlob"]
        out({"ciphertext": base64.b64encode(blob).decode()})
    elif cmd == "decrypt":
        response = KMS.decrypt(CiphertextBlob=base64.b64decode(args[0]))
        out({"KeyId": response["KeyId"], "plaintext": response["Plaintext"].decode()})
    elif cmd == "public-key":
        out({"public_key": base64.b64encode(KMS.get_public_key(KeyId=args[0])["PublicKey"]).decode()})
    elif cmd == "mac":
        mac = KMS.generate_mac(KeyId=args[0], MacAlgorithm=args[1], Message=args[2].encode())["Mac"]
        out({"mac": base64.b64encode(mac).decode(), "mac_hex": mac.hex().upper()})
    elif cmd == "sign-verify":
        algorithm = KMS.describe_key(KeyId=args[0])["KeyMetadata"]["SigningAlgorithms"][0]
        signature = KMS.sign(KeyId=args[0], Message=b"byok", MessageType="RAW", SigningAlgorithm=algorithm)["Signature"]
        valid = KMS.verify(KeyId=args[0], Message=b"byok", MessageType="RAW", Signature=signature,
                           SigningAlgorithm=algorithm)["SignatureValid"]
        out({"valid": valid, "algorithm": algorithm})
    elif cmd == "rotations":
        out(KMS.list_key_rotations(KeyId=args[0], IncludeKeyMaterial="ALL_KEY_MATERIAL")["Rotations"])
    elif cmd == "schedule-deletion":
        key_id = KMS.describe_key(KeyId=args[0])["KeyMetadata"]["KeyId"]  # takes no alias
        out(KMS.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7))
    elif cmd in ("disable", "enable"):
        key_id = KMS.describe_key(KeyId=args[0])["KeyMetadata"]["KeyId"]
        (KMS.disable_key if cmd == "disable" else KMS.enable_key)(KeyId=key_id)
        out(KMS.describe_key(KeyId=key_id)["KeyMetadata"])
    elif cmd == "control":
        request = urllib.request.Request(f"{ENDPOINT}/byok-api/{args[0]}", data=args[1].encode(), method="POST",
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback only
            out(json.loads(response.read() or b"{}"))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(*sys.argv[1:])
