#!/bin/sh
# make-pki.sh OUTDIR [N] — a PKI for the Lambda test, made with the OpenSSL CLI for the current
# date (bootstrap judges at the clock; it has no --at): two CAs, devices, and a CRL of ca1 valid
# from now for 30 days. ca2 has no CRL, so its devices are deferred (and retried).
#   OUTDIR/ca/ca1.pem ca2.pem          what the function ships in ca/
#   OUTDIR/crl/ca1.crl.pem             what it ships in crl/ (lists "revoked")
#   OUTDIR/devices/NAME.pem            ca1: good direct sqs-good revoked pending unknown
#                                           flaky1 flaky2 bench-1..bench-N; ca2: deferred
set -eu

out=${1:?usage: make-pki.sh OUTDIR [N]}
extra=${2:-0}
mkdir -p "$out"
cd "$out"
mkdir -p ca crl devices keys work
start=$(date -u -d '-1 hour' +%Y%m%d%H%M%SZ)

ca_home() { # NAME SERIAL
	d=work/$1
	mkdir -p "$d/new"
	: >"$d/index.txt"
	echo "unique_subject = no" >"$d/index.txt.attr"
	echo "$2" >"$d/serial"
	echo 01 >"$d/crlnumber"
	cat >"$d/ca.cnf" <<CNF
[ ca ]
default_ca = this_ca
[ this_ca ]
dir = $PWD/$d
database = \$dir/index.txt
new_certs_dir = \$dir/new
serial = \$dir/serial
crlnumber = \$dir/crlnumber
certificate = $PWD/ca/$1.pem
private_key = $PWD/keys/$1.key
default_md = sha256
policy = any
copy_extensions = none
unique_subject = no
crl_extensions = crl_ext
[ any ]
commonName = optional
organizationName = optional
[ v3_ca ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ device ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ crl_ext ]
authorityKeyIdentifier = keyid
CNF
}

newkey() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "keys/$1.key" 2>/dev/null; }

make_ca() { # NAME SUBJECT SERIAL
	newkey "$1"
	ca_home "$1" "$3"
	openssl req -new -key "keys/$1.key" -subj "$2" -out "work/$1.csr"
	openssl ca -batch -notext -config "work/$1/ca.cnf" -selfsign -keyfile "keys/$1.key" \
		-in "work/$1.csr" -startdate "$start" -days 3650 -extensions v3_ca \
		-out "ca/$1.pem" 2>/dev/null
}

issue() { # CA NAME
	newkey "dev-$2"
	openssl req -new -key "keys/dev-$2.key" -subj "/O=Example/CN=device-$2" -out "work/$2.csr"
	openssl ca -batch -notext -config "work/$1/ca.cnf" -in "work/$2.csr" -startdate "$start" \
		-days 365 -extensions device -out "devices/$2.pem" 2>/dev/null
}

make_ca ca1 "/O=Example/CN=Lambda Test CA 1" 1000
make_ca ca2 "/O=Example/CN=Lambda Test CA 2" 2000
for d in good direct sqs-good revoked pending unknown flaky1 flaky2; do
	issue ca1 "$d"
done
i=1
while [ "$i" -le "$extra" ]; do
	issue ca1 "bench-$i"
	i=$((i + 1))
done
issue ca2 deferred
openssl ca -config work/ca1/ca.cnf -revoke devices/revoked.pem -crl_reason keyCompromise \
	2>/dev/null
openssl ca -config work/ca1/ca.cnf -gencrl -crldays 30 -out crl/ca1.crl.pem 2>/dev/null
