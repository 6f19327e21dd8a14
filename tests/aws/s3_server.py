#!/usr/bin/env python3
"""s3_server.py — a real S3-compatible endpoint for test_crl_fetch_s3 on 127.0.0.1: moto's
ThreadedMotoServer on an ephemeral port, with SigV4 verification and IAM authorization turned on
once the fixtures are in place. It prints one line on stdout once ready:

  READY <port> <key id> <secret> <session key id> <session secret> <session token>

(a user allowed s3:GetObject on arn:aws:s3:::jitrd-crls/crl/* and on the missing bucket
jitrd-missing, and a session of a role with the same grant), then serves until stdin closes or
--lifetime seconds pass, whichever comes first, so it is never left running. A line "auth off"
or "auth on" on stdin turns moto's signature checks off or on again, answered by "OK": moto
checks signatures against the percent-decoded path, so it refuses every correctly signed
request for a key with a character S3 escapes (botocore's own requests too). Objects, in
us-east-1:

  jitrd-crls/crl/ca2.crl                 DER CRL (the fixtures' crls/ca2.crl.der)
  jitrd-crls/crl/ca1.crl.pem             PEM CRL (the fixtures' crls/ca1.crl.pem)
  jitrd-crls/crl/with space+plus/é€%=~.crl   the DER CRL under a key S3 would escape
  jitrd-crls/crl/big.crl                 100000 bytes, for the size cap
  jitrd-crls/private/ca.crl              outside the grant: AccessDenied
"""
import argparse
import json
import os
import select
import sys
import time

import boto3
import requests
from moto.server import ThreadedMotoServer

BUCKET = "jitrd-crls"
SPECIAL_KEY = "crl/with space+plus/\u00e9\u20ac%=~.crl"
GRANT = json.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:GetObject",
                   "Resource": ["arn:aws:s3:::%s/crl/*" % BUCKET,
                                "arn:aws:s3:::jitrd-missing/*"]}],
})
TRUST = json.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
                   "Action": "sts:AssumeRole"}],
})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--fixtures", required=True)
    ap.add_argument("--lifetime", type=float, default=120)
    args = ap.parse_args()
    deadline = time.monotonic() + args.lifetime

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = "http://%s:%d" % (host, port)
    # Set-up runs before authentication is on; these keys are moto's throwaway defaults.
    kw = dict(endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="setup",
              aws_secret_access_key="setup")
    s3 = boto3.client("s3", **kw)
    iam = boto3.client("iam", **kw)
    sts = boto3.client("sts", **kw)

    s3.create_bucket(Bucket=BUCKET)
    with open(os.path.join(args.fixtures, "crls", "ca2.crl.der"), "rb") as f:
        der = f.read()
    with open(os.path.join(args.fixtures, "crls", "ca1.crl.pem"), "rb") as f:
        pem = f.read()
    s3.put_object(Bucket=BUCKET, Key="crl/ca2.crl", Body=der)
    s3.put_object(Bucket=BUCKET, Key="crl/ca1.crl.pem", Body=pem)
    s3.put_object(Bucket=BUCKET, Key=SPECIAL_KEY, Body=der)
    s3.put_object(Bucket=BUCKET, Key="crl/big.crl", Body=b"\x30" * 100000)
    s3.put_object(Bucket=BUCKET, Key="private/ca.crl", Body=der)

    iam.create_user(UserName="crl-reader")
    iam.put_user_policy(UserName="crl-reader", PolicyName="crl", PolicyDocument=GRANT)
    user = iam.create_access_key(UserName="crl-reader")["AccessKey"]
    role = iam.create_role(RoleName="crl-role", AssumeRolePolicyDocument=TRUST)["Role"]
    iam.put_role_policy(RoleName="crl-role", PolicyName="crl", PolicyDocument=GRANT)
    session = sts.assume_role(RoleArn=role["Arn"], RoleSessionName="jitrd")["Credentials"]

    def set_auth(count):
        r = requests.post(endpoint + "/moto-api/reset-auth", data=count, timeout=10)
        r.raise_for_status()

    # From here every request's SigV4 signature is verified and its action authorized.
    set_auth(b"0")

    print("READY %d %s %s %s %s %s" % (port, user["AccessKeyId"], user["SecretAccessKey"],
                                       session["AccessKeyId"], session["SecretAccessKey"],
                                       session["SessionToken"]), flush=True)
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        ready, _, _ = select.select([sys.stdin], [], [], min(left, 1.0))
        if not ready:
            continue
        line = sys.stdin.buffer.readline()
        if not line:
            break  # the test closed its end, or ended
        if line.strip() in (b"auth off", b"auth on"):
            set_auth(b"inf" if line.strip() == b"auth off" else b"0")
            print("OK", flush=True)
    server.stop()


if __name__ == "__main__":
    main()
