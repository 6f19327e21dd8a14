# pki.sh — sourced by the operator tests: a test CA made with the OpenSSL CLI for now, with an
# `openssl ca` home (index, CRL number, config) for revoking and CRLs. Needs $work.
make_ca() { # NAME CN
	mkdir -p "$1/new"
	openssl ecparam -name prime256v1 -genkey -noout -out "$1/ca.key" 2>/dev/null &&
		chmod 600 "$1/ca.key" &&
		openssl req -x509 -new -key "$1/ca.key" -subj "/CN=$2" -days 30 -sha256 \
			-addext "basicConstraints=critical,CA:TRUE" \
			-addext "keyUsage=critical,keyCertSign,cRLSign" \
			-addext "subjectKeyIdentifier=hash" -out "$1/ca.pem" 2>/dev/null || return 1
	: >"$1/index.txt"
	echo 01 >"$1/crlnumber"
	cat >"$1/ca.cnf" <<CNF
[ ca ]
default_ca = this_ca
[ this_ca ]
dir = $work/$1
database = \$dir/index.txt
new_certs_dir = \$dir/new
certificate = \$dir/ca.pem
private_key = \$dir/ca.key
crlnumber = \$dir/crlnumber
default_md = sha256
default_crl_days = 7
crl_extensions = crl_ext
[ crl_ext ]
authorityKeyIdentifier = keyid:always
CNF
}
