#!/bin/sh
# test-crl-reload.sh JITRD EMULATOR — CRL freshness: the CRL is replaced by a newer one
# that revokes another device and jitrd gets SIGHUP; the next device that CRL revokes is
# revoked, and the MQTT session stays up (no new connection). A broken CRL file on a second
# SIGHUP keeps the previous snapshot. An older CRL put back (a rollback) is refused on SIGHUP
# and at the next start, logged and counted, since state_dir/crl-numbers remembers the highest
# CRL number accepted. Prints "CASES <passed> <failed>".
JITRD=$1 EMULATOR=$2
SOURCE_ROOT=${JITRD_SOURCE_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$(dirname "$0")/lib.sh"

make_pki && device early && device later && device last && gencrl || fatal "PKI"
cp "$work/crl/device-ca.crl" "$work/pki/first.crl"
start_mosquitto || fatal "mosquitto starts"
start_emulator || fatal "emulator starts"
register_ca "$work/ca/device-ca.pem" "$work/pki/ca.key" || fatal "device CA registered"
write_config
check "jitrd run starts and becomes ready" start_jitrd
connect early
check "early (not on the first CRL) -> ACTIVE" wait_until 20 status_is early ACTIVE
connections() { grep -c '"event":"mqtt.connected"' "$work/jitrd.log"; }
before=$(connections)
check "one MQTT connection so far" [ "$before" = 1 ]

revoke later keyCompromise && gencrl || fatal "newer CRL"
reloads() { grep -c '"event":"reload.ok"' "$work/jitrd.log"; }
kill -HUP "$jitrd_pid"
reloaded() { [ "$(reloads)" -ge 1 ]; }
check "SIGHUP: reload ok logged" wait_until 10 reloaded
check "the reload counts the CRL's entry" \
	sh -c "grep '\"event\":\"reload.ok\"' '$work/jitrd.log' | tail -n 1 |
		jq -e '.crl_entries == \"1\" and .trigger == \"SIGHUP\"'"
connect later
check "later (revoked by the newer CRL) -> REVOKED" wait_until 20 status_is later REVOKED
check "its decision is revoke" [ "$(outcome_of later)" = revoke ]
check "the MQTT session stayed up (no new connection)" [ "$(connections)" = "$before" ]
check "still ready" ready
crl_gauge() { metrics | grep '^jitrd_crl_entries{' | grep -q ' 1$'; }
check "jitrd_crl_entries is 1" crl_gauge

# a broken CRL file: the reload is refused and the previous snapshot stays
cp "$work/crl/device-ca.crl" "$work/pki/good.crl"
printf 'not a CRL\n' >"$work/crl/device-ca.crl"
kill -HUP "$jitrd_pid"
refused() { grep -q '"event":"reload.failed"' "$work/jitrd.log"; }
check "a broken CRL: reload.failed logged, previous snapshot kept" wait_until 10 refused
revoke last keyCompromise
connect last
check "last -> ACTIVE under the kept CRL (it predates last's revocation)" \
	wait_until 20 status_is last ACTIVE
check "still ready after the refused reload" ready

# a rollback: the first CRL (a lower number) put back. Refused on SIGHUP, named, counted.
numbers=$work/state/crl-numbers
recorded() { sed -n 's/^[0-9a-f]\{64\} - \([0-9a-f]*\)$/\1/p' "$numbers"; }
check "state/crl-numbers records the highest number accepted (2)" [ "$(recorded)" = 2 ]
check "state/crl-numbers is mode 600" [ "$(stat -c %a "$numbers")" = 600 ]
ca_id=$(cert_id "$work/ca/device-ca.pem")
cp "$work/pki/first.crl" "$work/crl/device-ca.crl"
kill -HUP "$jitrd_pid"
rolled_back() { log_events crl.rollback | grep -q 'device-ca.crl'; }
check "SIGHUP with an older CRL: crl.rollback logged with the file" wait_until 10 rolled_back
rollback_line() { grep '"event":"crl.rollback"' "$work/jitrd.log" | tail -n 1; }
names_numbers() {
	[ -n "$(rollback_line)" ] && rollback_line |
		jq -e ".crl_number == \"1\" and .highest_accepted == \"2\" and .ca == \"$ca_id\""
}
check "the rollback names both numbers" names_numbers
two_failed() { [ "$(log_events reload.failed | wc -l)" -ge 2 ]; }
check "the reload is refused, previous snapshot kept" wait_until 10 two_failed
check "jitrd_crl_rollbacks_total{ca} is 1" \
	[ "$(metric_value "jitrd_crl_rollbacks_total{ca=\"$ca_id\"}")" = 1 ]
check "still ready on the kept snapshot" ready
check "the record did not go down" [ "$(recorded)" = 2 ]
check "SIGTERM: exit 0" stop_jitrd TERM

# a restart with the older CRL: refused at start too, so the CA has no CRL and jitrd is unready
: >"$work/jitrd.log"
launch_jitrd
started() { log_events service.started >/dev/null; }
check "restart with the older CRL: starts" wait_until 30 started
check "restart: crl.rollback logged" rolled_back
ready && not_ok "restart with the older CRL: not ready" || ok "restart with the older CRL: not ready"
check "restart: jitrd_crl_rollbacks_total{ca} is 1" \
	[ "$(metric_value "jitrd_crl_rollbacks_total{ca=\"$ca_id\"}")" = 1 ]
unready_why() { curl -s --max-time 2 "http://127.0.0.1:$status_port/readyz" | grep -q 'no valid CRL'; }
check "restart: /readyz says the CA has no valid CRL" unready_why
# the newest CRL back: SIGHUP makes it ready again
cp "$work/pki/good.crl" "$work/crl/device-ca.crl"
kill -HUP "$jitrd_pid"
check "the newest CRL back: ready again" wait_until 10 ready
check "SIGTERM: exit 0" stop_jitrd TERM
