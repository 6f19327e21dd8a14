#!/usr/bin/env python3
"""test-doc-configs.py JITRD — every example configuration shipped in the tree goes through
`jitrd config-check`: the ```ini blocks of README.md, policies/ and deploy/ markdown, the
sample jitrd.conf files under deploy/, and the JITRD_* environments of the container and
Lambda examples. Paths that name the operator's machine (CA and CRL directories, the state
directory) are pointed at the test PKI; a policy template keeps its file name and is taken
from the tree's policies/. Judged at the fixtures' time. Two deliberately broken examples must
fail the same run, so the check can fail."""
import glob
import os
import re
import subprocess
import sys
import tempfile

JITRD = os.path.realpath(sys.argv[1])
SRC = os.environ["JITRD_SOURCE_ROOT"]
FX = os.environ["JITRD_FIXTURES"]
AT = "2030-06-01T00:00:00Z"

passed = 0
failed = 0


def check(name, condition, detail=""):
    global passed, failed
    if condition:
        passed += 1
        print(f"ok - {name}")
    else:
        failed += 1
        print(f"not ok - {name}" + (f"\n{detail}" if detail else ""))


def rel(path):
    return os.path.relpath(path, SRC)


def markdown_files():
    files = [os.path.join(SRC, "README.md")]
    for top in ("policies", "deploy", "crl"):
        files += sorted(glob.glob(os.path.join(SRC, top, "**", "*.md"), recursive=True))
    return [f for f in files if os.path.isfile(f)]


def ini_blocks(path):
    """(name, text) of each ```ini block of a markdown file."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    blocks = []
    for i, m in enumerate(re.finditer(r"^```ini\n(.*?)^```", text, re.M | re.S)):
        line = text.count("\n", 0, m.start()) + 1
        blocks.append((f"{rel(path)}:{line} (ini block {i + 1})", m.group(1)))
    return blocks


def sample_confs():
    out = []
    for path in sorted(glob.glob(os.path.join(SRC, "deploy", "**", "jitrd.conf*"),
                                 recursive=True)):
        with open(path, encoding="utf-8") as f:
            out.append((rel(path), f.read()))
    return out


def template_path(value):
    """A policy template named by an example: the tree's file of the same name."""
    return os.path.join(SRC, "policies", os.path.basename(value.strip()))


def fill_paths(text, state_dir):
    """The example with its machine paths pointed at the test PKI (section by section, every
    line kept otherwise), and the keys it relies on the defaults for added."""
    replace = {
        ("ca", "dir"): os.path.join(FX, "cas"),
        ("crl", "dir"): os.path.join(FX, "crls"),
        ("service", "state_dir"): state_dir,
    }
    needed = dict(replace)
    needed[("provision", "policy_template")] = template_path("default.json")
    section = None
    seen = set()
    out = []
    for line in text.splitlines():
        m = re.match(r"^\[([a-z]+)\]\s*(;.*)?$", line)
        if m:
            section = m.group(1)
            out.append(line)
            continue
        m = re.match(r"^([a-z_]+)\s*=\s*(.*?)\s*(\s;.*)?$", line)
        if m and section:
            key = (section, m.group(1))
            seen.add(key)
            if key in replace:
                line = f"{m.group(1)} = {replace[key]}"
            elif key == ("provision", "policy_template"):
                line = f"{m.group(1)} = {template_path(m.group(2))}"
        out.append(line)
    for (section, key), value in needed.items():
        if (section, key) not in seen:
            out.append(f"[{section}]\n{key} = {value}")
    return "\n".join(out) + "\n"


def env_examples():
    """(name, {JITRD_*: value}) of the container and Lambda examples."""
    examples = []
    compose = os.path.join(SRC, "deploy", "container", "compose.yaml")
    if os.path.isfile(compose):
        env = {}
        with open(compose, encoding="utf-8") as f:
            for line in f:
                m = re.match(r'^\s+(JITRD_[A-Z_]+):\s*"?(.*?)"?\s*$', line)
                if m:
                    # ${VAR:-default} as compose expands it with VAR unset
                    env[m.group(1)] = re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", m.group(2))
        examples.append((rel(compose) + " (environment)", env))
    for path in markdown_files():
        with open(path, encoding="utf-8") as f:
            text = f.read()
        for m in re.finditer(r"Variables=\{(.*?)\}'", text):
            env = dict(kv.split("=", 1) for kv in m.group(1).split(",JITRD_")
                       if "=" in kv)
            env = {(k if k.startswith("JITRD_") else "JITRD_" + k): v for k, v in env.items()}
            line = text.count("\n", 0, m.start()) + 1
            examples.append((f"{rel(path)}:{line} (Lambda environment)", env))
        # each `podman run` example on its own (MQTT and SQS are one or the other)
        for n, block in enumerate(re.split(r"\b(?:podman|docker) run\b", text)[1:], 1):
            dash_e = re.findall(r"-e (JITRD_[A-Z_]+)=(\S+)", block)
            if dash_e:
                examples.append((f"{rel(path)} (-e JITRD_* of run example {n})", dict(dash_e)))
    return examples


def config_check(conf_text, env_extra, work):
    conf = os.path.join(work, "example.conf")
    with open(conf, "w", encoding="utf-8") as f:
        f.write(conf_text)
    env = {"PATH": "/usr/bin:/bin"}
    env.update(env_extra)
    proc = subprocess.run([JITRD, "config-check", "-c", conf, "--at", AT], env=env,
                          capture_output=True, text=True, timeout=60)
    output = proc.stdout + proc.stderr
    return proc.returncode == 0 and re.search(r"^configuration OK$", output, re.M), output


def run_ini(name, text, work):
    filled = fill_paths(text, os.path.join(work, "state"))
    ok, output = config_check(filled, {}, work)
    return ok, f"--- {name} as checked:\n{filled}--- config-check said:\n{output}"


def run_env(name, env, work):
    env = dict(env)
    env["JITRD_CA_DIR"] = os.path.join(FX, "cas")
    env["JITRD_CRL_DIR"] = os.path.join(FX, "crls")
    env["JITRD_SERVICE_STATE_DIR"] = os.path.join(work, "state")
    env["JITRD_PROVISION_POLICY_TEMPLATE"] = template_path(
        env.get("JITRD_PROVISION_POLICY_TEMPLATE", "default.json"))
    ok, output = config_check("", env, work)
    return ok, f"--- {name}: {env}\n--- config-check said:\n{output}"


def main():
    with tempfile.TemporaryDirectory() as work:
        inis = [b for path in markdown_files() for b in ini_blocks(path)] + sample_confs()
        envs = env_examples()
        names = [n for n, _ in inis] + [n for n, _ in envs]
        check(f"examples found ({len(inis)} ini, {len(envs)} environments)",
              len(inis) >= 4 and len(envs) >= 2, "\n".join(names))
        for must in ("README.md:", "policies/README.md:", "deploy/jitrd.conf.sample",
                     "deploy/systemd/jitrd.conf", "compose.yaml", "Lambda environment"):
            check(f"an example from {must} is among them", any(must in n for n in names))
        for name, text in inis:
            ok, detail = run_ini(name, text, work)
            check(f"{name}: configuration OK", ok, "" if ok else detail)
        for name, env in envs:
            ok, detail = run_env(name, env, work)
            check(f"{name}: configuration OK", ok, "" if ok else detail)

        # The harness can fail: the per-device example as it was (a document holding
        # {{certificate.id}} under a name without it), and a misspelt key.
        broken = ("[provision]\npolicy_template = /etc/jitrd/policies/per-device.json\n"
                  "policy_name = device-{{subject.CN}}\n")
        ok, detail = run_ini("broken per-device example", broken, work)
        check("the old per-device example is refused", not ok, detail)
        check("... with the remedy named once", "add {{certificate.id}} to the name" in detail
              and "(or {{certificate.id}})" not in detail, detail)
        ok, detail = run_ini("misspelt key", "[provision]\npolicy_nam = x\n", work)
        check("an example with a misspelt key is refused", not ok, detail)

    print(f"CASES {passed} {failed}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
