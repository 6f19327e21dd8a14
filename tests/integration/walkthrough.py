#!/usr/bin/env python3
"""walkthrough.py README SECTION OUT.sh [NAME=VALUE...] — the fenced ```sh blocks of one
README section (from the "## SECTION" heading to the next "## " heading) as one shell script,
in order, for tests/integration/test-walkthrough.sh. A block whose first line begins with
"# not run by the test" is left out (and counted). In the first block, the section declares
its variables as NAME=value lines; each NAME=VALUE argument replaces the value of that line,
and a NAME the block does not declare is an error, as is a section that is missing or has no
command. Prints one line: "blocks <run> <not run> variables <replaced>" and, for each block
left out, "not run: <its reason>". Exit 0, or 1 with the reason on standard error."""
import re
import shlex
import sys

NOT_RUN = "# not run by the test"


def section_text(readme, title):
    m = re.search(r"^## " + re.escape(title) + r"\n(.*?)(?=^## |\Z)", readme, re.M | re.S)
    return m.group(1) if m else None


def main(argv):
    if len(argv) < 4:
        sys.stderr.write("usage: walkthrough.py README SECTION OUT.sh [NAME=VALUE...]\n")
        return 2
    readme_path, title, out_path = argv[1:4]
    values = {}
    for arg in argv[4:]:
        name, sep, value = arg.partition("=")
        if not sep or not re.fullmatch(r"[A-Z_][A-Z0-9_]*", name):
            sys.stderr.write(f"walkthrough.py: {arg!r} is not NAME=VALUE\n")
            return 2
        values[name] = value
    with open(readme_path, encoding="utf-8") as f:
        text = section_text(f.read(), title)
    if text is None:
        sys.stderr.write(f"walkthrough.py: no section '## {title}' in {readme_path}\n")
        return 1
    blocks = re.findall(r"^```sh\n(.*?)^```\s*$", text, re.M | re.S)
    run, skipped = [], []
    for block in blocks:
        first = block.lstrip().splitlines()[0] if block.strip() else ""
        if first.startswith(NOT_RUN):
            skipped.append(first[len(NOT_RUN):].lstrip(": ").strip() or "(no reason given)")
        else:
            run.append(block)
    commands = [line for block in run for line in block.splitlines()
                if line.strip() and not line.lstrip().startswith("#")]
    if not commands:
        sys.stderr.write(f"walkthrough.py: section '## {title}' has no command to run\n")
        return 1
    replaced = set()
    lines = []
    for line in run[0].splitlines():
        m = re.match(r"^([A-Z_][A-Z0-9_]*)=(\S*)(\s+#.*)?$", line)
        if m and m.group(1) in values:
            line = f"{m.group(1)}={shlex.quote(values[m.group(1)])}"
            replaced.add(m.group(1))
        lines.append(line)
    missing = sorted(set(values) - replaced)
    if missing:
        sys.stderr.write("walkthrough.py: the first block does not declare "
                         + ", ".join(missing) + "\n")
        return 1
    run[0] = "\n".join(lines) + "\n"
    with open(out_path, "w", encoding="utf-8") as f:
        f.write("# made by tests/integration/walkthrough.py from " + readme_path + "\n")
        f.write("set -e\nset -x\n")
        for i, block in enumerate(run):
            f.write(f"\n# --- block {i + 1}\n{block}")
    print(f"blocks {len(run)} {len(skipped)} variables {len(replaced)}")
    for reason in skipped:
        print(f"not run: {reason}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
