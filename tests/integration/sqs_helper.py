#!/usr/bin/env python3
"""sqs_helper.py — moto's SQS for the SQS source's tests (tests/integration/test-sqs.sh).

  serve PORTFILE SECONDS    ThreadedMotoServer on 127.0.0.1 (a free port, written to
                            PORTFILE) for at most SECONDS, or until SIGTERM
  setup PORT NAME MAXRECV   a queue NAME with a dead-letter queue NAME-dlq (redrive after
                            MAXRECV receipts); prints the queue's URL
  send PORT URL DIR         each DIR/*.json as one message: even ones raw, odd ones base64
                            (the IoT rule's SQS action with useBase64)
  send_raw PORT URL TEXT    one message whose body is TEXT as given
  counts PORT URL           "<visible> <in flight> <in the DLQ>"
Exit 77 when moto or boto3 is missing."""
import base64
import os
import signal
import sys
import time

try:
    import boto3
    from moto.server import ThreadedMotoServer
except ImportError:
    print("SKIP: moto or boto3 is not installed")
    sys.exit(77)


def client(port):
    return boto3.client("sqs", region_name="us-east-1",
                        endpoint_url="http://127.0.0.1:%s" % port,
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def serve(port_file, seconds):
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    with open(port_file + ".tmp", "w") as f:
        f.write(str(port))
    os.rename(port_file + ".tmp", port_file)
    stop = []
    signal.signal(signal.SIGTERM, lambda *a: stop.append(1))
    end = time.monotonic() + float(seconds)
    while not stop and time.monotonic() < end:
        time.sleep(0.2)
    server.stop()


def setup(port, name, max_receive):
    sqs = client(port)
    dlq = sqs.create_queue(QueueName=name + "-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]
    url = sqs.create_queue(QueueName=name, Attributes={
        "RedrivePolicy": '{"deadLetterTargetArn":"%s","maxReceiveCount":"%s"}' % (
            dlq_arn, max_receive)})["QueueUrl"]
    print(url)


def send(port, url, folder):
    sqs = client(port)
    names = sorted(n for n in os.listdir(folder) if n.endswith(".json"))
    batch = []
    for i, n in enumerate(names):
        with open(os.path.join(folder, n), "rb") as f:
            event = f.read().strip()
        body = event.decode() if i % 2 == 0 else base64.b64encode(event).decode()
        batch.append({"Id": str(len(batch)), "MessageBody": body})
        if len(batch) == 10:
            sqs.send_message_batch(QueueUrl=url, Entries=batch)
            batch = []
    if batch:
        sqs.send_message_batch(QueueUrl=url, Entries=batch)
    print(len(names))


def counts(port, url):
    sqs = client(port)
    a = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    dlq = url + "-dlq"
    d = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["All"])["Attributes"]
    print(a["ApproximateNumberOfMessages"], a["ApproximateNumberOfMessagesNotVisible"],
          int(d["ApproximateNumberOfMessages"]) + int(d["ApproximateNumberOfMessagesNotVisible"]))


def main():
    cmd = sys.argv[1]
    if cmd == "serve":
        serve(sys.argv[2], sys.argv[3])
    elif cmd == "setup":
        setup(sys.argv[2], sys.argv[3], sys.argv[4])
    elif cmd == "send":
        send(sys.argv[2], sys.argv[3], sys.argv[4])
    elif cmd == "send_raw":
        client(sys.argv[2]).send_message(QueueUrl=sys.argv[3], MessageBody=sys.argv[4])
    elif cmd == "counts":
        counts(sys.argv[2], sys.argv[3])
    else:
        sys.exit("unknown command " + cmd)


if __name__ == "__main__":
    main()
