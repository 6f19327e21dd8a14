#!/bin/sh
# bench-sqs.sh JITRD EMULATOR — `jitrd run` with the SQS source against moto's SQS
# (ThreadedMotoServer on loopback) and iot-emulator:
#   1. events/s with one, two and three consumers (hosts) on one queue, each round its own
#      devices (registered, their events queued before the consumers start; the clock runs from
#      the consumers' start to the last device ACTIVE);
#   2. CPU per event: jitrd (user + sys of every consumer / events), moto and the emulator, to
#      see what saturates;
#   3. jitrd CPU per event with the MQTT source, measured by bench-run.sh's case 1 on as many
#      devices, for comparison.
# Knobs: JITRD_BENCH_SQS_EVENTS (300 per round), JITRD_BENCH_SQS_ROUNDS ("1 2 3"),
# JITRD_BENCH_SQS_MQTT (1: also run the MQTT comparison). Skipped (77) without moto. Every wait
# is bounded; everything is stopped and removed at the end, also on failure.
JITRD=$1 EMULATOR=$2
SOURCE_ROOT=${JITRD_SOURCE_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
HELPER="$SOURCE_ROOT/tests/integration/sqs_helper.py"
python3 -c 'import moto.server, boto3' 2>/dev/null || {
	echo "SKIP: moto or boto3 is not installed"
	exit 77
}
. "$(dirname "$0")/../integration/lib.sh"
count=${JITRD_BENCH_SQS_EVENTS:-300}
rounds=${JITRD_BENCH_SQS_ROUNDS:-1 2 3}
host_pids=""
bench_cleanup() {
	rc=$?
	for p in $host_pids; do kill -KILL "$p" 2>/dev/null; done
	for p in $host_pids; do wait "$p" 2>/dev/null; done
	stop_moto
	(exit $rc)
	lib_cleanup
}
trap bench_cleanup EXIT

cpu_ticks() { # PID: utime + stime in clock ticks (as bench-run.sh)
	sed 's/^.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'
}
results=$work/results
: >"$results"

make_pki || fatal "PKI"
start_moto 1500 || fatal "moto's SQS starts"
# moto serves in this python process: its CPU is the SQS side's
moto_cpu_pid=$moto_pid
start_emulator || fatal "emulator starts (no broker)"
register_ca "$work/ca/device-ca.pem" "$work/pki/ca.key" || fatal "device CA registered"
gencrl || fatal "CRL"

for consumers in $rounds; do
	prefix=round$consumers
	devices "$prefix" "$count" || fatal "$count devices for round $consumers"
	connect_events "$prefix" "$count" "$work/events-$prefix" || fatal "$count events"
	queue=$(python3 "$HELPER" setup "$moto_port" "bench-$prefix" 10) || fatal "queue"
	python3 "$HELPER" send "$moto_port" "$queue" "$work/events-$prefix" >/dev/null ||
		fatal "events queued"
	SQS_QUEUE_URL=$queue SQS_WAIT_SECONDS=1 SQS_VISIBILITY_SECONDS=60 LIMIT=10000 write_config
	moto_before=$(cpu_ticks "$moto_cpu_pid")
	emu_before=$(cpu_ticks "$emu_pid")
	t0=$(date +%s.%N)
	pids=""
	for n in $(seq 1 "$consumers"); do
		sed -e "s/^state_dir = .*/state_dir = state-$prefix-$n/" \
			-e "s/^listen = .*/listen = 127.0.0.1:$(free_port)/" \
			"$work/jitrd.conf" >"$work/jitrd-$prefix-$n.conf"
		(cd "$work" && exec env AWS_ACCESS_KEY_ID=$KEY_ID AWS_SECRET_ACCESS_KEY=$SECRET \
			AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null \
			"$JITRD" run -c "$work/jitrd-$prefix-$n.conf" >>"$work/jitrd-$prefix-$n.log" 2>&1) &
		pids="$pids $!"
		host_pids="$host_pids $!"
	done
	all_active() { [ "$(count_status "$prefix" "$count" ACTIVE)" = "$count" ]; }
	if ! wait_until 600 all_active; then
		not_ok "round $consumers: $count devices ACTIVE within 600 s"
		continue
	fi
	t1=$(date +%s.%N)
	ticks=0
	for p in $pids; do ticks=$((ticks + $(cpu_ticks "$p"))); done
	moto_after=$(cpu_ticks "$moto_cpu_pid")
	emu_after=$(cpu_ticks "$emu_pid")
	for p in $pids; do kill -TERM "$p"; done
	stopped=0
	for p in $pids; do wait "$p" && stopped=$((stopped + 1)); done
	check "round $consumers: $count devices ACTIVE, every consumer exits 0" [ "$stopped" = "$consumers" ]
	awk -v c="$consumers" -v n="$count" -v t0="$t0" -v t1="$t1" -v hz="$(getconf CLK_TCK)" \
		-v j="$ticks" -v mb="$moto_before" -v ma="$moto_after" -v eb="$emu_before" \
		-v ea="$emu_after" 'BEGIN {
		s = t1 - t0
		printf "%d\t%.1f\t%.1f\t%.2f\t%.2f\t%.2f\t%.0f\t%.0f\n", c, s, n / s,
			j * 1000 / hz / n, (ma - mb) * 1000 / hz / n, (ea - eb) * 1000 / hz / n,
			(ma - mb) * 100 / hz / s, j * 100 / hz / s }' >>"$results"
done

echo
echo "# jitrd run, SQS source: $count events per round, moto $(python3 -c \
	'import moto; print(moto.__version__)'), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
awk -F '\t' 'BEGIN { printf "%-10s %8s %9s %14s %13s %16s %9s %9s\n", "consumers", "span s",
		"events/s", "jitrd ms CPU/ev", "moto ms CPU/ev", "emulator ms CPU/ev", "moto %CPU",
		"jitrd %CPU" }
	{ printf "%-10s %8s %9s %14s %13s %16s %9s %9s\n", $1, $2, $3, $4, $5, $6, $7, $8 }' "$results"
check "every round measured" [ "$(wc -l <"$results")" -ge 1 ]

if [ "${JITRD_BENCH_SQS_MQTT:-1}" = 1 ] && command -v mosquitto >/dev/null; then
	# the MQTT source on as many devices, by bench-run.sh's own measurement (its case 3 list,
	# LIMITED_DEVICES, must be shorter than the devices: it is cut from their list in place)
	JITRD_BENCH_CASES=1 JITRD_BENCH_DEVICES=$count JITRD_BENCH_LIMITED_DEVICES=$((count / 2)) \
		sh "$SOURCE_ROOT/tests/bench/bench-run.sh" "$JITRD" "$EMULATOR" >"$work/mqtt.out" 2>&1
	mqtt_ms=$(grep 'jitrd CPU per event (ms)' "$work/mqtt.out" | head -n 1 |
		sed 's/.*jitrd CPU per event (ms) *//' | awk '{ print $1 }')
	echo "# jitrd CPU per event with the MQTT source (bench-run.sh case 1, $count devices):" \
		"$mqtt_ms ms"
	check "the MQTT comparison ran" [ -n "$mqtt_ms" ]
fi
