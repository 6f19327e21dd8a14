#!/usr/bin/env python3
"""bench-lambda.py IOT_EMULATOR — cold start and peak memory of the packaged `bootstrap`, as
Lambda would start it (function.zip unpacked, env -i style environment, only lib/ on
LD_LIBRARY_PATH), against the Runtime API stand-in and iot-emulator:
  cold start = posix_spawn of bootstrap -> its first GET /invocation/next reaching the stand-in;
  peak RSS   = VmHWM of bootstrap after init (at that first /next) and after one registration
               event through the whole pipeline (activate: 6 API calls), at its second /next.
RUNS cold starts (default 20), median and max of each, next to the targets (<= 20 ms, <= 15 MB)
and Lambda's published init durations for Python and Node.js (80-140 ms). Also the part of the
cold start that is exec and dynamic loading alone (`bootstrap --help`, exit at once).
Exits 1 when a median misses its target in a build without sanitizers."""

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Emulator, cert_id, lambda_env, make_pki, package, registration_event  # noqa
from runtime_api import RuntimeAPI  # noqa: E402

RUNS = int(os.environ.get("RUNS", "20"))
TARGET_MS = 20.0
TARGET_MB = 15.0

emulator = os.path.abspath(sys.argv[1])
src = os.environ["JITRD_SOURCE_ROOT"]
build = os.environ["JITRD_BUILD_ROOT"]
work = tempfile.mkdtemp(prefix="jitrd-lambda-bench-")
emu = Emulator(emulator, work)
if not emu.url:
    print("the emulator did not start")
    sys.exit(1)


def vm_hwm_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return -1


def spawn(task, env, args=()):
    path = os.path.join(task, "bootstrap")
    return os.posix_spawn(path, [path] + list(args), env)


try:
    pki = make_pki(work, RUNS)
    emu.register_ca(pki, "ca1")
    ca_id = cert_id(os.path.join(pki, "ca", "ca1.pem"))
    task, _ = package(src, build, work)
    shutil.copytree(os.path.join(pki, "ca"), os.path.join(task, "ca"))
    shutil.copytree(os.path.join(pki, "crl"), os.path.join(task, "crl"))
    sanitized = b"__asan_init" in open(os.path.join(task, "bootstrap"), "rb").read()

    cold_ms, init_kb, event_kb, event_ms = [], [], [], []
    for i in range(1, RUNS + 1):
        device = os.path.join(pki, "devices", "bench-%d.pem" % i)
        emu.connect(device)
        api = RuntimeAPI()
        env = lambda_env(task, api.address, emu.url)
        t0 = time.monotonic_ns()
        pid = spawn(task, env)
        first = api.wait_next(1, timeout=20)
        if first is None:
            print("run %d: no /next within 20 s" % i)
            sys.exit(1)
        cold_ms.append((first - t0) / 1e6)
        init_kb.append(vm_hwm_kb(pid))
        rid = api.enqueue(registration_event(device, ca_id))
        res = api.wait_result(rid, timeout=30)
        api.wait_next(2, timeout=10)
        event_kb.append(vm_hwm_kb(pid))
        ok = res is not None and res["kind"] == "response" and b'"activate"' in res["body"]
        if not ok or api.problems:
            print("run %d: the event was not activated: %r %r" % (i, res, api.problems))
            sys.exit(1)
        api.close()
        os.waitpid(pid, 0)

    # exec + dynamic loading + exit, nothing else
    link_ms = []
    devnull = os.open(os.devnull, os.O_WRONLY)
    for _ in range(RUNS):
        t0 = time.monotonic_ns()
        pid = os.posix_spawn(os.path.join(task, "bootstrap"),
                             [os.path.join(task, "bootstrap"), "--help"],
                             {"LD_LIBRARY_PATH": os.path.join(task, "lib")},
                             file_actions=[(os.POSIX_SPAWN_DUP2, devnull, 1)])
        os.waitpid(pid, 0)
        link_ms.append((time.monotonic_ns() - t0) / 1e6)

    def row(name, values, unit, target=None):
        med, top = statistics.median(values), max(values)
        verdict = ""
        if target is not None:
            verdict = "  target <= %g %s: %s" % (target, unit, "met" if med <= target else "MISSED")
        print("%-44s median %7.2f %s   max %7.2f %s%s" % (name, med, unit, top, unit, verdict))
        return med

    print("bootstrap cold starts: %d%s" % (RUNS, " (sanitizer build: figures not comparable)"
                                            if sanitized else ""))
    med_ms = row("cold start (spawn -> first /next)", cold_ms, "ms", TARGET_MS)
    row("  of which exec + dynamic loading + exit", link_ms, "ms")
    med_init = row("peak RSS at the first /next", [k / 1024 for k in init_kb], "MB", TARGET_MB)
    med_event = row("peak RSS after one event (6 API calls)", [k / 1024 for k in event_kb], "MB",
                    TARGET_MB)
    print("Lambda's published init durations for Python and Node.js: 80-140 ms")
    missed = med_ms > TARGET_MS or med_init > TARGET_MB or med_event > TARGET_MB
    sys.exit(1 if missed and not sanitized else 0)
finally:
    emu.stop()
    if not os.environ.get("KEEP_WORK"):
        shutil.rmtree(work, ignore_errors=True)
