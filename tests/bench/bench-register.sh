#!/bin/sh
# bench-register.sh JITRD IOT_EMULATOR MKFLEET — `jitrd cert register` of N (10,000) device
# certificates against iot-emulator with every [limits] rate at RATE (100/s), no Thing:
#   1. one run: elapsed against the ideal, API calls per certificate;
#   2. the same with a kill -9 at half the ideal time, then the same command again: elapsed in all,
#      RegisterCertificate calls against N.
# The ideal: each certificate costs one call of each limited operation (RegisterCertificate,
# AttachPolicy, UpdateCertificate; CreatePolicy once), and each operation has its own bucket of
# RATE/s, so the slowest (here all equal) bounds the run at N / RATE seconds. The certificates
# are made in C by mkfleet (one EC P-256 device key reused for all: the benchmark measures
# registration, not key generation). Prints "# figure" lines. Knobs: JITRD_BENCH_N,
# JITRD_BENCH_RATE, JITRD_BENCH_WORKERS (8).
jitrd=$(realpath "$1")
mkfleet=$(realpath "$3")
src=${JITRD_SOURCE_ROOT:?}
. "$src/tests/cli/lib.sh"
n=${JITRD_BENCH_N:-10000}
rate=${JITRD_BENCH_RATE:-100}
workers=${JITRD_BENCH_WORKERS:-8}

start_emulator "$2" AKIDREGISTERBENCH register/bench+secret
. "$src/tests/operator/pki.sh"
now() { date +%s.%N; }
op_calls() { curl -sf "$url/_emulator/state" | json_field '["counters"]["operations"].get("'"$1"'", 0)'; }
all_calls() { curl -sf "$url/_emulator/state" | json_field '["counters"]["operations"]'; }

make_ca bench "Register Bench CA" || give_up "cannot make the CA"
mkdir -p cas crls state1 state2 one two
cp bench/ca.pem cas/
openssl ca -batch -config bench/ca.cnf -gencrl -out crls/bench.crl.pem 2>openssl.err ||
	give_up "cannot make the CRL"
write_conf() { # FILE STATE_DIR
	{
		printf '[aws]\nregion = us-east-1\naccount_id = 123456789012\nendpoint = %s\n' "$url"
		printf '[ca]\ndir = %s/cas\n[crl]\ndir = %s/crls\n' "$work" "$work"
		printf '[provision]\npolicy_template = %s\npolicy_name = jitrd-device\n' \
			"$src/policies/default.json"
		printf '[service]\nstate_dir = %s\nworkers = %s\n[limits]\n' "$2" "$workers"
		for op in register_certificate update_certificate describe_certificate create_policy \
			attach_policy create_thing attach_thing_principal list_certificates_by_ca; do
			printf '%s = %s\n' $op "$rate"
		done
	} >"$1"
}
write_conf one.conf "$work/state1"
write_conf two.conf "$work/state2"
"$jitrd" ca register -c one.conf --ca-cert bench/ca.pem --ca-key bench/ca.key --activate \
	>/dev/null 2>ca.err || give_up "cannot register the CA"
t0=$(now)
"$mkfleet" - bench/ca.pem bench/ca.key "$n" 1 one.ids one 2>mkfleet.err &&
	"$mkfleet" - bench/ca.pem bench/ca.key "$n" 100001 two.ids two 2>>mkfleet.err ||
	give_up "mkfleet failed"
echo "# made 2 x $n device certificates in C (one device key): $(echo "$(now) - $t0" | bc) s"
ideal=$(echo "scale=1; $n / $rate" | bc)

# ---- 1. one run ---------------------------------------------------------------------------------
before=$(all_calls)
t0=$(now)
"$jitrd" cert register -c one.conf --dir one >one.out 2>one.err
st=$?
elapsed=$(echo "$(now) - $t0" | bc)
after=$(all_calls)
tail -1 one.out | sed 's/^/# /'
[ $st -eq 0 ] || give_up "the run failed (exit $st)"
python3 - "$before" "$after" "$n" "$elapsed" "$ideal" <<'PY'
import ast, sys
before, after = ast.literal_eval(sys.argv[1]), ast.literal_eval(sys.argv[2])
n, elapsed, ideal = int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
calls = {k: after.get(k, 0) - before.get(k, 0) for k in after if after.get(k, 0) != before.get(k, 0)}
total = sum(calls.values())
print("# figure: %d certificates in %.1f s, ideal %.1f s (%.0f%% of the ideal rate), %.1f certificates/s"
      % (n, elapsed, ideal, 100 * ideal / elapsed, n / elapsed))
print("# figure: %.2f API calls per certificate: %s" % (total / n, ", ".join(
    "%s %d" % kv for kv in sorted(calls.items()))))
PY

# ---- 2. kill -9 at about half, then again ------------------------------------------------------
before_reg=$(op_calls RegisterCertificate)
t0=$(now)
# killed by time, not by polling /_emulator/state: with 20,000 certificates its answer is
# megabytes, and asking for it while the run goes slows the emulator down
"$jitrd" cert register -c two.conf --dir two >two1.out 2>two1.err &
run_pid=$!
sleep $((n / rate / 2))
kill -KILL $run_pid
wait $run_pid 2>/dev/null
run_pid=""
killed_at=$(echo "$(now) - $t0" | bc)
"$jitrd" cert register -c two.conf --dir two >two2.out 2>two2.err
st=$?
elapsed=$(echo "$(now) - $t0" | bc)
calls=$(($(op_calls RegisterCertificate) - before_reg))
tail -1 two2.out | sed 's/^/# /'
[ $st -eq 0 ] || give_up "the resumed run failed (exit $st)"
echo "# figure: kill -9 after $killed_at s, resumed: $n certificates in $elapsed s in all (ideal $ideal s), $calls RegisterCertificate calls for $n certificates ($((calls - n)) sent again: the ones in flight, found as already registered)"
echo "CASES 1 0"
