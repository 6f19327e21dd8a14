#!/bin/sh
# test-systemd-notify.sh JITRD EMULATOR — systemd Type=notify: `jitrd run` under a
# notify socket made here (notify-listen.py plays systemd), with WATCHDOG_USEC=2 s, against
# mosquitto (TLS) and the emulator. READY=1 only once subscribed and the CA has a CRL; WATCHDOG=1
# about every second; SIGHUP gives RELOADING=1 (with MONOTONIC_USEC) then READY=1; SIGTERM
# gives STOPPING=1; a device connecting the moment READY arrives ends ACTIVE.
JITRD=$1 EMULATOR=$2
SOURCE_ROOT=${JITRD_SOURCE_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
HERE=$(cd "$(dirname "$0")" && pwd)
. "$SOURCE_ROOT/tests/integration/lib.sh"
listen_pid=""
stop_listener() { [ -z "$listen_pid" ] || kill "$listen_pid" 2>/dev/null; }
trap 'stop_listener; lib_cleanup' EXIT

make_pki && device early || fatal "PKI"
start_mosquitto || fatal "mosquitto starts"
start_emulator || fatal "emulator starts"
register_ca "$work/ca/device-ca.pem" "$work/pki/ca.key" || fatal "device CA registered"
write_config # no CRL yet: readiness must wait for it

notes=$work/notify.jsonl
# what runs the moment READY=1 arrives: note whether the subscription was already logged,
# then a device connects (JITR) at once
on_ready="grep -c '\"event\":\"mqtt.subscribed\"' '$work/jitrd.log' >'$work/subscribed-at-ready';
curl -s --max-time 20 -X POST --data-binary @'$work/devices/early.pem' \
	'$emu_url/_emulator/connect' >'$work/connect.json'"
python3 "$HERE/notify-listen.py" "$work/notify.sock" "$notes" "$on_ready" &
listen_pid=$!
wait_until 10 test -S "$work/notify.sock" || fatal "the notify socket is bound"

(cd "$work" && exec env AWS_ACCESS_KEY_ID=$KEY_ID AWS_SECRET_ACCESS_KEY=$SECRET \
	AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null \
	NOTIFY_SOCKET="$work/notify.sock" WATCHDOG_USEC=2000000 \
	"$JITRD" run -c "$work/jitrd.conf" >>"$work/jitrd.log" 2>&1) &
jitrd_pid=$!

# notes_with KEY[=VALUE]: the notes (JSON lines) whose datagram assigns KEY (that VALUE)
notes_with() {
	case $1 in
	*=*) jq -c --arg k "${1%%=*}" --arg v "${1#*=}" 'select(.fields[$k] == $v)' "$notes" ;;
	*) jq -c --arg k "$1" 'select(.fields | has($k))' "$notes" ;;
	esac
}
count_notes() { notes_with "$1" | wc -l; }
has_note() { [ "$(count_notes "$1")" -ge "${2:-1}" ]; }
subscribed() { grep -q '"event":"mqtt.subscribed"' "$work/jitrd.log"; }

check "jitrd subscribes to the registration topic" wait_until 30 subscribed
check "watchdog pings while waiting for the CRL" wait_until 5 has_note WATCHDOG=1 2
check "no READY=1 while the CA has no CRL" [ "$(count_notes READY=1)" = 0 ]
check "STATUS= says what it waits for" sh -c "jq -r '.fields.STATUS // empty' '$notes' |
	grep -q 'waiting for readiness: no valid CRL for CA'"
check "no RELOADING=1 before READY=1" [ "$(count_notes RELOADING=1)" = 0 ]

gencrl || fatal "the CA's CRL"
kill -HUP "$jitrd_pid"
check "the CRL in place (SIGHUP): READY=1" wait_until 10 has_note READY=1
check "READY=1 came after the subscription was acknowledged" \
	sh -c "[ \"\$(cat '$work/subscribed-at-ready')\" -ge 1 ]"
check "a SIGHUP before READY=1 sends no RELOADING=1" [ "$(count_notes RELOADING=1)" = 0 ]
check "the device that connected at READY=1: PENDING_ACTIVATION, event published" \
	jq -e '.status == "PENDING_ACTIVATION" and .eventPublished == true' "$work/connect.json"
check "... and is served: ACTIVE" wait_until 20 status_is early ACTIVE

# watchdog: WATCHDOG_USEC = 2 s, so a ping about every second (half), none missed
sleep 5
gaps=$(notes_with WATCHDOG=1 | jq -s '[. as $n | range(1; length) | $n[.].t - $n[. - 1].t]')
check "watchdog: 6 or more pings so far" [ "$(count_notes WATCHDOG=1)" -ge 6 ]
check "watchdog: every gap between pings 0.8 .. 1.3 s" \
	jq -e 'length >= 5 and min >= 800 and max <= 1300' <<EOF
$gaps
EOF
check "STATUS= counts the device's event" sh -c "jq -r '.fields.STATUS // empty' '$notes' |
	grep -q '^ready; 1 events handled; last reload: [0-9T:-]*Z SIGHUP ok'"

# SIGHUP after READY: RELOADING=1 (with MONOTONIC_USEC), then READY=1
ready_before=$(count_notes READY=1)
kill -HUP "$jitrd_pid"
reloaded() { has_note READY=1 $((ready_before + 1)); }
check "SIGHUP: READY=1 again after the reload" wait_until 10 reloaded
check "SIGHUP: RELOADING=1 sent once" [ "$(count_notes RELOADING=1)" = 1 ]
check "RELOADING=1 carries MONOTONIC_USEC (microseconds, CLOCK_MONOTONIC)" \
	jq -s -e 'map(select(.fields.RELOADING == "1")) |
		length == 1 and all(.fields.MONOTONIC_USEC // "" | test("^[0-9]{4,}$"))' "$notes"
order=$(jq -r 'select(.fields.RELOADING == "1" or .fields.READY == "1") |
	if .fields.RELOADING then "reloading" else "ready" end' "$notes" | tr '\n' ' ')
check "order: ready, reloading, ready (got: $order)" [ "$order" = "ready reloading ready " ]
check "the reload's STATUS= names SIGHUP and ok" sh -c "jq -r \
	'select(.fields.READY == \"1\") | .fields.STATUS' '$notes' | tail -n 1 |
	grep -q 'SIGHUP ok'"

# SIGTERM: STOPPING=1, exit 0
kill -TERM "$jitrd_pid"
wait "$jitrd_pid"
rc=$?
jitrd_pid=""
check "SIGTERM: exit 0" [ "$rc" = 0 ]
check "SIGTERM: STOPPING=1" has_note STOPPING=1
check "the STOPPING=1 datagram has STATUS= naming SIGTERM" sh -c "jq -r \
	'select(.fields.STOPPING == \"1\") | .fields.STATUS' '$notes' | grep -q 'stopping (SIGTERM)'"
check "nothing sent after STOPPING=1 but WATCHDOG/STATUS" sh -c "jq -s -e \
	'(map(.fields.STOPPING == \"1\") | index(true)) as \$i |
	 .[\$i + 1:] | all(.fields | has(\"READY\") | not)' '$notes' >/dev/null"
check "no notify.failed warning in the log" sh -c "! grep -q notify.failed '$work/jitrd.log'"
