#!/bin/sh
# test-cli.sh JITRD — the jitrd command line on the fixture PKI: exit statuses, outputs and
# messages of --version, --help, config-check and check. Prints "CASES <passed> <failed>".
jitrd=$1
src=${JITRD_SOURCE_ROOT:?}
. "$src/tests/cli/lib.sh"

write_config() { # FILE CRLDIR [EXTRA...]
	f=$1 crldir=$2
	shift 2
	{
		printf '[aws]\nregion = eu-west-1\naccount_id = 123456789012\n'
		printf '[ca]\ndir = %s\n[crl]\ndir = %s\n' "$fx/cas" "$crldir"
		printf '[provision]\npolicy_template = %s\npolicy_name = %s\n' \
			"$src/policies/default.json" "${POLICY_NAME:-jitrd-device}"
		printf '[service]\nlog_format = json\n'
		for line in "$@"; do printf '%s\n' "$line"; done
	} >"$f"
}

write_config "$work/good.conf" "$fx/crls"
expect "--version" 0 '^jitrd [0-9]+\.[0-9]+\.[0-9]+$' "$jitrd" --version
expect "--help lists commands" 0 'config-check' "$jitrd" --help
expect "no command is a usage error" 2 'usage' "$jitrd"
expect "unknown command" 2 "unknown command 'frobnicate'" "$jitrd" frobnicate
expect "check --help" 0 'usage: jitrd check' "$jitrd" check --help
expect "config-check --help" 0 'usage: jitrd config-check' "$jitrd" config-check --help

expect "config-check OK" 0 'configuration OK' "$jitrd" config-check -c "$work/good.conf" --at $at
ca1=$(openssl x509 -in "$fx/cas/ca1.pem" -outform DER | sha256sum | cut -c1-64)
expect "config-check names CA ids" 0 "ca: $ca1" "$jitrd" config-check -c "$work/good.conf" --at $at
expect "config-check shows CRL entries" 0 "crl for CA $ca1: .*ca1.crl.pem, 4 entries" \
	"$jitrd" config-check -c "$work/good.conf" --at $at
expect "config-check: CRLs not yet valid are a problem" 2 'refused: .*thisUpdate .* is after' \
	"$jitrd" config-check -c "$work/good.conf" --at 2026-01-01T00:00:00Z

mkdir "$work/badcrls"
cp "$fx/crls/"* "$fx/crl-cases/ca1-badsig.der" "$work/badcrls/"
write_config "$work/badcrl.conf" "$work/badcrls"
expect "config-check names a bad CRL file" 2 "ca1-badsig.der: refused" \
	"$jitrd" config-check -c "$work/badcrl.conf" --at $at

mkdir "$work/dangling"
cp "$fx/crls/"* "$work/dangling/"
ln -s "$work/no-such-crl.pem" "$work/dangling/rotated.crl.pem"
write_config "$work/dangling.conf" "$work/dangling"
expect "config-check names an unreadable CRL entry" 2 "rotated.crl.pem: refused" \
	"$jitrd" config-check -c "$work/dangling.conf" --at $at

POLICY_NAME=jitrd-device
write_config "$work/shared-name.conf" "$fx/crls"
sed -i "s#policies/default.json#policies/per-device.json#" "$work/shared-name.conf"
expect "config-check: a per-device document under one shared name" 2 \
	"policy_name .* does not use" "$jitrd" config-check -c "$work/shared-name.conf" --at $at
unset POLICY_NAME

write_config "$work/no-account.conf" "$fx/crls"
sed -i "/^account_id/d" "$work/no-account.conf"
expect "config-check notes the missing account" 0 "note: .*account_id" \
	"$jitrd" config-check -c "$work/no-account.conf" --at $at
expect "check without the account the template needs is a config error" 2 "account_id" \
	"$jitrd" check -c "$work/no-account.conf" --at $at "$fx/devices/good.pem"

# where `jitrd run` takes its events from: neither, [mqtt] or [sqs]
expect "config-check: no event source" 0 '^events: none for `jitrd run`' \
	"$jitrd" config-check -c "$work/good.conf" --at $at
write_config "$work/mqtt.conf" "$fx/crls" '[mqtt]' 'url = ssl://broker.example:8883' \
	'client_id = jitrd-1'
expect "config-check shows [mqtt]" 0 \
	'^events: mqtt ssl://broker\.example:8883 topic \$aws/events/certificates/registered/\+ \(client id jitrd-1, qos 1, persistent session\)$' \
	"$jitrd" config-check -c "$work/mqtt.conf" --at $at
write_config "$work/sqs.conf" "$fx/crls" '[sqs]' \
	'queue_url = https://sqs.eu-west-1.amazonaws.com/123456789012/jitrd-events' 'pollers = 4'
expect "config-check shows [sqs]" 0 \
	'^events: sqs https://sqs\.eu-west-1\.amazonaws\.com/123456789012/jitrd-events \(region eu-west-1, 4 poller\(s\) of up to 10 messages, long poll 20 s, visibility timeout 60 s\)$' \
	"$jitrd" config-check -c "$work/sqs.conf" --at $at

write_config "$work/fail-open.conf" "$fx/crls" "[crl]" "fail_open = true"
expect "fail_open never lets a revoked device in with a stale CRL" 0 '"decision":"revoke"' \
	"$jitrd" check -c "$work/fail-open.conf" --at 2031-02-01T00:00:00Z "$fx/devices/revoked.pem"
expect "fail_open activates an unlisted device with a stale CRL" 0 '"decision":"activate"' \
	"$jitrd" check -c "$work/fail-open.conf" --at 2031-02-01T00:00:00Z "$fx/devices/good.pem"

mkfifo "$work/fifo.pem"
expect "check on a FIFO does not hang" 1 "fifo.pem: not a regular file" \
	timeout 10 "$jitrd" check -c "$work/good.conf" --at $at "$work/fifo.pem"
expect "check: --at past the year 9999" 2 "--at" \
	"$jitrd" check -c "$work/good.conf" --at 999999999999 "$fx/devices/good.pem"

write_config "$work/unknown-key.conf" "$fx/crls" "colour = blue"
expect "config-check: unknown key with file:line" 2 "unknown-key.conf:[0-9]+:.*colour" \
	"$jitrd" config-check -c "$work/unknown-key.conf" --at $at
expect "config-check: missing file" 2 "nonexistent.conf" \
	"$jitrd" config-check -c "$work/nonexistent.conf"
POLICY_NAME='device-{{subject.XX}}'
write_config "$work/bad-template.conf" "$fx/crls"
unset POLICY_NAME
expect "config-check: bad name template" 2 "subject.XX" \
	"$jitrd" config-check -c "$work/bad-template.conf" --at $at
JITRD_CRL_FAIL_OPEN=maybe expect "environment override is validated" 2 "JITRD_CRL_FAIL_OPEN" \
	"$jitrd" config-check -c "$work/good.conf" --at $at

# check: the decision of every fixture device, as JSON with a policy document
for pair in good:activate revoked:revoke held:hold unheld:activate expired:reject \
	notyet:reject cadevice:reject wrongsigner:ignore impostor:ignore good2:activate \
	revoked2:revoke; do
	device=${pair%%:*} decision=${pair#*:}
	expect "check $device -> $decision" 0 "\"decision\":\"$decision\"" \
		"$jitrd" check -c "$work/good.conf" --at $at "$fx/devices/$device.pem"
done
# check: path validation by RFC 5280's rules (fixtures/path-validation.sh), with the reason
write_config "$work/pv.conf" "$fx/pv/crls"
sed -i "s#^dir = $fx/cas\$#dir = $fx/pv/cas#" "$work/pv.conf"
for triple in "under-expired-ca:reject:CA certificate expired on 2030-05-20T00:00:00Z" \
	"under-notyet-ca:reject:CA certificate not valid before 2030-07-01" \
	"under-nocertsign-ca:reject:keyUsage lacks keyCertSign" \
	"nc-dn-out:reject:name constraints violated" "nc-email-out:reject:name constraints" \
	"nc-dns-out:reject:name constraints violated" "nc-uri-out:reject:name constraints" \
	"nc-all-in:activate:not on the CRL" "policy-none:reject:requires an explicit policy" \
	"policy-p1:activate:not on the CRL" "inhibitany-any:reject:requires an explicit policy" \
	"inhibitmap-p2:reject:requires an explicit policy" \
	"sha1:reject:signed with SHA1" "md5:reject:signed with MD5" \
	"under-sha1-ca:reject:CA certificate is signed with SHA1" \
	"under-md5-ca:reject:CA certificate is signed with MD5"; do
	device=${triple%%:*} rest=${triple#*:}
	decision=${rest%%:*} reason=${rest#*:}
	expect "check pv/$device -> $decision ($reason)" 0 \
		"\"decision\":\"$decision\",\"reason\":\"[^\"]*$reason" \
		"$jitrd" check -c "$work/pv.conf" --at $at "$fx/pv/devices/$device.pem"
done
expect "config-check names each unusable CA" 2 \
	"unusable at 2030-06-01T00:00:00Z: CA certificate expired on 2030-05-20" \
	"$jitrd" config-check -c "$work/pv.conf" --at $at
for reason in "not valid before 2030-07-01" "its keyUsage lacks keyCertSign" \
	"signed with SHA1" "signed with MD5" "note: ca [0-9a-f]{64}: it has no keyUsage"; do
	expect "config-check: $reason" 2 "$reason" "$jitrd" config-check -c "$work/pv.conf" --at $at
done
expect "config-check: a CA expired at the judging time is a problem" 2 \
	"unusable at 2050-06-01T00:00:00Z: CA certificate expired on 2050-01-01" \
	"$jitrd" config-check -c "$work/good.conf" --at 2050-06-01T00:00:00Z

"$jitrd" check -c "$work/good.conf" --at $at "$fx/devices/good.pem" >"$work/good.json" 2>&1
if python3 -c '
import json, sys
o = json.loads(open(sys.argv[1]).read().splitlines()[-1])
assert o["decision"] == "activate" and o["status"] == "ACTIVE", o
assert o["serial"] == "1001" and o["subject_cn"] == "device-good", o
assert o["policy"] == "jitrd-device", o
assert isinstance(o["policy_document"], dict), o
for key in ("reason", "thing", "certificateId", "caCertificateId"):
    assert key in o, key
' "$work/good.json"; then ok "check JSON carries the outcome fields and the policy document"
else not_ok "check JSON carries the outcome fields and the policy document"; fi

JITRD_SERVICE_LOG_FORMAT=text expect "check in text format" 0 'decision=revoke .*reason=' \
	"$jitrd" check -c "$work/good.conf" --at $at "$fx/devices/revoked.pem"
expect "check: garbage certificate exits 1" 1 "text.pem" \
	"$jitrd" check -c "$work/good.conf" --at $at "$fx/garbage/text.pem"
expect "check: truncated certificate exits 1" 1 "truncated-cert.pem" \
	"$jitrd" check -c "$work/good.conf" --at $at "$fx/garbage/truncated-cert.pem"
expect "check: missing certificate exits 1" 1 "no-such.pem" \
	"$jitrd" check -c "$work/good.conf" --at $at "$work/no-such.pem"
head -c 70000 /dev/zero | tr '\0' 'A' >"$work/huge.pem"
expect "check: oversized certificate exits 1" 1 "huge.pem" \
	"$jitrd" check -c "$work/good.conf" --at $at "$work/huge.pem"
expect "check: bad --at" 2 "--at" "$jitrd" check -c "$work/good.conf" --at yesterday \
	"$fx/devices/good.pem"
expect "check: no certificate argument" 2 "usage" "$jitrd" check -c "$work/good.conf"
expect "check: CRL past nextUpdate defers" 0 '"decision":"defer"' \
	"$jitrd" check -c "$work/good.conf" --at 2031-02-01T00:00:00Z "$fx/devices/good.pem"

echo "CASES $passed $failed"
[ "$failed" -eq 0 ]
