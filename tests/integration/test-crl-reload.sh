#!/bin/sh
# test-crl-reload.sh JITRD EMULATOR — issue 4, CRL freshness: the CRL is replaced by a newer one
# that revokes another device and jitrd gets SIGHUP; the next device that CRL revokes is
# revoked, and the MQTT session stays up (no new connection). A broken CRL file on a second
# SIGHUP keeps the previous snapshot. Prints "CASES <passed> <failed>".
JITRD=$1 EMULATOR=$2
SOURCE_ROOT=${JITRD_SOURCE_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$(dirname "$0")/lib.sh"

make_pki && device early && device later && device last && gencrl || fatal "PKI"
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
check "SIGTERM: exit 0" stop_jitrd TERM
