# pki.sh — sourced by the operator tests: a test CA made with the OpenSSL CLI for now, with an
# `openssl ca` home (index, CRL number, config) for revoking and CRLs (needs $work); a command
# interrupted midway (needs $url, the emulator).
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

# signal_after_calls OPERATION N SIGNAL TIMEOUT_TENTHS COMMAND...: runs COMMAND in the
# background and sends it SIGNAL once the emulator ($url) answered N more calls of OPERATION,
# waiting at most TIMEOUT_TENTHS tenths of a second (then gives up); returns its exit status.
signal_after_calls() {
	op=$1 want=$2 sig=$3 tenths=$4
	shift 4
	first=$(curl -sf "$url/_emulator/state" |
		json_field '["counters"]["operations"].get("'"$op"'", 0)')
	"$@" &
	run_pid=$!
	i=0
	while [ $(($(curl -sf "$url/_emulator/state" |
		json_field '["counters"]["operations"].get("'"$op"'", 0)') - first)) -lt "$want" ]; do
		i=$((i + 1))
		[ $i -ge "$tenths" ] && give_up "no progress: fewer than $want $op calls"
		sleep 0.1
	done
	kill -"$sig" $run_pid
	wait $run_pid
	st=$?
	run_pid=""
	return $st
}
