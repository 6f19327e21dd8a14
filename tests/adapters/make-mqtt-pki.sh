#!/bin/sh
# make-mqtt-pki.sh OUTDIR — a throwaway TLS PKI for the MQTT integration test, made with the
# OpenSSL CLI. Unlike tests/fixtures, TLS peers judge validity by the real clock, so these
# certificates are made fresh for each run, valid from now for ten years. Tests only.
#
#   OUTDIR/ca.pem, ca.key            the test CA
#   OUTDIR/server.pem, server.key    broker, subjectAltName IP:127.0.0.1, DNS:localhost
#   OUTDIR/wrong.pem, wrong.key      broker, same CA, subjectAltName DNS:wrong.example only
#   OUTDIR/client.pem, client.key    the client (jitrd, mosquitto_pub)
#   OUTDIR/rogue.pem, rogue.key      a client certificate from another CA the broker does not trust
set -eu

out=${1:?usage: make-mqtt-pki.sh OUTDIR}
mkdir -p "$out"
cd "$out"

# ca NAME CN
ca() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1.key" \
		-out "$1.pem" -days 3650 -subj "/CN=$2" -addext "basicConstraints=critical,CA:TRUE" \
		-addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
}

# leaf NAME CN SAN EKU [ISSUER]
leaf() {
	issuer=${5:-ca}
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1.key" \
		-out "$1.csr" -subj "/CN=$2" 2>/dev/null
	printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n' >"$1.ext"
	printf 'extendedKeyUsage=%s\n' "$4" >>"$1.ext"
	if [ -n "$3" ]; then
		printf 'subjectAltName=%s\n' "$3" >>"$1.ext"
	fi
	openssl x509 -req -in "$1.csr" -CA "$issuer.pem" -CAkey "$issuer.key" \
		-CAcreateserial -days 3650 \
		-extfile "$1.ext" -out "$1.pem" 2>/dev/null
	rm -f "$1.csr" "$1.ext"
}

ca ca "jitrd MQTT test CA"
ca rogue-ca "jitrd MQTT rogue CA"
leaf server localhost "IP:127.0.0.1,DNS:localhost" serverAuth
leaf wrong wrong.example "DNS:wrong.example" serverAuth
leaf client jitrd-test-client "" clientAuth
leaf rogue jitrd-test-client "" clientAuth rogue-ca
chmod 0644 ./*.key
