#!/bin/sh
# package.sh BUILD_DIR OUT.zip — the function.zip for AWS Lambda's provided.al2023 runtime:
#   bootstrap     the jitrd binary, relinked from BUILD_DIR with DT_RPATH=$ORIGIN/lib
#   lib/          every shared library it needs beyond glibc (resolved with ldd)
#   policies/     the policy templates of the tree
#   ca/, crl/     only when CA_DIR / CRL_DIR name directories to ship (PEM or DER files)
# glibc is not shipped: al2023 has its own (2.34), so every symbol version the binary and lib/
# ask of glibc must be at most GLIBC_2.34 (checked here; Debian 12 builds meet it, a clang
# sanitizer build does not: its runtime needs 2.35).
# Why an RPATH: Lambda's LD_LIBRARY_PATH is /var/lang/lib:/lib64:/usr/lib64:...:/var/task/lib,
# so al2023's own copies of libcrypto, libcurl, ... would win over lib/; DT_RPATH is searched
# before LD_LIBRARY_PATH (DT_RUNPATH is not), so bootstrap always gets the libraries it was
# built with. Needs: ninja, ldd, objdump, python3 (zipfile; no zip tool needed).
set -eu

if [ $# -ne 2 ]; then
	echo "usage: [CA_DIR=dir] [CRL_DIR=dir] $0 BUILD_DIR OUT.zip" >&2
	exit 2
fi
build=$(cd "$1" && pwd) || exit 2
out=$2
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
# al2023's glibc; only a build that can never run there (sanitizers) may raise it.
glibc_max=${GLIBC_MAX:-2.34}

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT INT TERM

# Relink jitrd exactly as the build does, with the RPATH added (no patchelf needed).
ninja -C "$build" src/jitrd >/dev/null
link=$(cd "$build" && ninja -t commands src/jitrd | tail -n 1)
case $link in
*" -o src/jitrd "*) ;;
*)
	echo "package.sh: cannot find the link command of src/jitrd in $build" >&2
	exit 1
	;;
esac
link=$(printf '%s' "$link" | sed "s# -o src/jitrd # -o '$stage/bootstrap' #")
(cd "$build" && eval "$link -Wl,-rpath,'\$ORIGIN/lib' -Wl,--disable-new-dtags")

# Shared libraries beyond glibc: the glibc family comes from the al2023 image.
mkdir "$stage/lib"
ldd "$stage/bootstrap" >"$stage/ldd.txt"
if grep -q 'not found' "$stage/ldd.txt"; then
	cat "$stage/ldd.txt" >&2
	echo "package.sh: a library of bootstrap is missing" >&2
	exit 1
fi
awk '$2 == "=>" && $3 ~ /^\// { print $1, $3 }' "$stage/ldd.txt" | while read -r soname path; do
	case $soname in
	linux-vdso.so.* | ld-linux*.so.* | libc.so.* | libm.so.* | libpthread.so.* | libdl.so.* | \
		librt.so.* | libresolv.so.* | libutil.so.* | libanl.so.* | libnsl.so.* | \
		libmvec.so.* | libBrokenLocale.so.* | libthread_db.so.*)
		continue
		;;
	esac
	cp -L "$path" "$stage/lib/$soname"
	chmod 0644 "$stage/lib/$soname"
done
rm -f "$stage/ldd.txt"

# The glibc symbol versions asked for must exist on al2023.
need=$(for f in "$stage/bootstrap" "$stage"/lib/*; do
	objdump -T "$f" | awk '/\*UND\*/' | grep -o 'GLIBC_[0-9][0-9.]*' || true
done | sed 's/GLIBC_//' | sort -u -t. -k1,1n -k2,2n -k3,3n | tail -n 1)
if [ -n "$need" ] && [ "$(printf '%s\n%s\n' "$need" "$glibc_max" | sort -t. -k1,1n -k2,2n -k3,3n | tail -n 1)" != "$glibc_max" ]; then
	echo "package.sh: bootstrap or lib/ needs GLIBC_$need; al2023 has $glibc_max" >&2
	exit 1
fi

strip --strip-unneeded "$stage/bootstrap" "$stage"/lib/*
mkdir "$stage/policies"
cp "$src"/policies/*.json "$stage/policies/"
for pair in "ca:${CA_DIR:-}" "crl:${CRL_DIR:-}"; do
	dir=${pair#*:}
	[ -n "$dir" ] || continue
	mkdir "$stage/${pair%%:*}"
	find "$dir" -maxdepth 1 -type f -exec cp {} "$stage/${pair%%:*}/" \;
done

# zipfile keeps the modes Lambda needs (bootstrap executable) in external_attr.
python3 - "$stage" "$out" <<'EOF'
import os, sys, zipfile
stage, out = sys.argv[1], sys.argv[2]
tmp = out + ".tmp"
with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
    for root, dirs, files in os.walk(stage):
        dirs.sort()
        for name in sorted(files):
            path = os.path.join(root, name)
            arc = os.path.relpath(path, stage)
            info = zipfile.ZipInfo(arc, date_time=(2020, 1, 1, 0, 0, 0))
            info.external_attr = (0o100755 if arc == "bootstrap" else 0o100644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            with open(path, "rb") as f:
                z.writestr(info, f.read())
os.replace(tmp, out)
EOF
echo "package.sh: wrote $out (glibc needed: ${need:-none}, al2023 has $glibc_max)"
