#!/bin/sh
# test-resubscribe.sh JITRD EMULATOR — a daemon that is connected but not subscribed must not
# look healthy, and must recover by itself. mosquitto is made to refuse the subscription and
# jitrd's session is taken over once, so its reconnect meets the refusal: /readyz says why
# (503), STATUS= too, it retries the SUBSCRIBE on that same connection with backoff, and past
# [mqtt] subscribe_grace_seconds the watchdog pings stop. The permission is then given back:
# jitrd is subscribed again without a restart, /readyz is 200 again, pings resume, and a
# device that connects is activated.
# mosquitto 2.0's acl_file is checked when a message is delivered, never at SUBSCRIBE (a
# SUBACK grants QoS 1 whatever the file says), so the refusal comes from its dynamic security
# plugin (shipped with mosquitto), changed live with mosquitto_ctrl: a deny for the topic is
# added to, then removed from, the role that lets anonymous clients subscribe.
# Prints "CASES <passed> <failed>".
JITRD=$1 EMULATOR=$2
SOURCE_ROOT=${JITRD_SOURCE_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$(dirname "$0")/lib.sh"

plugin=$(ls /usr/lib/*/mosquitto_dynamic_security.so /usr/lib/mosquitto_dynamic_security.so \
	2>/dev/null | head -n 1)
if [ -z "$plugin" ] || ! command -v mosquitto_ctrl >/dev/null 2>&1; then
	echo "SKIP: mosquitto's dynamic security plugin or mosquitto_ctrl is missing"
	trap - EXIT
	rm -rf "$work"
	exit 77
fi
dynsec() { mosquitto_ctrl -h 127.0.0.1 -p "$mq_plain" -u admin -P jitrd-admin dynsec "$@" \
	>/dev/null 2>&1; }
# A deny of higher priority inside the role, added and removed: changing a group's roles
# would make the plugin disconnect the group's clients, and the point is that jitrd recovers
# on its own connection.
deny_subscribe() { dynsec addRoleACL subscriber subscribePattern '$aws/events/#' deny 10; }
allow_subscribe() { dynsec removeRoleACL subscriber subscribePattern '$aws/events/#'; }

make_pki && device late && gencrl || fatal "PKI"
mkdir -p "$work/mosquitto"
mosquitto_ctrl dynsec init "$work/mosquitto/dynsec.json" admin jitrd-admin >/dev/null 2>&1 ||
	fatal "dynamic security configuration"
MQ_EXTRA_CONF="plugin $plugin
plugin_opt_config_file $work/mosquitto/dynsec.json"
start_mosquitto || fatal "mosquitto starts (with dynamic security)"
# Anonymous clients (the emulator, jitrd: TLS client certificates, no user name) publish
# anything and subscribe while their group has the subscriber role.
dynsec createRole publisher && dynsec addRoleACL publisher publishClientSend '#' allow &&
	dynsec addRoleACL publisher publishClientSend '$aws/#' allow &&
	dynsec createRole subscriber && dynsec addRoleACL subscriber subscribePattern '#' allow &&
	dynsec addRoleACL subscriber subscribePattern '$aws/#' allow &&
	dynsec createGroup anonymous && dynsec addGroupRole anonymous publisher &&
	dynsec addGroupRole anonymous subscriber && dynsec setAnonymousGroup anonymous ||
	fatal "dynamic security roles"
start_emulator || fatal "emulator starts"
register_ca "$work/ca/device-ca.pem" "$work/pki/ca.key" || fatal "device CA registered"
write_config

notes=$work/notify.jsonl
python3 "$SOURCE_ROOT/tests/deploy/notify-listen.py" "$work/notify.sock" "$notes" &
burst_pid=$! # no burst here: lib_cleanup stops the listener through this slot
wait_until 5 grep -q LISTENING "$notes" 2>/dev/null || fatal "notify listener"
export NOTIFY_SOCKET="$work/notify.sock" WATCHDOG_USEC=2000000
export JITRD_MQTT_SUBSCRIBE_GRACE_SECONDS=4
check "jitrd run starts and becomes ready" start_jitrd

pings() { jq -s '[.[] | select(.fields.WATCHDOG == "1")] | length' "$notes"; }
readyz() { curl -s --max-time 2 "http://127.0.0.1:$status_port/readyz"; }
not_ready() { ! ready; }
status_says() { jq -s -e --arg w "$1" '[.[] | .fields.STATUS // empty] | last | contains($w)' \
	"$notes" >/dev/null; }

# Refuse subscriptions from now on, then take jitrd's session over (same client id, clean
# session): the broker drops jitrd and the session with its subscription; jitrd reconnects
# and its SUBSCRIBE is refused.
check "subscriptions refused from now on" deny_subscribe
mosquitto_sub -h localhost -p "$mq_tls" --cafile "$work/pki/mqtt-ca.pem" \
	--cert "$work/pki/mqtt-client.pem" --key "$work/pki/mqtt-client.key" \
	-i jitrd-integration -t jitrd-it/takeover -W 1 >/dev/null 2>&1
check "the resubscription is refused (logged)" wait_until 15 log_events mqtt.subscribe_refused
check "/readyz: 503 while not subscribed" wait_until 10 not_ready
check "/readyz says why" sh -c "curl -s --max-time 2 http://127.0.0.1:$status_port/readyz |
	grep -q 'connected but not subscribed'"
check "STATUS= says why" wait_until 5 status_says "not subscribed"
connections() { grep -c '"event":"mqtt.connected"' "$work/jitrd.log"; }
refused_on=$(connections)
check "the subscription is retried (with backoff)" wait_until 10 \
	sh -c "[ \$(grep -c '\"event\":\"mqtt.resubscribing\"' '$work/jitrd.log') -ge 2 ]"
check "... on the same connection (no reconnect needed)" [ "$(connections)" = "$refused_on" ]
check "past the grace period: STATUS= unhealthy" wait_until 10 status_says "watchdog pings stopped"
before=$(pings)
sleep 3
check "... and no watchdog ping for 3 s" [ "$(pings)" = "$before" ]

# The plugin disconnects the clients of a role whose ACLs change, so recovery from here
# comes through a reconnect; the retries above are what the fix adds.
check "subscriptions allowed again" allow_subscribe
check "permission back: subscribed again without a restart" wait_until 90 \
	sh -c "[ \$(grep -c '\"event\":\"mqtt.subscribed\"' '$work/jitrd.log') -ge 2 ]"
check "/readyz: 200 again" wait_until 10 ready
back=$(pings)
check "watchdog pings resume" wait_until 5 sh -c "[ \$(jq -s '[.[] | select(.fields.WATCHDOG == \"1\")] | length' '$notes') -gt $back ]"
check "same process throughout" kill -0 "$jitrd_pid"
connect late
check "an event is then delivered: late -> ACTIVE" wait_until 20 status_is late ACTIVE
check "SIGTERM: exit 0" stop_jitrd TERM
