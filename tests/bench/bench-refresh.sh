#!/bin/sh
# bench-refresh.sh JITRD EMULATOR — fetch, verify and swap of a large CRL (1,000,000 entries by
# default) over loopback HTTP (tests/aws/crl_server.py) while `jitrd run` with 64 workers
# processes events (iot-emulator with 50 ms per call). Reports the events' duration_ms p50/p99
# without a swap and during one (target: p99 at most 2x), the time from publication to the
# swapped snapshot, and jitrd's peak resident memory (VmHWM) before and after the swap.
# Knobs: JITRD_BENCH_CRL_ENTRIES (1000000), JITRD_BENCH_DEVICES (events per phase, 400).
# Fails when a step fails; a missed target is reported. Every wait is bounded; lib.sh stops
# everything and removes its temp dir.
JITRD=$1 EMULATOR=$2
SOURCE_ROOT=${JITRD_SOURCE_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$(dirname "$0")/../integration/lib.sh"

entries=${JITRD_BENCH_CRL_ENTRIES:-1000000}
count=${JITRD_BENCH_DEVICES:-400}
srv_pid=""
trap '[ -n "$srv_pid" ] && kill "$srv_pid" 2>/dev/null; lib_cleanup' EXIT

make_pki && devices base "$count" && devices swap "$count" && gencrl || fatal "PKI"
mkdir -p "$work/pub"
mv "$work/crl/device-ca.crl" "$work/pub/device-ca.crl"
# the large CRL: index.txt lines written by awk (as bench-crl.sh does), signed by openssl ca
start=$(date +%s)
awk -v n="$entries" 'BEGIN { srand(20300101)
	for (i = 0; i < n; i++)
		printf "R\t450101000000Z\t250101000000Z,keyCompromise\t%X%03X%04X%08X%04X\tunknown\t/CN=r%d\n",
			1 + int(rand() * 7), int(rand() * 4096), int(rand() * 65536), i,
			int(rand() * 65536), i }' >>"$work/pki/db/index.txt"
openssl ca -batch -config "$work/pki/ca.cnf" -gencrl -out "$work/pki/big.crl" 2>/dev/null ||
	fatal "large CRL"
echo "# a CRL of $entries entries, $(stat -c %s "$work/pki/big.crl") bytes, made in $(($(date +%s) - start)) s"

python3 "$SOURCE_ROOT/tests/aws/crl_server.py" --dir "$work/pub" --lifetime 900 \
	>"$work/crl-server.out" 2>"$work/crl-server.log" &
srv_pid=$!
srv_up() { grep -q '^PORT ' "$work/crl-server.out"; }
wait_until 10 srv_up || fatal "crl_server.py starts"
export JITRD_CRL_URL="http://127.0.0.1:$(awk '/^PORT/ { print $2 }' "$work/crl-server.out")/files/device-ca.crl"
export JITRD_CRL_REFRESH_SECONDS=1 JITRD_CRL_FETCH_TIMEOUT_SECONDS=120
start_mosquitto || fatal "mosquitto starts"
start_emulator --latency-ms 50 || fatal "emulator starts"
register_ca "$work/ca/device-ca.pem" "$work/pki/ca.key" || fatal "device CA registered"
WORKERS=64 write_config
start_jitrd || fatal "jitrd run ready"
hwm() { awk '/^VmHWM/ { print $2 }' "/proc/$jitrd_pid/status"; }

durations() { # PREFIX: duration_ms of that burst's outcome lines, sorted
	for n in $(seq 1 "$count"); do cert_id "$work/devices/$1-$n.pem"; done >"$work/ids-$1"
	grep '"decision":' "$work/jitrd.log" | grep -F -f "$work/ids-$1" | jq -r .duration_ms |
		sort -n >"$work/dur-$1"
}
pct() { # FILE P: the P-th percentile (nearest rank)
	awk -v p="$2" '{ v[NR] = $1 } END { i = int((NR * p + 99) / 100); if (i < 1) i = 1; print v[i] }' "$1"
}
done_count() { grep -c '"decision":"activate"' "$work/jitrd.log"; }

burst base "$count" 32 &
burst_pid=$!
all_base() { [ "$(done_count)" -ge "$count" ]; }
wait_until 300 all_base || fatal "baseline events"
wait "$burst_pid"
burst_pid=""
hwm_before=$(hwm)

# publish the large CRL; a slower second burst runs through its fetch, verification and swap,
# and the events that ended between publication and swap are the ones measured
publish_at=$(date +%s%3N)
publish_iso=$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)
cp "$work/pki/big.crl" "$work/pub/.next" && mv "$work/pub/.next" "$work/pub/device-ca.crl"
burst swap "$count" "${JITRD_BENCH_SWAP_PARALLEL:-4}" &
burst_pid=$!
swapped() { [ "$(log_events reload.ok | grep -c '"trigger":"crl-fetch"')" -ge 2 ]; }
wait_until 600 swapped || fatal "large CRL swapped in"
swap_at=$(date +%s%3N)
swap_iso=$(log_events reload.ok | tail -n 1 | jq -r .time)
all_swap() { [ "$(done_count)" -ge $((2 * count)) ]; }
wait_until 300 all_swap || fatal "events during the swap"
wait "$burst_pid"
burst_pid=""
hwm_after=$(hwm)
durations base
grep '"decision":' "$work/jitrd.log" |
	jq -r --arg a "$publish_iso" --arg b "$swap_iso" 'select(.time >= $a and .time <= $b) | .duration_ms' |
	sort -n >"$work/dur-swap"
during=$(wc -l <"$work/dur-swap")
[ "$during" -gt 0 ] || fatal "no event ended during the swap (raise JITRD_BENCH_DEVICES)"
b50=$(pct "$work/dur-base" 50) b99=$(pct "$work/dur-base" 99)
s50=$(pct "$work/dur-swap" 50) s99=$(pct "$work/dur-swap" 99)
echo "# entries=$entries devices/phase=$count workers=64 emulator latency=50ms"
echo "# publish -> swapped snapshot: $((swap_at - publish_at)) ms ($publish_iso .. $swap_iso); $during events ended in between"
printf '%-28s %8s %8s\n' "event duration_ms" p50 p99
printf '%-28s %8s %8s\n' "without a swap" "$b50" "$b99"
printf '%-28s %8s %8s\n' "during the swap" "$s50" "$s99"
echo "peak RSS (VmHWM): $hwm_before kB before, $hwm_after kB after the swap"
if [ "$s99" -le $((2 * b99)) ]; then ok "p99 during the swap <= 2x without"; else not_ok "p99 during the swap <= 2x without ($s99 > 2 x $b99)"; fi
check "SIGTERM: exit 0" stop_jitrd TERM
