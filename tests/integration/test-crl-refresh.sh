#!/bin/sh
# test-crl-refresh.sh JITRD EMULATOR — CRLs fetched from where the CA publishes them
# (tests/aws/crl_server.py on loopback, [crl] dir left empty): jitrd becomes ready on the
# fetched CRL; the CA publishes a newer CRL listing a device and the next event of that device
# is revoked with no SIGHUP and no restart; an unchanged CRL costs a 304; an older CRL served at
# the URL is refused and the cached one stays; a source that streams past fetch_max_bytes is
# refused without the memory growing; with the server gone a restart starts from the cache,
# which serves until its nextUpdate, and then the CA's devices are deferred and /readyz names
# the CA. Prints "CASES <passed> <failed>".
JITRD=$1 EMULATOR=$2
SOURCE_ROOT=${JITRD_SOURCE_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$(dirname "$0")/lib.sh"

srv_pid=""
stop_crl_server() {
	[ -n "$srv_pid" ] && kill "$srv_pid" 2>/dev/null && wait "$srv_pid" 2>/dev/null
	srv_pid=""
}
trap 'stop_crl_server; lib_cleanup' EXIT

publish() { # FILE: what the CA's URL serves from now on (replaced atomically)
	cp "$1" "$work/pub/.next" && mv "$work/pub/.next" "$work/pub/device-ca.crl"
}

make_pki && device early && device later && device last && device after && gencrl ||
	fatal "PKI"
mkdir -p "$work/pub"
mv "$work/crl/device-ca.crl" "$work/pki/first.crl"
publish "$work/pki/first.crl"
python3 "$SOURCE_ROOT/tests/aws/crl_server.py" --dir "$work/pub" --lifetime 280 \
	>"$work/crl-server.out" 2>"$work/crl-server.log" &
srv_pid=$!
srv_up() { grep -q '^PORT ' "$work/crl-server.out"; }
wait_until 10 srv_up || fatal "crl_server.py starts"
srv_port=$(awk '/^PORT/ { print $2 }' "$work/crl-server.out")
url="http://127.0.0.1:$srv_port/files/device-ca.crl"
start_mosquitto || fatal "mosquitto starts"
start_emulator || fatal "emulator starts"
register_ca "$work/ca/device-ca.pem" "$work/pki/ca.key" || fatal "device CA registered"
write_config
export JITRD_CRL_URL="$url http://127.0.0.1:$srv_port/endless"
export JITRD_CRL_REFRESH_SECONDS=2 JITRD_CRL_FETCH_MAX_BYTES=1048576
export JITRD_CRL_FETCH_TIMEOUT_SECONDS=5
ca_id=$(cert_id "$work/ca/device-ca.pem")

check "jitrd run starts and becomes ready on the fetched CRL ([crl] dir is empty)" start_jitrd
cache=$work/state/crl-cache
meta=$(ls "$cache"/*.json 2>/dev/null | head -n 1)
check "the cache holds the CRL and its metadata" [ -n "$meta" ] && [ -f "${meta%.json}.crl" ]
check "cache files are mode 600" [ "$(stat -c %a "$meta" "${meta%.json}.crl" | sort -u)" = 600 ]
check "metadata: url, crl_number 1, ca" \
	jq -e --arg u "$url" --arg ca "$ca_id" '.url == $u and .crl_number == 1 and .ca == $ca' \
	"$meta"
connect early
check "early (on no CRL) -> ACTIVE" wait_until 20 status_is early ACTIVE
connections() { grep -c '"event":"mqtt.connected"' "$work/jitrd.log"; }
before=$(connections)

# the CA publishes a newer CRL listing `later`: fetched, verified, swapped in, no signal
revoke later keyCompromise && gencrl || fatal "newer CRL"
mv "$work/crl/device-ca.crl" "$work/pki/second.crl"
publish "$work/pki/second.crl"
# the first reload with trigger crl-fetch was the fetch at start
swapped() { [ "$(log_events reload.ok | grep -c '"trigger":"crl-fetch"')" -ge 2 ]; }
check "the new CRL is fetched and the snapshot swapped (reload.ok trigger crl-fetch)" \
	wait_until 20 swapped
check "metadata: crl_number 2" jq -e '.crl_number == 2' "$meta"
connect later
check "later (revoked by the published CRL) -> REVOKED, no SIGHUP, no restart" \
	wait_until 20 status_is later REVOKED
check "its decision is revoke" [ "$(outcome_of later)" = revoke ]
check "the MQTT session stayed up" [ "$(connections)" = "$before" ]
(cd "$work" && "$JITRD" config-check -c "$work/jitrd.conf" >"$work/config-check.out" 2>&1)
check "config-check: the source, its CA, CRL number and where it was fetched from" \
	grep -q "^crl source: $url (\[crl\] url): CA $ca_id, number 2, thisUpdate .*, last fetched .* from $url\$" \
	"$work/config-check.out"
check "config-check: the CA's CRL names its source URL and the cache file" \
	grep -q "^crl for CA $ca_id: $url (cache .*/crl-cache/[0-9a-f]*.crl), 1 entries, number 2" \
	"$work/config-check.out"
check "config-check: the endless source has nothing cached" \
	grep -q "^crl source: http://127.0.0.1:$srv_port/endless (\[crl\] url): nothing cached yet" \
	"$work/config-check.out"

# unchanged: the next fetches are conditional and answered 304
served_304() { grep -c 'GET /files/device-ca.crl HTTP/1.1" 304' "$work/crl-server.log"; }
three_304() { [ "$(served_304)" -ge 3 ]; }
check "an unchanged CRL costs a 304 (three seen at the server)" wait_until 20 three_304
not_modified() { [ "$(metric_value 'jitrd_crl_fetch_total{outcome="not_modified"}')" -ge 3 ]; }
check "jitrd_crl_fetch_total{outcome=not_modified} counts them" not_modified
check "no 200 for the CRL after the second" \
	[ "$(grep -c 'GET /files/device-ca.crl HTTP/1.1" 200' "$work/crl-server.log")" = 2 ]

# an older CRL (number 1) served at the URL: refused, the cached CRL (2) stays
publish "$work/pki/first.crl"
refused_old() {
	log_events crl.fetch | grep "files/device-ca.crl" | grep -q '"outcome":"refused"'
}
check "an older CRL at the URL: crl.fetch outcome refused" wait_until 20 refused_old
check "the refusal names the numbers" sh -c "grep '\"event\":\"crl.fetch\"' '$work/jitrd.log' |
	grep files/device-ca.crl | grep refused | tail -n 1 | grep -q 'CRL number 1 below 2'"
check "the cache still holds number 2" jq -e '.crl_number == 2' "$meta"
check "the cached CRL file is still the second one" cmp -s "${meta%.json}.crl" "$work/pki/second.crl"
# the body is staged on disk before the builder takes it; a refused one leaves nothing behind
check "no staged body is left after the refusal" \
	sh -c "! ls -A '$cache' | grep -q staged"
connect later
check "later is still revoked" wait_until 20 status_is later REVOKED
check "still ready" ready
publish "$work/pki/second.crl"

# a source streaming without end is cut at fetch_max_bytes (1 MiB) and refused
hwm() { awk '/^VmHWM/ { print $2 }' "/proc/$jitrd_pid/status"; }
endless_refused() {
	log_events crl.fetch | grep '/endless' | grep '"outcome":"refused"' | grep -q 'TOO\|large\|cap\|bytes'
}
check "an endless body: refused at the size cap" wait_until 20 endless_refused
hwm_before=$(hwm)
two_more() { [ "$(log_events crl.fetch | grep -c '/endless')" -ge 4 ]; }
check "more endless fetches refused" wait_until 60 two_more
check "peak memory did not grow by more than 16 MiB ($hwm_before kB -> $(hwm) kB)" \
	[ "$(hwm)" -lt $((hwm_before + 16384)) ]

# a short-lived CRL (nextUpdate in 45 s), then the server goes away
revoke last keyCompromise
openssl ca -batch -config "$work/pki/ca.cnf" -gencrl -crlsec 45 \
	-out "$work/pki/short.crl" 2>/dev/null || fatal "short-lived CRL"
publish "$work/pki/short.crl"
short_in() { jq -e '.crl_number == 3' "$meta" >/dev/null; }
check "the short-lived CRL (number 3) is fetched" wait_until 20 short_in
stop_crl_server
check "SIGTERM: exit 0" stop_jitrd TERM

: >"$work/jitrd.log"
check "restart with the server down: ready from the cache" start_jitrd
check "the initial fetch failed and said so" sh -c \
	"grep '\"event\":\"crl.fetch\"' '$work/jitrd.log' | grep files/device-ca.crl | grep -q failed"
connect last
check "last (revoked in the cached CRL) -> REVOKED" wait_until 20 status_is last REVOKED
stale() { ! ready; }
check "past nextUpdate: not ready" wait_until 60 stale
why_stale() {
	curl -s --max-time 2 "http://127.0.0.1:$status_port/readyz" | grep -q "CA $ca_id"
}
check "/readyz names the CA whose CRL is stale" why_stale
connect after
deferred() { [ "$(outcome_of after)" = defer ]; }
check "after the CRL expired, a device of the CA is deferred" wait_until 20 deferred
check "... and left PENDING_ACTIVATION" status_is after PENDING_ACTIVATION
check "SIGTERM: exit 0" stop_jitrd TERM
