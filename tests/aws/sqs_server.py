#!/usr/bin/env python3
"""sqs_server.py — a real SQS endpoint for test_sqs_client on 127.0.0.1: moto's
ThreadedMotoServer on an ephemeral port with SigV4 verification and IAM authorization turned on
once the queue is in place. It prints one line once ready:

  READY <pid> <port> <key id> <secret> <queue URL>

(a user allowed the four operations jitrd calls on that queue, and ReceiveMessage on any), then serves until SIGTERM
or --lifetime seconds, whichever comes first, so it is never left running. The queue holds
three messages: a raw event, the same event in base64, and "junk"."""
import argparse
import base64
import json
import os
import signal
import time

import boto3
import requests
from moto.server import ThreadedMotoServer

EVENT = json.dumps({
    "certificateId": "0123456789abcdef" * 4, "caCertificateId": "fedcba9876543210" * 4,
    "timestamp": 1700000000000, "certificateStatus": "PENDING_ACTIVATION",
    "awsAccountId": "123456789012", "certificateRegistrationTimestamp": "1700000000001"},
    separators=(",", ":"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lifetime", type=float, default=120)
    args = ap.parse_args()
    deadline = time.monotonic() + args.lifetime
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = "http://%s:%d" % (host, port)
    kw = dict(endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="setup",
              aws_secret_access_key="setup")
    sqs = boto3.client("sqs", **kw)
    iam = boto3.client("iam", **kw)
    url = sqs.create_queue(QueueName="jitrd-events")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]
    for body in (EVENT, base64.b64encode(EVENT.encode()).decode(), "junk"):
        sqs.send_message(QueueUrl=url, MessageBody=body)
    # moto authorizes a batch call by its own name (sqs:DeleteMessageBatch), AWS by the single
    # action (sqs:DeleteMessage): both are granted here, the deploy policy has AWS's.
    # ReceiveMessage on any queue, so that SQS itself answers for a missing one (moto does
    # not match a statement scoped to a queue that does not exist).
    grant = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Resource": "*",
        "Action": ["sqs:ReceiveMessage"]}, {
        "Effect": "Allow", "Resource": arn,
        "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:DeleteMessageBatch",
                   "sqs:ChangeMessageVisibility", "sqs:ChangeMessageVisibilityBatch",
                   "sqs:GetQueueAttributes"]}]})
    iam.create_user(UserName="jitrd")
    iam.put_user_policy(UserName="jitrd", PolicyName="sqs", PolicyDocument=grant)
    key = iam.create_access_key(UserName="jitrd")["AccessKey"]
    # From here every request's SigV4 signature is verified and its action authorized.
    requests.post(endpoint + "/moto-api/reset-auth", data=b"0", timeout=10).raise_for_status()
    stop = []
    signal.signal(signal.SIGTERM, lambda *a: stop.append(1))
    print("READY %d %d %s %s %s" % (os.getpid(), port, key["AccessKeyId"],
                                    key["SecretAccessKey"], url), flush=True)
    while not stop and time.monotonic() < deadline:
        time.sleep(0.1)
    server.stop()


if __name__ == "__main__":
    main()
