#!/usr/bin/env python3
"""anchor-botocore.py URL REGION IDS-FILE COUNT POLICY: the anchor of bench-run's CPU per
event. The same three calls jitrd makes per device (DescribeCertificate, UpdateCertificate to
ACTIVE, AttachPolicy) through botocore, the core of boto3 and of the AWS CLI, one device after
another against the emulator, for the first COUNT certificate ids of IDS-FILE. Prints
"botocore_ms=<process CPU per device in ms>" and "botocore_calls=<calls made>". The client is
made (and the model loaded) before the clock starts, as a long-running SDK user would.
Credentials come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY. Exit 77: no botocore here.

The Debian package awscli carries botocore as awscli.botocore (under /usr/bin/python3); a
stand-alone botocore is used where that is what is installed."""
import os
import sys
import time

try:
    from awscli.botocore.session import Session
except ImportError:
    try:
        from botocore.session import Session
    except ImportError:
        print("SKIP: no botocore (Debian package awscli)", file=sys.stderr)
        sys.exit(77)


def main():
    url, region, ids_file, count, policy = sys.argv[1:6]
    with open(ids_file, encoding="ascii") as f:
        ids = [line.strip() for line in f if line.strip()][: int(count)]
    if len(ids) != int(count):
        sys.exit(f"{ids_file}: {len(ids)} ids, {count} wanted")
    client = Session().create_client(
        "iot",
        region_name=region,
        endpoint_url=url,
        aws_access_key_id=os.environ["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=os.environ["AWS_SECRET_ACCESS_KEY"],
    )
    calls = 0
    start = time.process_time()
    for cert_id in ids:
        arn = client.describe_certificate(certificateId=cert_id)["certificateDescription"][
            "certificateArn"
        ]
        client.update_certificate(certificateId=cert_id, newStatus="ACTIVE")
        client.attach_policy(policyName=policy, target=arn)
        calls += 3
    spent = time.process_time() - start
    print(f"botocore_ms={spent * 1000 / len(ids):.3f}")
    print(f"botocore_calls={calls}")


if __name__ == "__main__":
    main()
