#!/usr/bin/env python3
"""check-dashboard.py DASHBOARD.json METRICS.txt -- the Grafana dashboard is one Grafana can
import (schemaVersion, panels with ids unique, each non-row panel with PromQL targets) and every
metric its expressions name is a family in METRICS.txt, the text a running `jitrd run` answered
on /metrics. Exit 0 when it holds, 1 with the reasons otherwise."""
import json
import re
import sys

KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and",
            "or", "unless", "offset", "inf", "nan"}
HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")


def metric_names(expr):
    """The metric names an expression selects: what is left once strings, label matchers,
    ranges, grouping lists and function calls are taken out."""
    e = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    e = re.sub(r"'(?:[^'\\]|\\.)*'", "''", e)
    e = re.sub(r"\{[^}]*\}", " ", e)
    e = re.sub(r"\[[^\]]*\]", " ", e)
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", e)
    names = set()
    for m in re.finditer(r"(?<![\w$.])([A-Za-z_:][\w:]*)(\s*\()?", e):
        if m.group(2) or m.group(1).lower() in KEYWORDS:
            continue
        names.add(m.group(1))
    return names


def exported(text):
    """Families (name -> type) declared by # TYPE lines, and names with samples."""
    families, sampled = {}, set()
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            parts = line.split()
            if len(parts) == 4:
                families[parts[2]] = parts[3]
        elif line and not line.startswith("#"):
            sampled.add(re.match(r"[A-Za-z_:][\w:]*", line).group(0))
    return families, sampled


def known(name, families, sampled):
    if name in families or name in sampled:
        return True
    for suffix in HISTOGRAM_SUFFIXES:
        base = name[: -len(suffix)]
        if name.endswith(suffix) and families.get(base) in ("histogram", "summary"):
            return True
    return False


def check(dash, metrics_text):
    problems = []
    if not isinstance(dash, dict):
        return ["the dashboard is not a JSON object"]
    if not isinstance(dash.get("schemaVersion"), int) or dash["schemaVersion"] < 30:
        problems.append("schemaVersion missing or below 30: %r" % dash.get("schemaVersion"))
    if not dash.get("title") or not dash.get("uid"):
        problems.append("title or uid missing")
    panels = dash.get("panels")
    if not isinstance(panels, list) or not panels:
        return problems + ["no panels"]
    flat = []
    for p in panels:
        flat.append(p)
        flat.extend(p.get("panels", []) if isinstance(p, dict) else [])
    ids = [p.get("id") for p in flat if isinstance(p, dict)]
    if len(ids) != len(flat) or any(not isinstance(i, int) for i in ids):
        problems.append("a panel without an integer id")
    if len(set(ids)) != len(ids):
        problems.append("panel ids not unique: %r" % ids)
    exprs = []
    for p in flat:
        if not isinstance(p, dict) or p.get("type") == "row":
            continue
        targets = p.get("targets")
        if not isinstance(targets, list) or not targets:
            problems.append("panel %r has no targets" % p.get("title"))
            continue
        if not isinstance(p.get("gridPos"), dict):
            problems.append("panel %r has no gridPos" % p.get("title"))
        refs = [t.get("refId") for t in targets]
        if len(set(refs)) != len(refs) or None in refs:
            problems.append("panel %r: refIds missing or repeated" % p.get("title"))
        for t in targets:
            if not isinstance(t.get("expr"), str) or not t["expr"].strip():
                problems.append("panel %r: a target without a PromQL expr" % p.get("title"))
            else:
                exprs.append((p.get("title"), t["expr"]))
    for v in dash.get("templating", {}).get("list", []):
        q = v.get("query")
        q = q.get("query") if isinstance(q, dict) else q
        if v.get("type") == "query" and isinstance(q, str):
            m = re.match(r"\s*label_values\(\s*(.*),\s*\w+\s*\)\s*$", q)
            exprs.append(("variable " + v.get("name", "?"), m.group(1) if m else q))
    families, sampled = exported(metrics_text)
    if not families:
        problems.append("the /metrics text declares no family")
    names = set()
    for title, expr in exprs:
        found = metric_names(expr)
        if not found:
            problems.append("%s: no metric in %r" % (title, expr))
        for n in found:
            names.add(n)
            if not known(n, families, sampled):
                problems.append("%s: %s is not in /metrics" % (title, n))
    return problems, sorted(names)


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: check-dashboard.py DASHBOARD.json METRICS.txt")
    try:
        with open(sys.argv[1], encoding="utf-8") as f:
            dash = json.load(f)
    except (OSError, ValueError) as e:
        print("the dashboard cannot be read: %s" % e)
        return 1
    with open(sys.argv[2], encoding="utf-8") as f:
        text = f.read()
    result = check(dash, text)
    problems, names = result if isinstance(result, tuple) else (result, [])
    for p in problems:
        print("problem: " + p)
    if not problems:
        print("%d metrics, all exported: %s" % (len(names), " ".join(names)))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
