#!/usr/bin/env python3
"""test-lambda-crl.py IOT_EMULATOR — CRLs kept current by `jitrd lambda`: function.zip from
deploy/lambda/package.sh with NO crl/, the CA's CRL published by a real HTTP server on loopback
(tests/aws/crl_server.py: ETag, Last-Modified, 304), bootstrap run as Lambda runs it (env -i,
the Runtime API stand-in, iot-emulator). Four execution environments:
  1. the CRL is fetched at init into $TMPDIR/jitrd/crl-cache and decides (activate, revoke);
     no fetch while it is current; the CA publishes a newer CRL listing another device, the
     first one expires, and the next invocation fetches it and revokes that device, with the
     same process and no new package;
  2. the server is down at init: bootstrap starts all the same, and the CA's devices are
     deferred (SQS batchItemFailures, jitrd.Retry), not decided;
  3. a source that never answers: init stays within its bound, an invocation gives the fetch
     at most a third of its time and answers before its deadline, and one too short for a
     fetch does not try;
  4. distribution_points = all: a device deferred for want of a CRL hands its certificate's
     CRL Distribution Point over, and the retry of its event finds the CRL fetched.
Loopback only; every process stopped and the work directory removed on exit.
Prints "CASES <passed> <failed>"."""

import calendar
import glob
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (ACCOUNT, Cases, cert_id, package,  # noqa: E402
                     registration_event)
from runtime_api import RuntimeAPI, free_port  # noqa: E402

src = os.environ["JITRD_SOURCE_ROOT"]
build = os.environ["JITRD_BUILD_ROOT"]
cases = Cases("jitrd-lambda-crl-")
work, procs, check, give_up = cases.work, cases.procs, cases.check, cases.give_up


# --- the PKI, the emulator, the publication point, the package ---------------------------------
emu, pki = cases.emulator_and_pki(os.path.abspath(sys.argv[1]))
ca_cnf = os.path.join(pki, "work", "ca1", "ca.cnf")
ca1_id = cert_id(os.path.join(pki, "ca", "ca1.pem"))
emu.register_ca(pki, "ca1")
pub = os.path.join(work, "pub")
os.mkdir(pub)


def pem(name):
    return os.path.join(pki, "devices", name + ".pem")


def status_of(name):
    return emu.status_of(cert_id(pem(name)))


def openssl_ca(*args):
    subprocess.run(["openssl", "ca", "-batch", "-config", ca_cnf] + list(args), check=True,
                   capture_output=True)


def publish(name, *validity):
    """A CRL of ca1 (its next number, listing what the CA revoked) at /files/ca1.crl,
    replaced atomically. Returns its nextUpdate (epoch seconds)."""
    made = os.path.join(pki, name)
    openssl_ca("-gencrl", *validity, "-out", made)
    out = subprocess.run(["openssl", "crl", "-in", made, "-noout", "-nextupdate"], check=True,
                         capture_output=True, text=True).stdout.strip().split("=", 1)[1]
    shutil.copy(made, os.path.join(pub, ".next"))
    os.rename(os.path.join(pub, ".next"), os.path.join(pub, "ca1.crl"))
    return calendar.timegm(time.strptime(out, "%b %d %H:%M:%S %Y GMT"))


server_out = open(os.path.join(work, "crl-server.out"), "a+")  # appended while read
server_log = open(os.path.join(work, "crl-server.log"), "a+")  # appended while read
server = subprocess.Popen([sys.executable, os.path.join(src, "tests", "aws", "crl_server.py"),
                           "--dir", pub, "--lifetime", "240"], stdout=server_out,
                          stderr=server_log)
procs.append(server)
port = None
for _ in range(100):
    server_out.seek(0)
    words = server_out.read().split()
    if len(words) >= 2 and words[0] == "PORT":
        port = int(words[1])
        break
    time.sleep(0.1)
if not port:
    give_up("crl_server.py did not start")
crl_url = "http://127.0.0.1:%d/files/ca1.crl" % port


def served(status):
    """How many GETs of the CRL the server answered with status."""
    server_log.seek(0)
    return server_log.read().count('"GET /files/ca1.crl HTTP/1.1" %d' % status)


task, infos = package(src, build, work)
check("the zip holds no crl/ (the CRLs come from the URL)",
      not any(i.filename.startswith("crl/") for i in infos))
shutil.copytree(os.path.join(pki, "ca"), os.path.join(task, "ca"))


def start(tmpdir, **extra):
    """bootstrap with its own TMPDIR (Lambda's /tmp) and Runtime API (p.api)."""
    api = RuntimeAPI()
    cases.closers.append(api.close)
    os.makedirs(tmpdir, mode=0o700)
    p = cases.bootstrap(task, api, emu.url, TMPDIR=tmpdir, **extra)
    p.api = api
    return p


def log_docs(p):
    """The JSON lines bootstrap wrote (every line is one: test-lambda.py checks it)."""
    p.log.seek(0)
    for line in p.log.read().splitlines():
        try:
            yield json.loads(line)
        except ValueError:
            continue


def log_lines(p, event):
    return [doc for doc in log_docs(p) if doc.get("event") == event]


def outcome(p, name):
    """The decision of the last outcome line for device name."""
    want = cert_id(pem(name))
    decisions = [doc["decision"] for doc in log_docs(p)
                 if doc.get("certificateId") == want and "decision" in doc]
    return decisions[-1] if decisions else None


def invoke(p, payload, deadline_in_ms=30000):
    rid = p.api.enqueue(payload, deadline_in_ms=deadline_in_ms)
    res = p.api.wait_result(rid, timeout=deadline_in_ms / 1000 + 20)
    if res is None:
        return None, None
    try:
        return res, json.loads(res["body"])
    except ValueError:
        return res, None


def event(name):
    return registration_event(pem(name), ca1_id)


def sqs(*names):
    records = []
    for n in names:
        body = json.dumps(event(n))
        records.append({"messageId": "m-" + n, "receiptHandle": "rh-" + n, "body": body,
                        "attributes": {"ApproximateReceiveCount": "1"},
                        "messageAttributes": {},
                        "md5OfBody": hashlib.md5(body.encode()).hexdigest(),
                        "eventSource": "aws:sqs",
                        "eventSourceARN": "arn:aws:sqs:us-east-1:%s:jitrd" % ACCOUNT,
                        "awsRegion": "us-east-1"})
    return {"Records": records}


def cache_meta(tmpdir):
    metas = glob.glob(os.path.join(tmpdir, "jitrd", "crl-cache", "*.json"))
    if len(metas) != 1:
        return None
    with open(metas[0]) as f:
        return json.load(f)


for d in ("good", "revoked", "direct", "sqs-good", "pending", "flaky1", "flaky2"):
    emu.connect(pem(d))

# --- 1. fetched at init, refreshed when it expires, no new package ------------------------------
# Valid 30 s: the schedule (crl_schedule.h) fetches a source again at 80% of its CRL's
# validity, but never sooner than 30 s after the last attempt, so the next fetch is due about
# when this CRL expires; refresh_seconds stays at its default (3600).
first_next = publish("first.crl", "-crlsec", "30")  # lists "revoked" (make-pki.sh)
tmp1 = os.path.join(work, "tmp1")
p = start(tmp1, JITRD_CRL_URL=crl_url, JITRD_CRL_FETCH_TIMEOUT_SECONDS="5")
if p.api.wait_next(1, timeout=20) is None:
    p.log.seek(0)
    give_up("bootstrap never asked for an invocation: " + p.log.read()[-2000:])
init_done = time.time()
meta = cache_meta(tmp1)
check("init fetched the CRL into $TMPDIR/jitrd/crl-cache (the Lambda default state_dir)",
      meta is not None and meta.get("url") == crl_url and meta.get("ca") == ca1_id, repr(meta))
first_number = meta.get("crl_number") if meta else None
check("the cache directory is private (0700)",
      os.stat(os.path.join(tmp1, "jitrd", "crl-cache")).st_mode & 0o777 == 0o700)
check("one GET at init, answered 200", served(200) == 1 and served(304) == 0,
      "200=%d 304=%d" % (served(200), served(304)))
check("init logged the fetch (new) and the swap (reload.ok crl-fetch-init)",
      [d.get("outcome") for d in log_lines(p, "crl.fetch")] == ["new"]
      and [d.get("trigger") for d in log_lines(p, "reload.ok")] == ["crl-fetch-init"],
      repr(log_lines(p, "crl.fetch") + log_lines(p, "reload.ok")))
res, body = invoke(p, event("good"))
check("good is activated on the fetched CRL (the zip has none)",
      body and body.get("decision") == "activate" and status_of("good") == "ACTIVE", repr(body))
res, body = invoke(p, event("revoked"))
check("revoked, listed in the fetched CRL, is revoked",
      body and body.get("decision") == "revoke" and status_of("revoked") == "REVOKED",
      repr(body))
check("no fetch while the CRL is current (still one GET)", served(200) + served(304) == 1,
      "200=%d 304=%d" % (served(200), served(304)))

# The CA revokes sqs-good and publishes a newer CRL; the first one then expires.
openssl_ca("-revoke", pem("sqs-good"), "-crl_reason", "keyCompromise")
publish("second.crl", "-crldays", "30")
time.sleep(max(0, max(first_next, init_done + 30) - time.time()) + 1.5)
res, body = invoke(p, event("sqs-good"))
check("after the first CRL expired, the next invocation fetched the new one and revoked "
      "sqs-good", body and body.get("decision") == "revoke"
      and status_of("sqs-good") == "REVOKED", repr(body))
meta = cache_meta(tmp1)
check("the cache holds the newer CRL (number %s -> %s)" % (first_number,
                                                          meta and meta.get("crl_number")),
      meta and first_number is not None and meta.get("crl_number") == first_number + 1)
check("the new CRL cost one more 200", served(200) == 2, "200=%d" % served(200))
check("the snapshot was swapped within the invocation (reload.ok crl-fetch)",
      [d.get("trigger") for d in log_lines(p, "reload.ok")] == ["crl-fetch-init", "crl-fetch"])
res, body = invoke(p, event("direct"))
check("direct is still activated on the new CRL",
      body and body.get("decision") == "activate" and status_of("direct") == "ACTIVE", repr(body))
check("the same process served every invocation (no restart, no new package)",
      p.api.wait_next(5, timeout=10) is not None and p.poll() is None,
      "%r %d" % (p.poll(), len(p.api.next_times)))
check("the Runtime API stand-in noted no breach", not p.api.problems, repr(p.api.problems))

# --- 2. the server down at init: not fatal, the CA's devices deferred ---------------------------
tmp2 = os.path.join(work, "tmp2")
down = "http://127.0.0.1:%d/files/ca1.crl" % free_port()
p2 = start(tmp2, JITRD_CRL_URL=down, JITRD_CRL_FETCH_TIMEOUT_SECONDS="5")
check("with the server down, bootstrap still starts (asks for an invocation, no init error)",
      p2.api.wait_next(1, timeout=20) is not None and not p2.api.init_errors
      and p2.poll() is None)
check("the failed fetch is logged",
      [d.get("outcome") for d in log_lines(p2, "crl.fetch")] == ["failed"],
      repr(log_lines(p2, "crl.fetch")))
res, body = invoke(p2, sqs("pending", "flaky1"))
check("an SQS batch of the CA's devices: both records left for SQS to retry",
      body and sorted(f["itemIdentifier"] for f in body.get("batchItemFailures", []))
      == ["m-flaky1", "m-pending"], repr(body))
check("... their decision is defer",
      outcome(p2, "pending") == "defer" and outcome(p2, "flaky1") == "defer",
      "%r %r" % (outcome(p2, "pending"), outcome(p2, "flaky1")))
res, body = invoke(p2, event("flaky2"))
check("a registration event of the CA: an error reply jitrd.Retry (Lambda retries it)",
      res and res["kind"] == "error" and body.get("errorType") == "jitrd.Retry"
      and "defer" in body.get("errorMessage", ""), repr(body))
check("the devices stay PENDING_ACTIVATION",
      all(status_of(d) == "PENDING_ACTIVATION" for d in ("pending", "flaky1", "flaky2")))
check("bootstrap is still running, no breach", p2.poll() is None and not p2.api.problems,
      repr(p2.api.problems))

# --- 3. a source that never answers: init and invocations keep their bounds ---------------------
tmp3 = os.path.join(work, "tmp3")
hang = "http://127.0.0.1:%d/hang" % port
t0 = time.monotonic()
p3 = start(tmp3, JITRD_CRL_URL=hang, JITRD_CRL_FETCH_TIMEOUT_SECONDS="30")
ready = p3.api.wait_next(1, timeout=30)
init_s = (ready / 1e9 - t0) if ready else None
check("init with a hanging source ends within the init fetch bound (4 s) plus the start "
      "(%.1f s)" % (init_s or -1), init_s is not None and 3.5 <= init_s <= 8.0)
time.sleep(3)  # past the first retry's backoff (at most 2 s): the source is due again
res, body = invoke(p3, sqs("flaky2"), deadline_in_ms=6000)
took = res and res["at_ms"] - (res["deadline_ms"] - 6000)
check("an invocation with 6 s gives the due fetch its third (~1.8 s), then the record, and "
      "answers before the deadline (%s ms)" % took,
      res and res["at_ms"] <= res["deadline_ms"] and 1500 <= took <= 4500
      and body == {"batchItemFailures": [{"itemIdentifier": "m-flaky2"}]}, repr(body))
check("... the fetch was tried twice in all and failed",
      [d.get("outcome") for d in log_lines(p3, "crl.fetch")] == ["failed", "failed"],
      repr(log_lines(p3, "crl.fetch")))
time.sleep(3)
res, body = invoke(p3, sqs("flaky2"), deadline_in_ms=2500)
took = res and res["at_ms"] - (res["deadline_ms"] - 2500)
check("an invocation too short for a fetch (2.5 s) does not try one and answers at once "
      "(%s ms)" % took, res and took < 1000
      and len(log_lines(p3, "crl.fetch")) == 2, repr(body))
check("bootstrap is still running, no breach", p3.poll() is None and not p3.api.problems,
      repr(p3.api.problems))

# --- 4. distribution_points = all: a device's CRL Distribution Point becomes a source ------------
def issue_with_point(name, url):
    """A device of ca1 whose certificate names url as its CRL Distribution Point."""
    key = os.path.join(pki, "keys", "dev-%s.key" % name)
    csr = os.path.join(pki, "work", name + ".csr")
    ext = os.path.join(pki, "work", name + ".ext")
    subprocess.run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-out", key], check=True, capture_output=True)
    subprocess.run(["openssl", "req", "-new", "-key", key, "-subj", "/O=Example/CN=device-" + name,
                    "-out", csr], check=True, capture_output=True)
    with open(ext, "w") as f:
        f.write("[dp]\nbasicConstraints = critical, CA:FALSE\n"
                "keyUsage = critical, digitalSignature\nextendedKeyUsage = clientAuth\n"
                "subjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n"
                "crlDistributionPoints = URI:%s\n" % url)
    openssl_ca("-in", csr, "-extfile", ext, "-extensions", "dp", "-days", "30", "-out", pem(name))


issue_with_point("pointed", crl_url)
emu.connect(pem("pointed"))
tmp4 = os.path.join(work, "tmp4")
p4 = start(tmp4, JITRD_CRL_DISTRIBUTION_POINTS="all")
check("with distribution_points = all and no URL, bootstrap starts with no source fetched",
      p4.api.wait_next(1, timeout=20) is not None and not log_lines(p4, "crl.fetch"))
res, body = invoke(p4, event("pointed"))
check("a device whose CA has no CRL yet: deferred (jitrd.Retry)",
      res and res["kind"] == "error" and body.get("errorType") == "jitrd.Retry", repr(body))
res, body = invoke(p4, event("pointed"))
check("its retry: the device's distribution point was fetched before the events, and the "
      "device is activated", body and body.get("decision") == "activate"
      and status_of("pointed") == "ACTIVE", repr(body))
check("... the fetch is logged with the device's URL (outcome new)",
      [(d.get("url"), d.get("outcome")) for d in log_lines(p4, "crl.fetch")]
      == [(crl_url, "new")], repr(log_lines(p4, "crl.fetch")))

cases.finish()
