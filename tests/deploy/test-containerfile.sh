#!/bin/sh
# test-containerfile.sh — deploy/container/Containerfile's shape without a container
# engine. Every line is a known instruction (or a continuation/comment); two stages (build on
# debian:12, run on debian:12-slim); a non-root USER, HEALTHCHECK, STOPSIGNAL SIGTERM and a JSON
# ENTRYPOINT in the final stage; every COPY source exists; every package named exists for
# Debian 12 (`apt-cache policy`); and the runtime packages hold every library the built jitrd
# links (its NEEDED entries, mapped to packages with dpkg -S). Prints "CASES <passed> <failed>".
set -u
SOURCE_ROOT=${JITRD_SOURCE_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD_ROOT=${JITRD_BUILD_ROOT:-}
CF=$SOURCE_ROOT/deploy/container/Containerfile
passed=0
failed=0
trap 'echo "CASES $passed $failed"; [ $failed = 0 ] && [ $passed -gt 0 ]' EXIT
ok() { passed=$((passed + 1)); echo "ok - $1"; }
not_ok() { failed=$((failed + 1)); echo "not ok - $1"; }
check() {
	name=$1
	shift
	if "$@" >/dev/null 2>&1; then ok "$name"; else not_ok "$name"; fi
}

# Logical lines: continuations joined, comments and blank lines dropped.
logical=$(awk '/^[ \t]*#/ && !cont { next } { line = line $0 } /\\$/ { sub(/\\$/, "", line);
	cont = 1; next } { cont = 0; if (line ~ /[^ \t]/) print line; line = "" }' "$CF")
instructions='FROM|RUN|CMD|LABEL|EXPOSE|ENV|ADD|COPY|ENTRYPOINT|VOLUME|USER|WORKDIR|ARG|ONBUILD'
instructions="$instructions|STOPSIGNAL|HEALTHCHECK|SHELL"
unknown=$(printf '%s\n' "$logical" | grep -Ev "^($instructions) ")
check "every instruction is a Containerfile instruction" [ -z "$unknown" ]
[ -z "$unknown" ] || printf '  unknown: %s\n' "$unknown"

froms=$(printf '%s\n' "$logical" | grep '^FROM ')
check "two stages" [ "$(printf '%s\n' "$froms" | wc -l)" = 2 ]
check "build stage: FROM debian:12 AS build" \
	[ "$(printf '%s\n' "$froms" | head -n 1)" = "FROM debian:12 AS build" ]
check "runtime stage: FROM debian:12-slim" \
	[ "$(printf '%s\n' "$froms" | tail -n 1)" = "FROM debian:12-slim" ]
final=$(printf '%s\n' "$logical" | awk '/^FROM / { n++ } n == 2')
build=$(printf '%s\n' "$logical" | awk '/^FROM / { n++ } n == 1')
user=$(printf '%s\n' "$final" | sed -n 's/^USER \([^ ]*\).*/\1/p' | tail -n 1)
check "final stage: USER set" [ -n "$user" ]
case ${user%%:*} in
"" | root | 0) not_ok "final stage: USER is not root (got '$user')" ;;
*) ok "final stage: USER is not root ($user)" ;;
esac
check "final stage: HEALTHCHECK on /healthz" \
	sh -c "printf '%s\n' \"\$1\" | grep -q '^HEALTHCHECK .*CMD .*/healthz'" _ "$final"
check "final stage: STOPSIGNAL SIGTERM" \
	sh -c "printf '%s\n' \"\$1\" | grep -qx 'STOPSIGNAL SIGTERM'" _ "$final"
entry=$(printf '%s\n' "$final" | sed -n 's/^ENTRYPOINT //p')
check "final stage: ENTRYPOINT is JSON [\"/usr/local/bin/jitrd\", \"run\"]" \
	sh -c "printf '%s' '$entry' | python3 -c 'import json, sys;
assert json.load(sys.stdin) == [\"/usr/local/bin/jitrd\", \"run\"]'"
check "final stage: no configuration file copied (JITRD_* only)" \
	sh -c "! printf '%s\n' \"\$1\" | grep -q 'jitrd.conf'" _ "$final"
check "final stage: the binary comes from the build stage" \
	sh -c "printf '%s\n' \"\$1\" | grep -q '^COPY --from=build '" _ "$final"

# every COPY source (not --from) exists in the source tree
copies=$(printf '%s\n' "$logical" | grep '^COPY ' | grep -v -- '--from=' |
	awk '{ for (i = 2; i < NF; i++) print $i }')
missing=""
for c in $copies; do
	[ -e "$SOURCE_ROOT/$c" ] || missing="$missing $c"
done
check "every COPY source exists ($(echo $copies | tr '\n' ' '))" [ -z "$missing" ]

# packages: apt-get install lines of each stage
packages_of() { # STAGE_TEXT: the names after "apt-get install ... " up to the next &&
	printf '%s\n' "$1" | grep 'apt-get install' | sed 's/.*apt-get install//; s/&&.*//' |
		tr ' \t' '\n\n' | grep -v '^-' | grep -v '^$'
}
runtime_pkgs=$(packages_of "$final")
build_pkgs=$(packages_of "$build")
for p in libssl3 libjson-c5 libinih1 libcurl4 libpaho-mqtt1.3 libsqlite3-0 libmicrohttpd12 \
	ca-certificates; do
	check "runtime stage installs $p" sh -c "printf '%s\n' '$runtime_pkgs' | grep -qx '$p'"
done
check "runtime stage installs no -dev package" \
	sh -c "! printf '%s\n' '$runtime_pkgs' | grep -q -- '-dev\$'"
if command -v apt-cache >/dev/null 2>&1; then
	for p in $runtime_pkgs $build_pkgs; do
		# Installed or installable: "Installed: x" or "Candidate: x", not "(none)" for both
		check "apt-cache policy knows $p" sh -c "apt-cache policy '$p' |
			grep -E '^  (Installed|Candidate): ' | grep -qv '(none)'"
	done
else
	echo "  (apt-cache not found: package names not checked)"
fi

# the runtime packages cover what the binary links (beyond glibc and the compiler runtime)
jitrd=${BUILD_ROOT:+$BUILD_ROOT/src/jitrd}
if [ -n "$jitrd" ] && [ -x "$jitrd" ] && command -v dpkg >/dev/null 2>&1; then
	needed=$(readelf -d "$jitrd" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
	for lib in $needed; do
		case $lib in
		libc.so.* | libm.so.* | libpthread.so.* | libdl.so.* | ld-linux* | libgcc_s.so.*) continue ;;
		libasan.so.* | libubsan.so.*) continue ;; # a sanitizer build's runtime
		esac
		path=$(ldd "$jitrd" | awk -v l="$lib" '$1 == l { print $3 }')
		pkg=$(dpkg -S "$(readlink -f "$path")" 2>/dev/null | head -n 1 | cut -d: -f1)
		check "$lib (package ${pkg:-?}) is installed by the runtime stage" \
			sh -c "printf '%s\n' '$runtime_pkgs' | grep -qx '${pkg:-none}'"
	done
else
	echo "  (no built jitrd or no dpkg: NEEDED libraries not checked)"
fi
