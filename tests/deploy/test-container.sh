#!/bin/sh
# test-container.sh JITRD EMULATOR — the container sidecar without a container engine:
# runs the binary exactly as deploy/container/Containerfile's ENTRYPOINT does (`jitrd run`, no
# -c, no configuration file), with an empty environment plus the Containerfile's ENV and the
# JITRD_* variables compose.yaml would set, as a non-root user (when the test runs as root),
# against mosquitto (TLS) and the emulator. Checks /healthz (through the HEALTHCHECK command
# itself), /readyz, /metrics, a device served, and a clean stop on SIGTERM within 10 s.
JITRD=$1 EMULATOR=$2
SOURCE_ROOT=${JITRD_SOURCE_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
CONTAINERFILE=$SOURCE_ROOT/deploy/container/Containerfile
. "$SOURCE_ROOT/tests/integration/lib.sh"

# The Containerfile's ENTRYPOINT (JSON form), ENV and HEALTHCHECK command, read from the file.
entrypoint=$(sed -n 's/^ENTRYPOINT \(\[.*\]\)$/\1/p' "$CONTAINERFILE" | jq -r '.[]' | tr '\n' ' ')
# ENV A=x \ (newline) B=y ...: one NAME=VALUE per line
image_env=$(awk '/^ENV / { on = 1; sub(/^ENV /, "") } on { line = $0; more = sub(/ *\\$/, "", line);
	gsub(/^[ \t]+/, "", line); print line; if (!more) on = 0 }' "$CONTAINERFILE")
healthcheck=$(awk '/^HEALTHCHECK / { on = 1 } on { print; if ($0 !~ /\\$/) exit }' \
	"$CONTAINERFILE" | tr -d '\\\n' | sed 's/.*CMD //; s/\t/ /g')
check "the Containerfile's ENTRYPOINT is jitrd run" [ "$entrypoint" = "/usr/local/bin/jitrd run " ]
check "the Containerfile sets JITRD_SERVICE_LISTEN in ENV" \
	sh -c "printf '%s\n' '$image_env' | grep -q '^JITRD_SERVICE_LISTEN='"
case $healthcheck in
*curl*/healthz*) ok "the HEALTHCHECK command asks /healthz" ;;
*) not_ok "the HEALTHCHECK command asks /healthz (got: $healthcheck)" ;;
esac

make_pki && device sidecar || fatal "PKI"
gencrl || fatal "CRL"
start_mosquitto || fatal "mosquitto starts"
start_emulator || fatal "emulator starts"
register_ca "$work/ca/device-ca.pem" "$work/pki/ca.key" || fatal "device CA registered"
status_port=$(free_port)

# What runs the container: an unprivileged user (the image's USER 10001) when we can switch.
as_user=""
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null 2>&1; then
	as_user="setpriv --reuid=10001 --regid=10001 --clear-groups --"
	chmod 644 "$work"/pki/*.key
fi
mkdir -p "$work/state" "$work/home"
[ -z "$as_user" ] || chown 10001:10001 "$work/state" "$work/home"
chmod 700 "$work/state"

# What the image holds, copied where uid 10001 can read it as in the image: the clone (and its
# build directory) may sit in a directory only its owner can enter (a mode-0700 home), which
# another user cannot read or search. $work is removed on exit.
image=$work/image
install -D -m 755 "$JITRD" "$image/usr/local/bin/jitrd" || fatal "copy jitrd into $image"
mkdir -p "$image/etc/jitrd" && cp -R "$SOURCE_ROOT/policies" "$image/etc/jitrd/policies" &&
	chmod -R a+rX "$image" || fatal "copy policies into $image"
if [ -n "$as_user" ]; then
	unreadable=""
	for f in "$image/usr/local/bin/jitrd" "$image/etc/jitrd/policies/default.json" \
		"$work/ca" "$work/crl" "$work/pki/mqtt-ca.pem" "$work/pki/mqtt-client.pem" \
		"$work/pki/mqtt-client.key"; do
		$as_user test -r "$f" || unreadable="$unreadable $f"
	done
	check "uid 10001 can read every file it is given (unreadable:${unreadable:- none})" \
		[ -z "$unreadable" ]
fi

# The image's ENV first, then what compose.yaml's environment: would set (paths as mounted).
set -- $entrypoint
shift 1 # /usr/local/bin/jitrd is the binary under test here
# shellcheck disable=SC2086
(cd "$work/home" && exec env -i PATH=/usr/bin:/bin HOME="$work/home" $image_env \
	JITRD_SERVICE_LISTEN="127.0.0.1:$status_port" \
	JITRD_SERVICE_STATE_DIR="$work/state" \
	JITRD_CA_DIR="$work/ca" JITRD_CRL_DIR="$work/crl" \
	JITRD_PROVISION_POLICY_TEMPLATE="$image/etc/jitrd/policies/default.json" \
	JITRD_PROVISION_THING_NAME='{{subject.CN}}' \
	JITRD_MQTT_URL="ssl://localhost:$mq_tls" JITRD_MQTT_CLIENT_ID=jitrd-sidecar \
	JITRD_MQTT_CA_FILE="$work/pki/mqtt-ca.pem" JITRD_MQTT_CERT_FILE="$work/pki/mqtt-client.pem" \
	JITRD_MQTT_KEY_FILE="$work/pki/mqtt-client.key" \
	JITRD_AWS_REGION=$REGION JITRD_AWS_ENDPOINT="$emu_url" JITRD_AWS_ACCOUNT_ID=$ACCOUNT \
	AWS_ACCESS_KEY_ID=$KEY_ID AWS_SECRET_ACCESS_KEY=$SECRET \
	$as_user "$image/usr/local/bin/jitrd" "$@" >>"$work/jitrd.log" 2>&1) &
jitrd_pid=$!

healthz() { curl -s -f --max-time 2 "http://127.0.0.1:$status_port/healthz"; }
check "/healthz answers 200" wait_until 15 healthz
check "/healthz says ok" sh -c "curl -s 'http://127.0.0.1:$status_port/healthz' | grep -qx ok"
check "the HEALTHCHECK command succeeds" env -i PATH=/usr/bin:/bin \
	JITRD_SERVICE_LISTEN="0.0.0.0:$status_port" sh -c "$healthcheck"
check "/readyz: ready (subscribed, CRL current)" wait_until 30 ready
check "no configuration file was read: config is the environment" \
	sh -c "grep '\"event\":\"service.starting\"' '$work/jitrd.log' |
		jq -e '.config == \"environment\"'"
check "log lines are JSON (the image's JITRD_SERVICE_LOG_FORMAT)" \
	sh -c "head -n 3 '$work/jitrd.log' | jq -e .event"
if [ -n "$as_user" ]; then
	check "it runs as uid 10001, not root" [ "$(stat -c %u "/proc/$jitrd_pid")" = 10001 ]
	check "the journal belongs to uid 10001" \
		sh -c "[ \"\$(stat -c %u '$work/state/journal.db')\" = 10001 ]"
fi

connect sidecar
check "a device connects: ACTIVE" wait_until 20 status_is sidecar ACTIVE
thing_named() { state && jq -e '[.things[] | select(.thingName == "sidecar")] | length == 1' \
	"$work/state.json"; }
check "... with its Thing (JITRD_PROVISION_THING_NAME)" thing_named
check "/metrics: Prometheus text with the activation counted" \
	sh -c "curl -s 'http://127.0.0.1:$status_port/metrics' |
		grep -q '^jitrd_events_total{decision=\"activate\"} 1'"
check "/metrics: MQTT connected" \
	sh -c "curl -s 'http://127.0.0.1:$status_port/metrics' | grep -q '^jitrd_mqtt_connected 1'"

# docker stop: SIGTERM to the entrypoint's process, exit 0 well within 10 s
start=$(date +%s%N)
kill -TERM "$jitrd_pid"
waited=0
while kill -0 "$jitrd_pid" 2>/dev/null && [ $waited -lt 100 ]; do
	sleep 0.1
	waited=$((waited + 1))
done
wait "$jitrd_pid"
rc=$?
jitrd_pid=""
elapsed_ms=$((($(date +%s%N) - start) / 1000000))
echo "  SIGTERM to exit: $elapsed_ms ms"
check "SIGTERM: stopped within 10 s ($elapsed_ms ms)" [ "$elapsed_ms" -lt 10000 ]
check "SIGTERM: exit 0" [ "$rc" = 0 ]
check "SIGTERM: the log says the journal was closed" \
	grep -q '"event":"service.stopped","reason":"signal; journal closed"' "$work/jitrd.log"
check "the HEALTHCHECK command fails once it stopped" sh -c "! env -i PATH=/usr/bin:/bin \
	JITRD_SERVICE_LISTEN=0.0.0.0:$status_port sh -c '$healthcheck'"

# configuration from JITRD_* only means a typo is an error, not a silent default
env -i PATH=/usr/bin:/bin JITRD_SERVICE_LISTN=0.0.0.0:1 "$JITRD" run >"$work/typo.out" 2>&1
check "an unknown JITRD_SERVICE_* variable: exit 2" [ $? = 2 ]
check "... naming it" grep -q JITRD_SERVICE_LISTN "$work/typo.out"
