#!/bin/sh
# bench-emulator.sh IOT_EMULATOR [N] — the emulator's own requests/s: N SigV4-signed
# DescribeCertificate and UpdateCertificate calls over one keep-alive connection (curl
# --aws-sigv4, one process per run), then over two connections at once; plus the emulator's
# CPU time per request from /proc. A benchmark, not a test: it fails only if a call fails.
set -u
emulator=$1
n=${2:-5000}
work=$(mktemp -d)
emu_pid=""
trap '[ -n "$emu_pid" ] && kill $emu_pid 2>/dev/null; rm -rf "$work"' EXIT

"$emulator" --listen 127.0.0.1:0 --region us-east-1 --account-id 123456789012 \
	--access-key-id AKIDBENCH --secret-access-key benchsecret >"$work/emu.out" 2>&1 &
emu_pid=$!
i=0
until grep -q 'listening on' "$work/emu.out" 2>/dev/null; do
	i=$((i + 1))
	[ $i -ge 100 ] && { echo "emulator did not start"; exit 1; }
	sleep 0.1
done
url=$(sed -n 's/.*listening on \(http:[^ ]*\).*/\1/p' "$work/emu.out")
sign="--aws-sigv4 aws:amz:us-east-1:iot --user AKIDBENCH:benchsecret"

# A CA and one device, registered through JITR. (curl 7.88's --aws-sigv4 signs the query
# string unsorted, so the parameters are written in sorted order here.)
cd "$work" || exit 1
openssl ecparam -name prime256v1 -genkey -noout -out ca.key 2>/dev/null
openssl req -x509 -new -key ca.key -days 2 -subj /CN=BenchCA \
	-addext basicConstraints=critical,CA:TRUE -out ca.pem 2>/dev/null
code=$(curl -s $sign "$url/registrationcode" | jq -r .registrationCode)
openssl req -new -key ca.key -subj "/CN=$code" -out v.csr 2>/dev/null
openssl x509 -req -in v.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 -out v.pem \
	2>/dev/null
openssl req -new -key ca.key -subj /CN=dev -out d.csr 2>/dev/null
openssl x509 -req -in d.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 -out d.pem \
	2>/dev/null
jq -n --rawfile ca ca.pem --rawfile v v.pem '{caCertificate:$ca, verificationCertificate:$v}' \
	>reg.json
curl -s $sign -H 'Content-Type: application/json' --data-binary @reg.json \
	"$url/cacertificate?allowAutoRegistration=true&setAsActive=true" >/dev/null
id=$(curl -s --data-binary @d.pem "$url/_emulator/connect" | jq -r .certificateId)
[ ${#id} -eq 64 ] || { echo "setup failed"; exit 1; }

cpu_ticks() { awk '{print $14 + $15}' /proc/$emu_pid/stat; }
now_ns() { date +%s%N; }

run() { # LABEL METHOD URL CONNECTIONS
	label=$1 method=$2 target=$3 conns=$4
	per=$((n / conns))
	i=0
	: >urls
	while [ $i -lt $per ]; do
		printf 'url = "%s"\noutput = "/dev/null"\n' "$target"
		i=$((i + 1))
	done >urls
	t0=$(now_ns)
	c0=$(cpu_ticks)
	c=0
	pids=""
	while [ $c -lt $conns ]; do
		curl -s $sign -X "$method" -K urls -w '%{http_code}\n' >codes.$c &
		pids="$pids $!"
		c=$((c + 1))
	done
	for p in $pids; do wait "$p"; done
	t1=$(now_ns)
	c1=$(cpu_ticks)
	total=$((per * conns))
	good=$(cat codes.* | grep -c '^200$')
	rm -f codes.*
	hz=$(getconf CLK_TCK)
	awk -v l="$label" -v t=$total -v g="$good" -v ns=$((t1 - t0)) -v cpu=$((c1 - c0)) \
		-v hz="$hz" -v k="$conns" 'BEGIN {
		s = ns / 1e9;
		printf "bench emulator %s: %d requests (%d ok) over %d keep-alive connection(s) in %.2f s = %.0f req/s; emulator CPU %.1f us/request\n",
			l, t, g, k, s, t / s, cpu / hz / t * 1e6 }'
	[ "$good" -eq "$total" ]
}

status=0
run DescribeCertificate GET "$url/certificates/$id" 1 || status=1
run UpdateCertificate PUT "$url/certificates/$id?newStatus=ACTIVE" 1 || status=1
run DescribeCertificate GET "$url/certificates/$id" 2 || status=1
exit $status
