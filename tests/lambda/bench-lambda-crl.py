#!/usr/bin/env python3
"""bench-lambda-crl.py IOT_EMULATOR — the packaged bootstrap with a large CRL at a URL
(tests/aws/crl_server.py on loopback; JITRD_BENCH_CRL_ENTRIES entries, 100000 by default):
  init          = spawn -> first GET /invocation/next, the CRL fetched, verified and loaded,
                  against Lambda's 10 s init limit;
  refresh       = an invocation that finds the source due, fetches a newer CRL of the same
                  size, verifies it, swaps the snapshot and decides one event (6 API calls);
  peak RSS      = VmHWM of bootstrap after init and after the refresh (the memory to give
                  the function).
Exits 1 when a step fails (not on a figure)."""

import os
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Cases, cert_id, package, registration_event  # noqa: E402
from runtime_api import RuntimeAPI  # noqa: E402

entries = int(os.environ.get("JITRD_BENCH_CRL_ENTRIES", "100000"))
cases = Cases("jitrd-lambda-crl-bench-")
work, check = cases.work, cases.check
emu, pki = cases.emulator_and_pki(os.path.abspath(sys.argv[1]))
emu.register_ca(pki, "ca1")
ca1_id = cert_id(os.path.join(pki, "ca", "ca1.pem"))
ca_cnf = os.path.join(pki, "work", "ca1", "ca.cnf")
pub = os.path.join(work, "pub")
os.mkdir(pub)

# the large CRL: revoked entries written into the CA's index.txt, signed by openssl ca
t = time.monotonic()
with open(os.path.join(pki, "work", "ca1", "index.txt"), "a") as index:
    for i in range(entries):
        index.write("R\t450101000000Z\t250101000000Z,keyCompromise\t7%07X%08X\tunknown"
                    "\t/CN=r%d\n" % (i, i * 2654435761 % (1 << 32), i))


def publish(name):
    made = os.path.join(pki, name)
    subprocess.run(["openssl", "ca", "-batch", "-config", ca_cnf, "-gencrl", "-crldays", "7",
                    "-out", made], check=True, capture_output=True)
    os.replace(made, os.path.join(pub, "ca1.crl"))
    return os.path.getsize(os.path.join(pub, "ca1.crl"))


size = publish("big1.crl")
print("# a CRL of %d entries, %d bytes (PEM), made in %.1f s" % (entries, size,
                                                              time.monotonic() - t))
src = os.environ["JITRD_SOURCE_ROOT"]
server = subprocess.Popen([sys.executable, os.path.join(src, "tests", "aws", "crl_server.py"),
                           "--dir", pub, "--lifetime", "500"], stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL, text=True)
cases.procs.append(server)
port = int(server.stdout.readline().split()[1])
task, _ = package(src, os.environ["JITRD_BUILD_ROOT"], work)
subprocess.run(["cp", "-r", os.path.join(pki, "ca"), os.path.join(task, "ca")], check=True)
for d in ("good", "direct"):
    emu.connect(os.path.join(pki, "devices", d + ".pem"))


def vm_hwm_mb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return -1.0


api = RuntimeAPI()
cases.closers.append(api.close)
os.makedirs(os.path.join(work, "tmp"), mode=0o700)
t = time.monotonic_ns()
p = cases.bootstrap(task, api, emu.url, TMPDIR=os.path.join(work, "tmp"),
                    JITRD_CRL_URL="http://127.0.0.1:%d/files/ca1.crl" % port,
                    JITRD_CRL_REFRESH_SECONDS="1", JITRD_CRL_FETCH_TIMEOUT_SECONDS="60")
first = api.wait_next(1, timeout=120)
check("bootstrap starts on the fetched CRL", first is not None)
if first is None:
    cases.give_up("no /next")
init_ms = (first - t) / 1e6
hwm_init = vm_hwm_mb(p.pid)


def invoke(name):
    rid = api.enqueue(registration_event(os.path.join(pki, "devices", name + ".pem"), ca1_id),
                      deadline_in_ms=60000)
    return api.wait_result(rid, timeout=90)


res = invoke("good")
check("an event is decided on it (activate)", res and b'"activate"' in res["body"])
publish("big2.crl")
time.sleep(2)  # refresh_seconds 1: the source is due again
t = time.monotonic_ns()
res = invoke("direct")
refresh_ms = (time.monotonic_ns() - t) / 1e6
check("the next invocation fetched the newer CRL, swapped and decided",
      res and b'"activate"' in res["body"])
api.wait_next(3, timeout=30)
hwm_after = vm_hwm_mb(p.pid)
p.log.seek(0)
reloads = p.log.read().count('"event":"reload.ok"')
check("two swaps (init and the invocation)", reloads == 2, str(reloads))
print("# init (spawn -> first /next, fetch + verify + load of %d entries): %.0f ms "
      "(Lambda's limit 10000 ms)" % (entries, init_ms))
print("# invocation with a due refresh (fetch + verify + swap + one event): %.0f ms"
      % refresh_ms)
print("# peak RSS: %.1f MB after init, %.1f MB after the refresh" % (hwm_init, hwm_after))
cases.finish()
