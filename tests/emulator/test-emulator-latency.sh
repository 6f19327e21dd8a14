#!/bin/sh
# test-emulator-latency.sh IOT_EMULATOR — the emulator's injected latency delays each request,
# not the emulator: 64 SigV4-signed requests (botocore signs them, as the AWS CLI v1 does) on
# 64 connections at once, with --latency-ms 50, each take at least 50 ms and all of them
# together well under 64 x 50 ms (a lock held while one request sleeps would serialise them).
# Loopback only; bounded waits; lib.sh (tests/integration) starts the emulator and stops it on
# exit, and skips (77) without its tools, as this test does without botocore.
EMULATOR=$1 JITRD=$1 # lib.sh resolves both; no jitrd runs here
SOURCE_ROOT=${JITRD_SOURCE_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
python3 -c 'import botocore.auth' 2>/dev/null || {
	echo "SKIP: botocore is not installed"
	exit 77
}
. "$SOURCE_ROOT/tests/integration/lib.sh"

start_emulator --latency-ms 50 || fatal "the emulator starts"
port=${emu_url##*:}

# CONCURRENCY LATENCY_MS BOUND_MS: exit 0 when every answer is a 200 that took at least
# LATENCY_MS and all of them came within BOUND_MS of the common start.
if timeout 60 python3 - "$port" $KEY_ID $SECRET 64 50 800 <<'PY'
import http.client, sys, threading, time
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

port, key_id, secret = int(sys.argv[1]), sys.argv[2], sys.argv[3]
count, latency_ms, bound_ms = int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
url = "http://127.0.0.1:%d/cacertificates" % port
creds = Credentials(key_id, secret)
barrier = threading.Barrier(count + 1)
results = [None] * count

def one(i):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.connect()  # connected before the start: only the requests are timed
    barrier.wait()
    req = AWSRequest(method="GET", url=url)
    SigV4Auth(creds, "iot", "us-east-1").add_auth(req)
    started = time.monotonic()
    try:
        conn.request("GET", "/cacertificates", headers=dict(req.headers.items()))
        answer = conn.getresponse()
        answer.read()
        results[i] = (answer.status, started, time.monotonic())
    except OSError as e:
        results[i] = (str(e), started, time.monotonic())
    conn.close()

threads = [threading.Thread(target=one, args=(i,)) for i in range(count)]
for t in threads:
    t.start()
barrier.wait()
start = time.monotonic()
for t in threads:
    t.join(30)
bad = [r for r in results if r is None or r[0] != 200]
shortest = min((r[2] - r[1]) * 1000 for r in results if r is not None)
whole = (max(r[2] for r in results if r is not None) - start) * 1000
print("# %d requests at %d ms each: %d not 200, shortest %.0f ms, all within %.0f ms "
      "(serialised: %d ms)" % (count, latency_ms, len(bad), shortest, whole,
                               count * latency_ms))
ok = not bad and shortest >= latency_ms and whole < bound_ms
sys.exit(0 if ok else 1)
PY
then
	ok "64 concurrent requests with 50 ms latency finish within 800 ms, each after >= 50 ms"
else
	not_ok "64 concurrent requests with 50 ms latency finish within 800 ms, each after >= 50 ms"
fi
