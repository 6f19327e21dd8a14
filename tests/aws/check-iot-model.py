#!/usr/bin/env python3
"""check-iot-model.py DUMP_IOT_OPS — every row of the IoT client's table of operations
(src/aws/iot_operations.c, printed by dump_iot_ops) against botocore's model of the service
(data/iot/2015-05-28/service-2.json and paginators-1.json): the operation's name, its http
method and requestUri, the URI label and the pattern the client checks it with, the querystring
and header locationNames and the body members it sends, the output members it reads (none only
where the output has none), and for the list operations the paginator's tokens and result key.
The checker is also run on broken copies of the rows, which it must refuse. Skipped (77) where
botocore is not installed. Prints "CASES <passed> <failed>"; exit 1 on any failure."""
import copy
import gzip
import json
import os
import re
import subprocess
import sys

try:
    import botocore
except ImportError:
    print("SKIP: botocore is not installed (pip install botocore)")
    sys.exit(77)

# The pattern botocore gives the label's shape, for each check the client makes of a label.
LABEL_PATTERNS = {
    "certificate_id": ("(0x)?[a-fA-F0-9]+", 64, 64),
    "ca_certificate_id": ("(0x)?[a-fA-F0-9]+", 64, 64),
    "policy_name": ("[\\w+=,.@-]+", 1, 128),
    "thing_name": ("[a-zA-Z0-9:_-]+", 1, 128),
    "target": (None, None, None),  # PolicyTarget: a free string, checked as header text
    "policy_version_id": ("[0-9]+", None, None),  # the client bounds it at 15 digits
}

results = []  # (case, what is wrong with it: "" when nothing)


def load(folder, name):
    path = os.path.join(folder, name)
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    with gzip.open(path + ".gz", "rt", encoding="utf-8") as f:
        return json.load(f)


def row_problems(row, model, paginators):
    """What is wrong with one row, as a list of sentences."""
    problems = []
    op = model["operations"].get(row["name"])
    if op is None:
        return [f"{row['name']}: no such operation"]
    shapes = model["shapes"]
    http = op["http"]
    if row["method"] != http["method"]:
        problems.append(f"method {row['method']}, the model's {http['method']}")
    uri = http["requestUri"].split("?")[0]
    if row["uri"] != uri:
        problems.append(f"URI {row['uri']}, the model's {uri}")
    members = shapes[op["input"]["shape"]]["members"] if "input" in op else {}

    def located(where):
        return {m.get("locationName", n): m for n, m in members.items() if m.get("location") == where}

    labels = re.findall(r"\{([^}]+)\}", row["uri"])
    checks = [row["label"], row.get("label2", "none")]
    if len(labels) > 2:
        problems.append(f"{len(labels)} labels in the URI; the client fills two")
    for i, kind in enumerate(checks):
        if i >= len(labels):
            if kind != "none":
                problems.append(f"a label check ({kind}) without label {i + 1} in the URI")
            continue
        member = located("uri").get(labels[i])
        pattern = LABEL_PATTERNS.get(kind)
        if member is None or pattern is None:
            problems.append(f"label {labels[i]} ({kind}) is not a URI member")
        elif pattern[0] is not None:
            shape = shapes[member["shape"]]
            got = (shape.get("pattern"), shape.get("min"), shape.get("max"))
            if got != pattern:
                problems.append(f"label {labels[i]} checked as {kind} {pattern}, the "
                                f"model's shape {member['shape']} is {got}")
    for name in row["query"]:
        if name not in located("querystring"):
            problems.append(f"query {name} is not a querystring member")
    for name in row["body"]:
        if name not in members or "location" in members[name]:
            problems.append(f"body member {name} is not in the request body")
    if row["header"] is not None and row["header"] not in located("header"):
        problems.append(f"header {row['header']} is not a header member")
    output = shapes[op["output"]["shape"]]["members"] if "output" in op else {}
    for name in row["answer"]:
        if name not in output:
            problems.append(f"answer member {name} is not in the output")
    if not row["answer"] and output:
        problems.append(f"reads nothing of an output with members {sorted(output)}")
    if row["reader"] and not row["answer"]:
        problems.append("a reader without answer members")
    pages = paginators.get(row["name"])
    if pages is not None:
        want = {"query[0]": pages["input_token"], "answer[0]": pages["result_key"],
                "answer[1]": pages["output_token"]}
        got = {"query[0]": (row["query"] or [None])[0],
               "answer[0]": (row["answer"] or [None])[0],
               "answer[1]": (row["answer"][1:] or [None])[0]}
        if got != want:
            problems.append(f"list operation laid out as {got}, the paginator says {want}")
    return problems


def main():
    folder = os.path.join(os.path.dirname(botocore.__file__), "data", "iot", "2015-05-28")
    model = load(folder, "service-2.json")
    paginators = load(folder, "paginators-1.json")["pagination"]
    out = subprocess.run([sys.argv[1]], check=True, capture_output=True, text=True).stdout
    rows = [json.loads(line) for line in out.splitlines()]
    results.append(("the dump has a row per operation",
                    "" if len(rows) == 21 else f"{len(rows)} rows"))
    results.append(("each operation once",
                    "" if len({r["name"] for r in rows}) == len(rows) else "a name repeats"))
    for row in rows:
        problems = row_problems(row, model, paginators)
        results.append((f"{row['name']} as the model has it", "; ".join(problems)))

    # The checker must refuse broken rows, or it could never fail.
    breakages = [
        ("another method", lambda r: r.update(method="PATCH" if r["method"] != "PATCH" else "GET")),
        ("another URI", lambda r: r.update(uri=r["uri"] + "/x")),
        ("an answer member the output lacks", lambda r: r["answer"].append("noSuchMember")),
        ("a query name the input lacks", lambda r: r["query"].append("noSuchQuery")),
        ("a body member the input lacks", lambda r: r["body"].append("noSuchMember")),
    ]
    for what, breaking in breakages:
        refused = 0
        for row in rows:
            broken = copy.deepcopy(row)
            breaking(broken)
            refused += bool(row_problems(broken, model, paginators))
        results.append((f"the checker refuses every row with {what}",
                        "" if refused == len(rows) else f"{len(rows) - refused} not refused"))
    by_name = {r["name"]: r for r in rows}
    for name, field, value in [("ListCertificatesByCA", "answer", ["certificates", "nextToken"]),
                               ("DescribeCertificate", "label", "thing_name"),
                               ("AttachThingPrincipal", "header", "x-amz-principal"),
                               ("DescribeThing", "answer", []),
                               ("DeletePolicyVersion", "label2", "none"),
                               ("DeletePolicyVersion", "label2", "thing_name"),
                               ("ListPolicyVersions", "label2", "policy_version_id")]:
        if name in by_name:
            broken = dict(by_name[name], **{field: value})
            refused = bool(row_problems(broken, model, paginators))
            results.append((f"the checker refuses {name} with {field} {value!r}",
                            "" if refused else "not refused"))
    for case, wrong in results:
        print(f"not ok - {case}: {wrong}" if wrong else f"ok - {case}")
    failed = sum(1 for _, wrong in results if wrong)
    print(f"CASES {len(results) - failed} {failed}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
