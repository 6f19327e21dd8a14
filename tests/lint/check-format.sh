#!/bin/sh
# check-format.sh SOURCE_ROOT — every C file of the tree is as clang-format (the committed
# .clang-format) would write it. Prints the files that are not and "CASES <passed> <failed>".
set -u
root=$1
command -v clang-format >/dev/null 2>&1 || { echo "clang-format missing (scripts/deps installs it)"; exit 1; }
cd "$root" || exit 1
passed=0
failed=0
# What is committed (git ls-files), not build directories or scratch files; from an export
# without git, every C file under src, include and tests.
list=$(git ls-files 'src/*.[ch]' 'include/*.h' 'tests/*.[ch]' 2>/dev/null) ||
	list=$(find src include tests -name '*.[ch]' ! -path 'tests/fuzz/corpus/*' | sort)
for f in $list; do
	if clang-format --style=file --dry-run -Werror "$f" >/dev/null 2>&1; then
		passed=$((passed + 1))
	else
		echo "not clang-format clean: $f (clang-format -i $f)"
		failed=$((failed + 1))
	fi
done
# the check can fail: a badly indented line must be refused
probe=$(mktemp "${TMPDIR:-/tmp}/jitrd-format.XXXXXX.c") || exit 1
printf 'int main(void)\n{\n  return 0;\n}\n' >"$probe"
if clang-format --style="file:$root/.clang-format" --dry-run -Werror "$probe" >/dev/null 2>&1; then
	echo "clang-format accepted a two-space indent: the check is broken"
	failed=$((failed + 1))
else
	passed=$((passed + 1))
fi
rm -f "$probe"
echo "CASES $passed $failed"
[ "$failed" -eq 0 ]
