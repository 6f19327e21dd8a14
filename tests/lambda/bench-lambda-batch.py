#!/usr/bin/env python3
"""bench-lambda-batch.py IOT_EMULATOR — billed time of an SQS batch of 10 registration events
(each a new device: activate, 6 API calls) at 50 ms per API call (iot-emulator's injected
latency), with `[lambda] batch_concurrency` 1 (the records one after another, as before) and
10 (the default: all at once). Billed time is what Lambda bills: the invocation handed out by
the Runtime API stand-in -> its answer received. ROUNDS batches per setting (default 3), each
after one single event, the yardstick; prints the medians, billed ms per event, and the
batch's time next to the target (<= 2 x one event). Exits 1 when the target is missed with
concurrency 10 in a build without sanitizers, or when a batch is not decided as expected."""

import json
import os
import statistics
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Cases, cert_id, package, registration_event, sanitized  # noqa: E402
from runtime_api import RuntimeAPI  # noqa: E402

ROUNDS = int(os.environ.get("ROUNDS", "3"))
BATCH = 10
LATENCY_MS = 50
SETTINGS = (1, 10)
PER_SETTING = ROUNDS * BATCH + ROUNDS  # batch devices + one single event per round

src = os.environ["JITRD_SOURCE_ROOT"]
build = os.environ["JITRD_BUILD_ROOT"]
cases = Cases("jitrd-lambda-batch-bench-")
work = cases.work
emu, pki = cases.emulator_and_pki(os.path.abspath(sys.argv[1]), PER_SETTING * len(SETTINGS))
emu.register_ca(pki, "ca1")
ca_id = cert_id(os.path.join(pki, "ca", "ca1.pem"))
task, _ = package(src, build, work)
for d in ("ca", "crl"):
    os.symlink(os.path.join(pki, d), os.path.join(task, d))
devices = iter(os.path.join(pki, "devices", "bench-%d.pem" % i)
               for i in range(1, PER_SETTING * len(SETTINGS) + 1))


def record(n, pem):
    body = json.dumps(registration_event(pem, ca_id))
    return {"messageId": "m-%d" % n, "receiptHandle": "rh-%d" % n, "body": body,
            "eventSource": "aws:sqs", "awsRegion": "us-east-1"}


def run(concurrency):
    """[(one event billed ms, batch billed ms)] for ROUNDS rounds."""
    api = RuntimeAPI()
    cases.closers.append(api.close)
    p = cases.bootstrap(task, api, emu.url, JITRD_LAMBDA_BATCH_CONCURRENCY=str(concurrency))
    if api.wait_next(1, timeout=20) is None:
        cases.give_up("bootstrap (concurrency %d) never asked for an invocation" % concurrency)
    rounds = []
    for _ in range(ROUNDS):
        pem = next(devices)
        emu.connect(pem)
        res = api.wait_result(api.enqueue(registration_event(pem, ca_id)), timeout=30)
        if not res or b'"activate"' not in res["body"]:
            cases.give_up("the single event was not activated: %r" % res)
        pems = [next(devices) for _ in range(BATCH)]
        for pem in pems:
            emu.connect(pem)
        batch = {"Records": [record(n, pem) for n, pem in enumerate(pems)]}
        bres = api.wait_result(api.enqueue(batch), timeout=60)
        if not bres or json.loads(bres["body"]) != {"batchItemFailures": []}:
            cases.give_up("the batch was not decided whole: %r" % bres)
        if any(emu.status_of(cert_id(pem)) != "ACTIVE" for pem in pems):
            cases.give_up("a device of the batch is not ACTIVE")
        rounds.append((res["billed_ms"], bres["billed_ms"]))
    api.close()
    p.wait(timeout=10)
    return rounds


emu.post("/_emulator/faults", json.dumps({"latency_ms": LATENCY_MS}).encode())
noisy = sanitized(build)
print("SQS batch of %d new devices (6 API calls each) at %d ms per call, %d rounds%s"
      % (BATCH, LATENCY_MS, ROUNDS, " (sanitizer build: figures not comparable)" if noisy else ""))
missed = False
for concurrency in SETTINGS:
    rounds = run(concurrency)
    one = statistics.median(r[0] for r in rounds)
    whole = statistics.median(r[1] for r in rounds)
    verdict = ""
    if concurrency > 1:
        met = whole <= 2 * one
        missed = not met
        verdict = "   target <= 2 x one event: %s" % ("met" if met else "MISSED")
    print("batch_concurrency %2d: one event %6.0f ms billed, batch of %d %6.0f ms billed "
          "(%.1f x one event), %5.1f ms billed per event%s"
          % (concurrency, one, BATCH, whole, whole / one, whole / BATCH, verdict))
cases.cleanup()
sys.exit(1 if missed and not noisy else 0)
