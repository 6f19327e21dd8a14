#!/bin/sh
# bench-run.sh JITRD EMULATOR — `jitrd run` against iot-emulator, the service benchmarks: devices
# registering at once, a shared policy (jitrd-device, policies/default.json), no Thing.
#   1. no added latency, 2,000 devices: events/s (target >= 2,000/s), CPU per event of jitrd
#      (target <= 0.4 ms; anchor: botocore making the same three calls, anchor-botocore.py),
#      the emulator and mosquitto; API calls per device (3, the listing and CreatePolicy
#      included: <= 3.01) and outcome lines (skips: events that joined an open row);
#   2. --latency-ms 50 and 64 workers: events/s (target >= 90% of 64 / (3 calls x 50 ms));
#   3. emulator and jitrd rate limits of 50/s per operation, 500 devices: achieved/allowed rate
#      (target >= 0.95) and throttled calls (target <= 1%);
#   4. jitrd's resident memory idle (ready, no events) and its peak under load.
# The connect path (/_emulator/connect, ~100-150/s) would otherwise be what is measured, so the
# events are queued first: jitrd starts once to create its persistent session and stops, every
# device connects (mosquitto keeps the QoS 1 events for the session), then jitrd starts again
# and the clock runs from its MQTT connection to the last ACTIVE outcome line.
# Fails when a step fails or a device does not end ACTIVE; missed targets are reported (and fail
# too with JITRD_BENCH_STRICT=1). Knobs: JITRD_BENCH_DEVICES and JITRD_BENCH_LIMITED_DEVICES
# (2000, 500), JITRD_BENCH_WORKERS (case 1, 4), JITRD_BENCH_CASES ("1 2 3"), JITRD_BENCH_ATTACH
# (a command given jitrd's PID in case 1, stopped by SIGINT at its end: 'perf record -g -p'),
# JITRD_BENCH_CACHE (a directory: the PKI and devices are made once, kept there and reused, so
# that runs compared back to back do not each spend minutes signing certificates),
# JITRD_BENCH_KEEP (a directory: each case's jitrd log is copied there, for a timeline).
# Every wait is bounded; lib.sh stops everything and removes its temp dir, also on failure.
JITRD=$1 EMULATOR=$2
SOURCE_ROOT=${JITRD_SOURCE_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$(dirname "$0")/../integration/lib.sh"

count=${JITRD_BENCH_DEVICES:-2000}
limited=${JITRD_BENCH_LIMITED_DEVICES:-500}
strict=${JITRD_BENCH_STRICT:-0}
cases=${JITRD_BENCH_CASES:-1 2 3}
workers=${JITRD_BENCH_WORKERS:-4} # case 1
attach=${JITRD_BENCH_ATTACH:-}
cache=${JITRD_BENCH_CACHE:-}
keep=${JITRD_BENCH_KEEP:-}
attach_pid=""
anchor_devices=$((count < 300 ? count : 300))
# Debian's python3, whose awscli package carries botocore; another python3 on PATH may not
anchor_python=$( [ -x /usr/bin/python3 ] && echo /usr/bin/python3 || echo python3)
allowed=50 # requests/s of each operation in case 3
latency=50
results=$work/results
: >"$results"
[ "$limited" -le "$count" ] || fatal "JITRD_BENCH_LIMITED_DEVICES <= JITRD_BENCH_DEVICES"

# --- devices: bench-1..count, signed in parallel, and their certificate ids in order ----------
# (sh -c, one device each: its certificate and the SHA-256 of its DER, the certificate id)
sign_one='p=$0/pki d=$0/devices/bench-$1
	openssl x509 -req -in "$p/bench.csr" -CA "$0/ca/device-ca.pem" -CAkey "$p/ca.key" \
		-set_serial "0x$(openssl rand -hex 12)" -days 365 -extfile "$p/device.ext" \
		-out "$d.pem" 2>/dev/null &&
		openssl x509 -in "$d.pem" -outform DER | sha256sum | cut -c1-64 >"$d.id"'
make_devices() {
	openssl req -new -key "$work/pki/device.key" -subj "/O=Test Fleet/CN=bench" \
		-out "$work/pki/bench.csr" 2>/dev/null || return 1
	seq 1 "$count" | xargs -P "$(nproc)" -n 1 sh -c "$sign_one" "$work" || return 1
	for n in $(seq 1 "$count"); do cat "$work/devices/bench-$n.id"; done >"$work/ids-bench-$count"
	# (the same file when both counts are equal)
	[ "$limited" -eq "$count" ] ||
		head -n "$limited" "$work/ids-bench-$count" >"$work/ids-bench-$limited"
	[ "$(wc -l <"$work/ids-bench-$count")" -eq "$count" ]
}

# --- measurements ------------------------------------------------------------------------
cpu_ticks() { # PID: utime + stime in clock ticks (fields 14, 15 after the command name)
	sed 's/^.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'
}
status_kb() { # PID FIELD: VmRSS or VmHWM in kB
	awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"
}
decisions() { # DECISION: outcome lines with it in the current log ("" for any decision)
	lines=$(grep -c "\"decision\":\"$1" "$work/jitrd.log" 2>/dev/null)
	echo "${lines:-0}"
}
# The run ends at the last activate: skips (an event that joined an open row) are not work
# done, and counting them would stop the clock and the counters early.
outcomes() { decisions activate; }
outcomes_at_least() { [ "$(outcomes)" -ge "$1" ]; }
state_number() { # JQ-PATH: a number from the emulator's state, 0 when absent
	state
	jq -r "($1) // 0" "$work/state.json"
}
operation_calls() { state_number '[.counters.operations[]] | add'; }
throttled_calls() { state_number '.counters.errors.ThrottlingException'; }
record() { # CASE FIGURE VALUE TARGET VERDICT
	printf '%s\t%s\t%s\t%s\t%s\n' "$@" >>"$results"
}
verdict() { # VALUE OP BOUND: "met" or "MISSED"
	if awk -v v="$1" -v b="$3" -v op="$2" 'BEGIN {
		exit !((op == ">=" && v >= b) || (op == "<=" && v <= b)) }'; then
		echo met
	else
		echo MISSED
	fi
}

# log_times: from jitrd's log, "connected first_outcome last_active_outcome" as seconds of the
# day (the log's RFC 3339 times have milliseconds)
log_times() {
	python3 - "$work/jitrd.log" <<'PY'
import json, sys
def secs(t):
    h, m, s = t[11:23].split(":")
    return int(h) * 3600 + int(m) * 60 + float(s)
connected = first = last = None
for line in open(sys.argv[1]):
    try:
        o = json.loads(line)
    except ValueError:
        continue
    t = secs(o["time"])
    if connected is None and o.get("event") == "mqtt.connected":
        connected = t
    if "decision" in o:
        first = t if first is None else first
        if o.get("status") == "ACTIVE" or o.get("decision") == "activate":
            last = t
def fix(t):  # across midnight
    return t if t is None or connected is None or t >= connected else t + 86400
print(connected, fix(first), fix(last))
PY
}

reset_peers() {
	[ -z "$jitrd_pid" ] || stop_jitrd TERM
	kill "$emu_pid" 2>/dev/null
	wait "$emu_pid" 2>/dev/null
	emu_pid=""
	stop_mosquitto
	rm -rf "$work/state" "$work/mosquitto" "$work/jitrd.log"
	mq_tls="" mq_plain="" status_port=""
}

# run_case NAME DEVICES WORKERS LIMIT [EMULATOR OPTIONS...]: leaves in $work/case.env the
# figures of one run (shell assignments). Its variables are case_*: lib.sh's helpers set
# globals such as name, n and limit.
run_case() {
	case_name=$1 case_n=$2 case_workers=$3 case_limit=$4
	shift 4
	reset_peers
	start_mosquitto || { not_ok "$case_name: mosquitto starts"; return 1; }
	start_emulator "$@" || { not_ok "$case_name: emulator starts"; return 1; }
	register_ca "$work/ca/device-ca.pem" "$work/pki/ca.key" ||
		{ not_ok "$case_name: device CA registered"; return 1; }
	WORKERS=$case_workers LIMIT=$case_limit RECONCILE_SECONDS=0 DEADLINE_SECONDS=120 write_config

	# the persistent session, and jitrd idle
	start_jitrd || { not_ok "$case_name: jitrd starts (session)"; return 1; }
	sleep 1
	idle_rss=$(status_kb "$jitrd_pid" VmRSS)
	startup_ticks=$(cpu_ticks "$jitrd_pid")
	stop_jitrd TERM || { not_ok "$case_name: jitrd exits 0 (session)"; return 1; }
	mv "$work/jitrd.log" "$work/jitrd-$case_name-session.log"

	# every device connects while jitrd is away: the broker queues the events
	t0=$(date +%s.%N)
	connected=$(seq 1 "$case_n" | xargs -P 16 -I{} curl -s --max-time 60 -o /dev/null \
		-w '%{http_code}\n' -X POST --data-binary @"$work/devices/bench-{}.pem" \
		"$emu_url/_emulator/connect" | grep -c '^200$')
	t1=$(date +%s.%N)
	echo "# $case_name: $connected of $case_n devices connected in $(awk -v a="$t0" -v b="$t1" \
		'BEGIN { printf "%.1f", b - a }') s (jitrd stopped)"
	[ "$connected" -eq "$case_n" ] || { not_ok "$case_name: all $case_n devices connect"; return 1; }

	emu_before=$(cpu_ticks "$emu_pid")
	mq_before=$(cpu_ticks "$mq_pid")
	calls_before=$(operation_calls)
	throttled_before=$(throttled_calls)
	start_jitrd || { not_ok "$case_name: jitrd starts (measured)"; return 1; }
	if [ -n "$attach" ] && [ "$case_name" = no-latency ]; then
		$attach "$jitrd_pid" >"$work/attach.out" 2>&1 &
		attach_pid=$!
		burst_pid=$attach_pid # lib.sh's cleanup stops it
	fi
	if ! wait_until 300 outcomes_at_least "$case_n"; then
		not_ok "$case_name: $case_n activate outcomes within 300 s ($(outcomes) seen)"
		return 1
	fi
	jitrd_ticks=$(cpu_ticks "$jitrd_pid")
	if [ -n "$attach_pid" ]; then
		kill -INT "$attach_pid" 2>/dev/null
		wait "$attach_pid"
		attach_pid="" burst_pid=""
	fi
	load_rss=$(status_kb "$jitrd_pid" VmRSS)
	peak_rss=$(status_kb "$jitrd_pid" VmHWM)
	emu_after=$(cpu_ticks "$emu_pid")
	mq_after=$(cpu_ticks "$mq_pid")
	calls_after=$(operation_calls)
	throttled_after=$(throttled_calls)
	active=$(count_status bench "$case_n" ACTIVE)
	if [ "$active" -eq "$case_n" ]; then ok "$case_name: all $case_n devices ACTIVE"; else
		not_ok "$case_name: all $case_n devices ACTIVE ($active)"
		return 1
	fi
	lines=$(decisions "")
	skips=$(decisions skip)
	stop_jitrd TERM || not_ok "$case_name: jitrd exits 0"
	# shellcheck disable=SC2046
	set -- $(log_times)
	hz=$(getconf CLK_TCK)
	awk -v n="$case_n" -v c="$1" -v f="$2" -v l="$3" -v hz="$hz" -v ju="$jitrd_ticks" \
		-v js="$startup_ticks" -v eb="$emu_before" -v ea="$emu_after" -v mb="$mq_before" \
		-v ma="$mq_after" -v cb="$calls_before" -v ca="$calls_after" \
		-v tb="$throttled_before" -v ta="$throttled_after" -v ir="$idle_rss" \
		-v lr="$load_rss" -v pr="$peak_rss" -v ol="$lines" -v os="$skips" 'BEGIN {
		span = l - c
		printf "span=%.3f\nrate=%.1f\nfirst_rate=%.1f\n", span, n / span, (n - 1) / (l - f)
		printf "jitrd_ms=%.3f\n", (ju - js) * 1000 / hz / n
		printf "jitrd_total_s=%.2f\nstartup_s=%.2f\n", ju / hz, js / hz
		printf "emu_ms=%.3f\nmq_ms=%.3f\n", (ea - eb) * 1000 / hz / n, (ma - mb) * 1000 / hz / n
		calls = ca - cb
		pct = calls > 0 ? (ta - tb) * 100 / calls : 0
		printf "calls=%d\nthrottled=%d\nthrottled_pct=%.2f\n", calls, ta - tb, pct
		printf "calls_per_device=%.3f\noutcome_lines=%d\nskips=%d\n", calls / n, ol, os
		printf "idle_mb=%.1f\nload_mb=%.1f\npeak_mb=%.1f\n", ir / 1024, lr / 1024, pr / 1024
	}' >"$work/case.env"
	sed "s/^/# $case_name: /" "$work/case.env" | tr '\n' ' ' | sed 's/ # [^:]*:/,/g'
	echo
	cp "$work/jitrd.log" "$work/jitrd-$case_name.log"
	[ -z "$keep" ] || { mkdir -p "$keep" && cp "$work/jitrd.log" "$keep/jitrd-$case_name.log"; } ||
		not_ok "$case_name: jitrd log kept in $keep"
}

# The PKI and devices, from JITRD_BENCH_CACHE when it has them for this count (the OpenSSL CA's
# config names the work directory, so only what the cases read is kept: no CRL is made there).
cached="pki ca crl devices ids-bench-$count ids-bench-$limited"
if [ -n "$cache" ] && [ -s "$cache/ids-bench-$count" ] && [ -s "$cache/ids-bench-$limited" ]; then
	(cd "$cache" && cp -R $cached "$work/") || fatal "PKI and $count devices from $cache"
else
	make_pki && make_devices && gencrl || fatal "PKI and $count devices"
	if [ -n "$cache" ]; then
		mkdir -p "$cache" && (cd "$work" && cp -R $cached "$cache/") ||
			fatal "PKI and $count devices kept in $cache"
	fi
fi
ok "PKI and $count device certificates"

want() { case " $cases " in *" $1 "*) return 0 ;; esac; return 1; }

# 1. no added latency
if want 1 && run_case no-latency "$count" "$workers" 10000; then
	. "$work/case.env"
	c="1. $count devices, no latency, $workers workers"
	record "$c" "events/s (MQTT connect to last ACTIVE)" "$rate" ">= 2000" \
		"$(verdict "$rate" ">=" 2000)"
	record "$c" "  span (s)" "$span" "" ""
	record "$c" "jitrd CPU per event (ms)" "$jitrd_ms" "<= 0.4" \
		"$(verdict "$jitrd_ms" "<=" 0.4)"
	# the anchor, in the same run against the same emulator: botocore (boto3's and the AWS
	# CLI's core) making the same three calls per device, one device after another
	if anchor=$(AWS_ACCESS_KEY_ID=$KEY_ID AWS_SECRET_ACCESS_KEY=$SECRET "$anchor_python" \
		"$SOURCE_ROOT/tests/bench/anchor-botocore.py" "$emu_url" "$REGION" \
		"$work/ids-bench-$count" "$anchor_devices" jitrd-device 2>"$work/anchor.err"); then
		eval "$anchor"
		record "$c" "  anchor: botocore, same 3 calls (ms)" "$botocore_ms" "" ""
	else
		echo "# botocore anchor not measured: $(tail -n 1 "$work/anchor.err")"
	fi
	# describe, update, attach; the sweep's listing and the one CreatePolicy are included
	record "$c" "API calls per device" "$calls_per_device" "<= 3.01" \
		"$(verdict "$calls_per_device" "<=" 3.01)"
	record "$c" "  outcome lines (skips)" "$outcome_lines ($skips)" "" ""
	record "$c" "  jitrd start-up CPU (s), not included" "$startup_s" "" ""
	record "$c" "emulator CPU per event (ms)" "$emu_ms" "report" ""
	record "$c" "mosquitto CPU per event (ms)" "$mq_ms" "report" ""
	record "4. memory" "jitrd VmRSS idle (MB)" "$idle_mb" "report" ""
	record "4. memory" "jitrd VmHWM, $count events, $workers workers (MB)" "$peak_mb" "report" ""
fi

# 2. 50 ms per API call, 64 workers
if want 2 && run_case latency "$count" 64 10000 --latency-ms $latency; then
	. "$work/case.env"
	target=$(awk -v l=$latency 'BEGIN { printf "%.0f", 0.9 * 64 / (3 * l / 1000) }')
	c="2. $count devices, latency ${latency} ms, 64 workers"
	record "$c" "events/s" "$rate" ">= $target" "$(verdict "$rate" ">=" "$target")"
	record "$c" "  span (s)" "$span" "" ""
	record "$c" "jitrd CPU per event (ms)" "$jitrd_ms" "report" ""
	# describe, update, attach; the sweep's listing and the one CreatePolicy are included
	record "$c" "API calls per device" "$calls_per_device" "<= 3.01" \
		"$(verdict "$calls_per_device" "<=" 3.01)"
	record "$c" "  outcome lines (skips)" "$outcome_lines ($skips)" "" ""
	record "$c" "emulator CPU per event (ms)" "$emu_ms" "report" ""
	record "4. memory" "jitrd VmRSS idle, 64 workers (MB)" "$idle_mb" "report" ""
	record "4. memory" "jitrd VmHWM, $count events, 64 workers (MB)" "$peak_mb" "report" ""
fi

# 3. rate limits of 50/s on every operation jitrd calls, on both sides
limits=""
for op in DescribeCertificate UpdateCertificate CreatePolicy GetPolicy AttachPolicy \
	CreateThing AttachThingPrincipal ListCertificatesByCA; do
	limits="$limits --rate-limit $op=$allowed"
done
# shellcheck disable=SC2086
if want 3 && run_case limited "$limited" 16 $allowed $limits; then
	. "$work/case.env"
	# the buckets (jitrd's and the emulator's) start full with one second's worth, so in a
	# span of T seconds (allowed x T + allowed) events are allowed, not allowed x T
	plain=$(awk -v r="$rate" -v a=$allowed 'BEGIN { printf "%.3f", r / a }')
	ratio=$(awk -v n="$limited" -v t="$span" -v a=$allowed \
		'BEGIN { printf "%.3f", n / (a * t + a) }')
	c="3. $limited devices, limits ${allowed}/s per operation"
	record "$c" "events/s" "$rate" "" ""
	record "$c" "  events/s / ${allowed}/s (burst not counted)" "$plain" "" ""
	record "$c" "achieved / allowed (${allowed}/s + 1 s burst)" "$ratio" ">= 0.95" \
		"$(verdict "$ratio" ">=" 0.95)"
	record "$c" "throttled calls (%)" "$throttled_pct ($throttled of $calls)" "<= 1" \
		"$(verdict "$throttled_pct" "<=" 1)"
fi

echo
echo "# jitrd run benchmarks ($(nproc) CPUs, $(uname -r)): $JITRD"
awk -F '\t' 'BEGIN { printf "%-44s %-46s %-16s %-9s %s\n", "case", "figure", "value",
		"target", "" }
	{ printf "%-44s %-46s %-16s %-9s %s\n", ($1 == last ? "" : $1), $2, $3, $4, $5
	  last = $1 }' "$results"
missed=$(grep -c 'MISSED$' "$results")
if [ "$missed" -gt 0 ]; then
	echo "# $missed target(s) missed"
	[ "$strict" = 0 ] || not_ok "$missed target(s) missed (JITRD_BENCH_STRICT=1)"
fi
