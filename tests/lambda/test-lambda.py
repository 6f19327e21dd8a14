#!/usr/bin/env python3
"""test-lambda.py IOT_EMULATOR — `jitrd lambda` as Lambda runs it: deploy/lambda/package.sh
builds function.zip from this build, the test unpacks it and runs `bootstrap` under `env -i`
with only Lambda's variables and only the zip's lib/ on LD_LIBRARY_PATH, against a local
stand-in of the Runtime API (runtime_api.py) and iot-emulator, with a PKI made for today by
the OpenSSL CLI (make-pki.sh). It checks each answer, the certificate states in the emulator,
the protocol (no breach noted by the stand-in, one keep-alive connection), and that a broken
configuration is reported to /runtime/init/error. Loopback only; everything stopped on exit.
Prints "CASES <passed> <failed>"."""

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (ACCOUNT, SECRET, TOKEN, Cases, cert_id,  # noqa: E402
                     package, registration_event)
from runtime_api import RuntimeAPI  # noqa: E402

src = os.environ["JITRD_SOURCE_ROOT"]
build = os.environ["JITRD_BUILD_ROOT"]
cases = Cases("jitrd-lambda-")
work, procs, check, give_up = cases.work, cases.procs, cases.check, cases.give_up


# --- the emulator and the PKI ----------------------------------------------------------------
emu, pki = cases.emulator_and_pki(os.path.abspath(sys.argv[1]), extra=8)  # bench-1..8


def pem(name):
    return os.path.join(pki, "devices", name + ".pem")


def status_of(name):
    return emu.status_of(cert_id(pem(name)))


for ca in ("ca1", "ca2"):
    emu.register_ca(pki, ca)
ca1_id = cert_id(os.path.join(pki, "ca", "ca1.pem"))
ca2_id = cert_id(os.path.join(pki, "ca", "ca2.pem"))
for d in ("good", "direct", "sqs-good", "revoked", "pending", "deferred"):
    emu.connect(pem(d))
check("devices are PENDING_ACTIVATION after connecting", status_of("direct") == "PENDING_ACTIVATION")


def event(name, ca_id=None):
    return registration_event(pem(name), ca_id or ca1_id)


# --- the package --------------------------------------------------------------------------
task, infos = package(src, build, work)
names = [i.filename for i in infos]
modes = {i.filename: (i.external_attr >> 16) & 0o777 for i in infos}
check("the zip has bootstrap (mode 755) at its root",
      "bootstrap" in names and modes.get("bootstrap") == 0o755, str(modes.get("bootstrap")))
check("the zip has policies/default.json", "policies/default.json" in names)
libs = sorted(n[4:] for n in names if n.startswith("lib/"))
GLIBC = ("libc", "libm", "libpthread", "libdl", "librt", "libresolv")
glibc = [n for n in libs if n.split(".so")[0] in GLIBC or n.startswith("ld-linux")]
check("lib/ holds the libraries beyond glibc (%d) and none of glibc" % len(libs),
      "libcurl.so.4" in libs and "libjson-c.so.5" in libs and not glibc, " ".join(libs))
rpath = subprocess.run(["readelf", "-d", os.path.join(task, "bootstrap")], check=True,
                       capture_output=True, text=True).stdout
check("bootstrap has DT_RPATH $ORIGIN/lib (searched before Lambda's LD_LIBRARY_PATH)",
      "(RPATH)" in rpath and "[$ORIGIN/lib]" in rpath and "RUNPATH" not in rpath)
# The function's own files, as a user ships them beside bootstrap (package.sh CA_DIR/CRL_DIR);
# no JITRD_CA_DIR/JITRD_CRL_DIR: the Lambda defaults under LAMBDA_TASK_ROOT find them.
shutil.copytree(os.path.join(pki, "ca"), os.path.join(task, "ca"))
shutil.copytree(os.path.join(pki, "crl"), os.path.join(task, "crl"))


def start(api, argv0="bootstrap", **extra):
    return cases.bootstrap(task, api, emu.url, argv0, **extra)


# --- one execution environment: many invocations ------------------------------------------------
api = RuntimeAPI()
p = start(api)
if api.wait_next(1, timeout=20) is None:
    p.log.seek(0)
    give_up("bootstrap never asked for an invocation: " + p.log.read()[-2000:])

maps = open("/proc/%d/maps" % p.pid).read() if p.poll() is None else ""
mapped = sorted({line.split()[-1] for line in maps.splitlines() if ".so" in line.split()[-1]})
outside = [m for m in mapped if not m.startswith(os.path.join(task, "lib") + "/")
           and os.path.basename(m).split(".so")[0] not in GLIBC
           and not os.path.basename(m).startswith("ld-linux")]
check("every library mapped beyond glibc comes from the zip's lib/", mapped and not outside,
      " ".join(outside) or "(no maps)")


def invoke(payload, deadline_in_ms=30000, timeout=30):
    rid = api.enqueue(payload, deadline_in_ms=deadline_in_ms)
    res = api.wait_result(rid, timeout=timeout)
    if res is None:
        return None, None
    try:
        body = json.loads(res["body"])
    except ValueError:
        body = None
    return res, body


# 1. The registration event itself (IoT rule -> Lambda).
res, body = invoke(event("direct"))
check("a registration event is answered with its decision",
      res and res["kind"] == "response" and body.get("decision") == "activate"
      and body.get("certificateId") == cert_id(pem("direct")) and body.get("status") == "ACTIVE",
      repr(body))
check("direct is ACTIVE in the emulator", status_of("direct") == "ACTIVE")

# 2. An SQS batch: good, revoked, invalid, an unknown certificate, and one that must wait.
unknown = event("unknown")  # never connected: AWS has no such certificate
records = [
    ("m-good", json.dumps(event("sqs-good"))),
    ("m-revoked", json.dumps(event("revoked"))),
    ("m-invalid", '{"certificateId":"../../etc/passwd"}'),
    ("m-unknown", json.dumps(unknown)),
    ("m-deferred", json.dumps(event("deferred", ca2_id))),
]
batch = {"Records": [{"messageId": mid, "receiptHandle": "rh-" + mid, "body": b,
                      "attributes": {"ApproximateReceiveCount": "1"}, "messageAttributes": {},
                      "md5OfBody": hashlib.md5(b.encode()).hexdigest(), "eventSource": "aws:sqs",
                      "eventSourceARN": "arn:aws:sqs:us-east-1:%s:jitrd" % ACCOUNT,
                      "awsRegion": "us-east-1"} for mid, b in records]}
res, body = invoke(batch)
# A certificate that cannot be described is retried (AWS is eventually consistent),
# and so is one that must wait for its CRL; the invalid record is not.
check("the SQS batch names exactly the records to retry (unknown and deferred)",
      res and res["kind"] == "response"
      and sorted(f["itemIdentifier"] for f in body.get("batchItemFailures", []))
      == ["m-deferred", "m-unknown"], repr(body))
check("sqs-good is ACTIVE", status_of("sqs-good") == "ACTIVE")
check("revoked is REVOKED", status_of("revoked") == "REVOKED")
check("deferred stays PENDING_ACTIVATION", status_of("deferred") == "PENDING_ACTIVATION")

# 3. A scheduled event: the reconcile sweep activates the device whose event never came.
check("pending is PENDING_ACTIVATION before the sweep", status_of("pending") == "PENDING_ACTIVATION")
scheduled = {"version": "0", "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
             "detail-type": "Scheduled Event", "source": "aws.events", "account": ACCOUNT,
             "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "region": "us-east-1",
             "resources": ["arn:aws:events:us-east-1:%s:rule/jitrd-reconcile" % ACCOUNT],
             "detail": {}}
res, body = invoke(scheduled)
check("the scheduled event runs a sweep and answers its counts",
      res and res["kind"] == "response" and body.get("complete") is True
      and body.get("decisions", {}).get("activate") == 2 and body.get("retry") == 1
      and body.get("decisions", {}).get("defer") == 1, repr(body))
check("the sweep activated pending", status_of("pending") == "ACTIVE")
check("good (connected, never announced) was activated by the sweep too",
      status_of("good") == "ACTIVE")

# 4. What is not ours is an error with a clear type; an invalid registration is not retried.
res, body = invoke({"hello": "world"})
check("an unknown shape is an /error jitrd.UnsupportedEvent",
      res and res["kind"] == "error"
      and res["headers"].get("lambda-runtime-function-error-type") == "jitrd.UnsupportedEvent"
      and body.get("errorType") == "jitrd.UnsupportedEvent", repr(res and res["headers"]))
res, body = invoke("this is not json")
check("a payload that is not JSON is an /error jitrd.InvalidJSON",
      res and res["kind"] == "error" and body.get("errorType") == "jitrd.InvalidJSON", repr(body))
res, body = invoke({"certificateId": "not-hex", "caCertificateId": ca1_id})
check("an invalid registration event is a normal response (never retried)",
      res and res["kind"] == "response" and body.get("decision") == "invalid", repr(body))
res, body = invoke(event("direct"))
check("the same event again is skip (idempotent)",
      res and res["kind"] == "response" and body.get("decision") == "skip", repr(body))

# 5. API failures are retried, and the answer still comes before Lambda's deadline.
for d in ("flaky1", "flaky2"):
    emu.connect(pem(d))
emu.post("/_emulator/faults", json.dumps({"error_rate": 1.0}).encode())
res, body = invoke(event("flaky1"), deadline_in_ms=3000)
check("a registration event failing on the API is an /error jitrd.Retry",
      res and res["kind"] == "error" and body.get("errorType") == "jitrd.Retry", repr(body))
check("... answered before the deadline", res and res["at_ms"] <= res["deadline_ms"],
      res and "%d ms late" % (res["at_ms"] - res["deadline_ms"]))
# m-bad first: the retries of flaky1 use up the time, and what is not started is retried too
flaky = {"Records": [dict(batch["Records"][0], messageId="m-bad", body="{}"),
                     dict(batch["Records"][0], messageId="m-flaky1", body=json.dumps(event("flaky1"))),
                     dict(batch["Records"][0], messageId="m-flaky2", body=json.dumps(event("flaky2")))]}
res, body = invoke(flaky, deadline_in_ms=4000)
check("an SQS batch during API failures retries the valid records, not the invalid one",
      res and body == {"batchItemFailures": [{"itemIdentifier": "m-flaky1"},
                                             {"itemIdentifier": "m-flaky2"}]}, repr(body))
check("... answered before the deadline", res and res["at_ms"] <= res["deadline_ms"],
      res and "%d ms late" % (res["at_ms"] - res["deadline_ms"]))
emu.post("/_emulator/faults", json.dumps({"error_rate": 0}).encode())
check("flaky1 and flaky2 stay PENDING_ACTIVATION",
      status_of("flaky1") == "PENDING_ACTIVATION" and status_of("flaky2") == "PENDING_ACTIVATION")

# 5b. A batch of 10 at 50 ms per API call: its records run at once ([lambda]
# batch_concurrency, 10 by default), so the batch takes about as long as one event. Seven
# activations, an invalid record, an unknown certificate and a deferred one (both retried).
for i in range(1, 9):
    emu.connect(pem("bench-%d" % i))
emu.post("/_emulator/faults", json.dumps({"latency_ms": 50}).encode())
res, body = invoke(event("bench-1"))
one_ms = res["billed_ms"] if res else 0
check("at 50 ms per call one event activates", res and body.get("decision") == "activate",
      repr(body))
wide = {"Records": [dict(batch["Records"][0], messageId="w-%d" % i,
                         body=json.dumps(event("bench-%d" % i))) for i in range(2, 9)]
        + [dict(batch["Records"][0], messageId="w-invalid", body='{"certificateId":"zz"}'),
           dict(batch["Records"][0], messageId="w-unknown", body=json.dumps(unknown)),
           dict(batch["Records"][0], messageId="w-deferred",
                body=json.dumps(event("deferred", ca2_id)))]}
res, body = invoke(wide)
batch_ms = res["billed_ms"] if res else 0
check("a batch of 10 names exactly the unknown and the deferred record",
      res and res["kind"] == "response"
      and sorted(f["itemIdentifier"] for f in body.get("batchItemFailures", []))
      == ["w-deferred", "w-unknown"], repr(body))
check("the batch's seven good devices are ACTIVE",
      all(status_of("bench-%d" % i) == "ACTIVE" for i in range(2, 9)))
# 10 one after another would be ~10x; the margin absorbs a loaded 2-core machine
check("the batch of 10 takes at most 2x one event (%.0f ms vs %.0f ms)" % (batch_ms, one_ms),
      res and batch_ms <= 2 * one_ms + 100, "")
emu.post("/_emulator/faults", json.dumps({"latency_ms": 0}).encode())

# 6. The protocol as a whole.
check("one keep-alive connection served every call", len(api.connections) == 1,
      str(len(api.connections)))
check("the stand-in noted no breach of the Runtime API", not api.problems, repr(api.problems))
api.close()
try:
    code = p.wait(timeout=15)
except subprocess.TimeoutExpired:
    code = None
check("bootstrap exits 1 when the Runtime API goes away", code == 1, repr(code))
p.log.seek(0)
lines = [ln for ln in p.log.read().splitlines() if ln.strip()]
decoded = []
for ln in lines:
    try:
        decoded.append(json.loads(ln))
    except ValueError:
        decoded.append(None)
check("every log line is JSON (CloudWatch)", lines and None not in decoded,
      repr([ln for ln, d in zip(lines, decoded) if d is None][:3]))
check("each decided event has its outcome line in the log",
      sum(1 for d in decoded if d and "decision" in d) >= 14,
      str(sum(1 for d in decoded if d and "decision" in d)))
check("the log never holds the secret or the session token",
      all(SECRET not in ln and TOKEN not in ln for ln in lines))


def emf_problems(doc):
    """What in doc breaks the CloudWatch Embedded Metric Format specification's required
    members: _aws.Timestamp (ms), CloudWatchMetrics directives with Namespace, Dimensions (sets
    of at most 9 names, each a top-level string) and Metrics (at most 100, each {Name, Unit}
    with a top-level number)."""
    out = []
    aws = doc.get("_aws")
    if not isinstance(aws, dict):
        return ["no _aws object"]
    ts = aws.get("Timestamp")
    if not isinstance(ts, int) or isinstance(ts, bool) or abs(ts - time.time() * 1000) > 3600e3:
        out.append("Timestamp not ms since the epoch: %r" % ts)
    cwm = aws.get("CloudWatchMetrics")
    if not isinstance(cwm, list) or not cwm:
        return out + ["CloudWatchMetrics not a non-empty array"]
    for d in cwm:
        ns = d.get("Namespace")
        if not isinstance(ns, str) or not 1 <= len(ns) <= 255:
            out.append("Namespace %r" % ns)
        dims = d.get("Dimensions")
        if not isinstance(dims, list):
            out.append("Dimensions not an array")
            dims = []
        for ds in dims:
            if not isinstance(ds, list) or len(ds) > 9:
                out.append("a dimension set over 9 or not an array: %r" % ds)
                continue
            for n in ds:
                if not isinstance(doc.get(n), str) or not 1 <= len(doc[n]) <= 1024:
                    out.append("dimension %r has no top-level string value" % n)
        metrics = d.get("Metrics")
        if not isinstance(metrics, list) or len(metrics) > 100:
            out.append("Metrics not an array of at most 100")
            metrics = []
        names = [m.get("Name") for m in metrics]
        if len(set(names)) != len(names):
            out.append("a metric named twice")
        for m in metrics:
            v = doc.get(m.get("Name"))
            if not isinstance(m.get("Name"), str) or not 1 <= len(m["Name"]) <= 255:
                out.append("metric name %r" % m.get("Name"))
            elif not isinstance(v, (int, float)) or isinstance(v, bool):
                out.append("metric %r has no top-level number" % m["Name"])
            if m.get("Unit") not in ("Count", "Milliseconds", "Seconds", "None"):
                out.append("metric %r unit %r" % (m.get("Name"), m.get("Unit")))
    return out


emf = [d for d in decoded if d and "_aws" in d]
outcomes = [d for d in decoded if d and "decision" in d and "_aws" not in d]
check("one EMF metrics line per invocation", len(emf) == len(api.results),
      "%d lines, %d invocations" % (len(emf), len(api.results)))
check("every EMF line has the specification's required members",
      all(not emf_problems(d) for d in emf), repr([emf_problems(d) for d in emf][:2]))
check("EMF namespace jitrd, dimension FunctionName",
      all(d["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "jitrd"
          and d["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["FunctionName"]]
          and d["FunctionName"] for d in emf))
check("the EMF events add up to the outcome lines",
      sum(d["Events"] for d in emf) == len(outcomes),
      "%d vs %d" % (sum(d["Events"] for d in emf), len(outcomes)))
check("... and so do the activations", sum(d["Decision_activate"] for d in emf)
      == sum(1 for d in outcomes if d["decision"] == "activate"))
check("the EMF lines count API calls and durations",
      sum(d["ApiCalls"] for d in emf) > 0 and all(d["Duration"] >= 0 for d in emf))
broken = json.loads(json.dumps(emf[0])) if emf else {}
broken.pop("Events", None)
check("the EMF check refuses a metric without its value", bool(emf_problems(broken)))

# --- broken configurations: /runtime/init/error, then a non-zero exit ---------------------------
for name, argv0, extra in [
        ("a CA directory that does not exist", "bootstrap", {"JITRD_CA_DIR": "/nonexistent/ca"}),
        ("a bad JITRD_* value", "bootstrap", {"JITRD_SERVICE_EVENT_DEADLINE_SECONDS": "soon"}),
        ("no credentials", "bootstrap", {"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "",
                                        "AWS_EC2_METADATA_DISABLED": "true"})]:
    api = RuntimeAPI()
    bp = start(api, argv0, **extra)
    err = api.wait_init_error(timeout=15)
    try:
        code = bp.wait(timeout=15)
    except subprocess.TimeoutExpired:
        code = None
    body = json.loads(err["body"]) if err else {}
    check("%s: /runtime/init/error (%s), exit 2, no /next" % (name, body.get("errorType")),
          err is not None and code == 2 and not api.next_times and not api.problems
          and body.get("errorType", "").startswith("jitrd."),
          "code=%r problems=%r body=%r" % (code, api.problems, body))
    api.close()

# `jitrd` with no command where AWS_LAMBDA_RUNTIME_API is set is the runtime too.
api = RuntimeAPI()
shutil.copy(os.path.join(task, "bootstrap"), os.path.join(task, "jitrd"))
bp = start(api, "jitrd", JITRD_CA_DIR="/nonexistent/ca")
err = api.wait_init_error(timeout=15)
try:
    code = bp.wait(timeout=15)
except subprocess.TimeoutExpired:
    code = None
check("jitrd with no command and AWS_LAMBDA_RUNTIME_API set runs the runtime",
      err is not None and code == 2, repr(code))
api.close()

cases.finish()
