#!/usr/bin/env python3
"""test-aws.py - the AWS side (deploy/aws/): every JSON file parses (python3 -m
json.tool) and the CloudFormation YAML parses (PyYAML, CloudFormation's !tags accepted); the
topic rules select the registration topic and deliver to Lambda / SQS; the IAM policies grant
exactly the IoT operations the code calls (read from the C sources: the handler's from
pipeline.c, the operator's from operator.c and cmd_operator.c, named through iot_operations.c's
table), scoped to the account and region (UpdateThing to the reconcile lease's Thing only); the
daemon's SQS policy grants exactly the SQS operations of sqs_client.c's table on the
registration queue only; the daemon's IoT policy allows only connect as its client id and
subscribe/receive on the registration topic; the template wires the Lambda variant and the
daemon variant. The checkers are also run on broken copies, which they must refuse.
Prints "CASES <passed> <failed>"; exit 1 on any failure."""
import copy
import glob
import json
import os
import re
import subprocess
import sys

SRC = os.environ.get("JITRD_SOURCE_ROOT") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
AWS = os.path.join(SRC, "deploy", "aws")
SQL = "SELECT * FROM '$aws/events/certificates/registered/#'"
ACCOUNT_ARN = "arn:aws:iot:REGION:ACCOUNT:*"
# The reconcile lease's Thing ([service] reconcile_lease_thing's default): UpdateThing only there.
LEASE_ARN = "arn:aws:iot:REGION:ACCOUNT:thing/jitrd-reconcile-lease"
LEASE_ACTIONS = {"iot:UpdateThing"}
QUEUE_ARN = "arn:aws:sqs:REGION:ACCOUNT:jitrd-registrations"
# Actions that name no resource type in IAM (account-wide): they need "Resource": "*".
ACCOUNT_WIDE = {"iot:ListCertificatesByCA", "iot:GetRegistrationCode",
                "iot:RegisterCACertificate",
                # the certificate it registers does not exist yet: no cert ARN to name
                "iot:RegisterCertificate"}
HANDLER_OPERATIONS = {"DescribeCertificate", "UpdateCertificate", "CreatePolicy", "GetPolicy",
                      "CreatePolicyVersion", "ListPolicyVersions", "DeletePolicyVersion",
                      "AttachPolicy", "CreateThing", "DescribeThing", "ListThingPrincipals",
                      "AttachThingPrincipal", "ListCertificatesByCA", "UpdateThing"}
# the eight operations of the first release, the two Thing reads that tell a device's own
# Thing from another's, and the three that version a policy whose template changed; also
# read from the code below; UpdateThing takes the reconcile lease of several hosts

passed = 0
failed = 0


def check(name, condition, detail=""):
    global passed, failed
    if condition:
        passed += 1
        print(f"ok - {name}")
    else:
        failed += 1
        print(f"not ok - {name}" + (f": {detail}" if detail else ""))


def refuses(name, checker, document):
    """The checker must find fault with a broken document (else it could never fail)."""
    try:
        problems = checker(document)
    except Exception as exc:  # a crash on a broken document is also a refusal
        problems = [repr(exc)]
    check(f"the checker refuses {name}", bool(problems))


def load_json(name):
    with open(os.path.join(AWS, name), encoding="utf-8") as f:
        return json.load(f)


# --- what the code calls ---------------------------------------------------------------------

def operation_names():
    """jitrd_iot_<fn> -> "OperationName", from iot_operations.c's table of operations (each
    row opens with the name)."""
    with open(os.path.join(SRC, "src", "aws", "iot_operations.c"), encoding="utf-8") as f:
        text = f.read()
    table = dict(re.findall(r'\[JITRD_IOT_([A-Z_]+)\]\s*=\s*\{\s*"([A-Za-z]+)"', text))
    return {k.lower(): v for k, v in table.items()}


def source_text(*folders):
    """The C sources of the given folders under the source root, concatenated."""
    text = ""
    for folder in folders:
        top = os.path.join(SRC, folder)
        for name in sorted(os.listdir(top)):
            if name.endswith(".c"):
                with open(os.path.join(top, name), encoding="utf-8") as f:
                    text += f.read()
    return text


def sqs_operations():
    """The SQS operations of sqs_client.c's table (each row opens with the operation's name),
    or None while there is no SQS client in the tree."""
    path = os.path.join(SRC, "src", "aws", "sqs_client.c")
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as f:
        text = f.read()
    return set(re.findall(r'\[JITRD_SQS_[A-Z_]+\]\s*=\s*\{\s*"([A-Za-z]+)"', text))


def sqs_actions(operations):
    """IAM actions of SQS operations: a batch operation is authorised by its single action
    (DeleteMessageBatch -> sqs:DeleteMessage; the SQS API reference, "Batch actions")."""
    return {"sqs:" + (op[:-len("Batch")] if op.endswith("Batch") else op) for op in operations}


def operations_called(*folders):
    names = operation_names()
    called = set()
    for fn in re.findall(r"\bjitrd_iot_([a-z_]+)\s*\(", source_text(*folders)):
        # variants of an operation (create_thing_with_attributes) count as it
        ops = [n for n in names if fn == n or fn.startswith(n + "_")]
        if ops:
            called.add(names[max(ops, key=len)])
    return called


# --- checkers: each returns a list of problems ------------------------------------------------

def policy_problems(policy, want, service, resource_problems):
    """An IAM policy that grants exactly the actions `want`, all of `service`, none twice, no
    wildcard, each statement's resource judged by resource_problems(statement, actions)."""
    problems = []
    if policy.get("Version") != "2012-10-17":
        problems.append("Version is not 2012-10-17")
    granted = []
    for st in policy.get("Statement", []):
        if st.get("Effect") != "Allow":
            problems.append(f"statement {st.get('Sid')}: not Allow")
        actions = st.get("Action", [])
        actions = [actions] if isinstance(actions, str) else actions
        granted += actions
        for a in actions:
            if "*" in a or not a.startswith(service + ":"):
                problems.append(f"wildcard or action {a} outside {service}")
        problems += resource_problems(st, actions)
    if len(granted) != len(set(granted)):
        problems.append("an action granted twice")
    if set(granted) != want:
        problems.append(f"missing {sorted(want - set(granted))}, "
                        f"extra {sorted(set(granted) - want)}")
    return problems


def iot_resource_problems(st, actions):
    resource = st.get("Resource")
    if resource == ACCOUNT_ARN:
        return []
    if resource == LEASE_ARN:
        extra = set(actions) - LEASE_ACTIONS
        return [f"the lease's Thing for other actions: {sorted(extra)}"] if extra else []
    if resource == "*":
        problems = []
        region = st.get("Condition", {}).get("StringEquals", {}).get("aws:RequestedRegion")
        if region != "REGION":
            problems.append(f"statement {st.get('Sid')}: '*' without the region condition")
        extra = set(actions) - ACCOUNT_WIDE
        if extra:
            problems.append(f"'*' for actions that take a resource: {sorted(extra)}")
        return problems
    return [f"statement {st.get('Sid')}: resource {resource!r} is not the account's"]


def iam_problems(policy, operations):
    return policy_problems(policy, {"iot:" + op for op in operations}, "iot",
                           iot_resource_problems)


def sqs_resource_problems(st, actions):
    problems = []
    if "Condition" in st or "NotResource" in st or "NotAction" in st:
        problems.append(f"statement {st.get('Sid')}: Condition/NotResource/NotAction")
    if st.get("Resource") != QUEUE_ARN:
        problems.append(f"statement {st.get('Sid')}: resource {st.get('Resource')!r} is not "
                        f"the queue {QUEUE_ARN}")
    return problems


def sqs_policy_problems(policy, operations):
    """The daemon's SQS policy: exactly the actions of the operations, on the queue only."""
    return policy_problems(policy, sqs_actions(operations), "sqs", sqs_resource_problems)


def normalized_statements(statements, cfn, queue_ref=None):
    """(actions, resource, condition) of each statement, sorted; a template's !Sub ARNs with
    REGION and ACCOUNT as the JSON files write them, queue_ref (a !GetAtt) as QUEUE_ARN."""
    out = []
    for st in statements:
        actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
        resource = st["Resource"]
        if cfn and isinstance(resource, dict):
            if queue_ref is not None and resource == queue_ref:
                resource = QUEUE_ARN
            else:
                resource = resource.get("Fn::Sub", "").replace(
                    "${AWS::Region}", "REGION").replace("${AWS::AccountId}", "ACCOUNT")
        cond = json.dumps(st.get("Condition", {}), sort_keys=True)
        if cfn:
            cond = cond.replace('{"Ref": "AWS::Region"}', '"REGION"')
        out.append((tuple(sorted(actions)), resource, cond))
    return sorted(out)


def topic_rule_problems(rule, action):
    problems = []
    if rule.get("sql") != SQL:
        problems.append(f"sql {rule.get('sql')!r}")
    if rule.get("awsIotSqlVersion") != "2016-03-23":
        problems.append("awsIotSqlVersion")
    if rule.get("ruleDisabled") is not False:
        problems.append("ruleDisabled is not false")
    actions = rule.get("actions", [])
    if len(actions) != 1 or list(actions[0]) != [action]:
        problems.append(f"actions {actions!r}, want one {action}")
    else:
        target = actions[0][action]
        if action == "lambda" and not re.fullmatch(
                r"arn:aws:lambda:REGION:ACCOUNT:function:[A-Za-z0-9_-]+",
                target.get("functionArn", "")):
            problems.append("functionArn")
        if action == "sqs":
            if not re.fullmatch(r"https://sqs\.REGION\.amazonaws\.com/ACCOUNT/[A-Za-z0-9_-]+",
                                target.get("queueUrl", "")):
                problems.append("queueUrl")
            if not target.get("roleArn", "").startswith("arn:aws:iam::ACCOUNT:role/"):
                problems.append("roleArn")
    return problems


def iot_policy_problems(policy, client_id):
    prefix = "arn:aws:iot:REGION:ACCOUNT:"
    want = {
        ("iot:Connect", prefix + "client/" + client_id),
        ("iot:Subscribe", prefix + "topicfilter/$aws/events/certificates/registered/*"),
        ("iot:Receive", prefix + "topic/$aws/events/certificates/registered/*"),
    }
    got = set()
    problems = []
    for st in policy.get("Statement", []):
        if st.get("Effect") != "Allow":
            problems.append("a statement that is not Allow")
        actions = st.get("Action")
        resources = st.get("Resource")
        actions = [actions] if isinstance(actions, str) else actions or []
        resources = [resources] if isinstance(resources, str) else resources or []
        for a in actions:
            for r in resources:
                got.add((a, r))
    if got != want:
        problems.append(f"missing {sorted(want - got)}, extra {sorted(got - want)}")
    return problems


class CfnLoader:
    """PyYAML's SafeLoader plus CloudFormation's short forms (!Ref, !Sub, !GetAtt, ...)."""

    @staticmethod
    def make():
        import yaml

        class Loader(yaml.SafeLoader):
            pass

        def construct(loader, suffix, node):
            if isinstance(node, yaml.ScalarNode):
                value = loader.construct_scalar(node)
            elif isinstance(node, yaml.SequenceNode):
                value = loader.construct_sequence(node, deep=True)
            else:
                value = loader.construct_mapping(node, deep=True)
            if suffix == "GetAtt" and isinstance(value, str):
                value = value.split(".", 1)
            return {("Ref" if suffix == "Ref" else "Fn::" + suffix): value}

        Loader.add_multi_constructor("!", construct)
        return Loader


def cfn_daemon_problems(template, handler_policy, sqs_policy):
    """Consumer=daemon: the Lambda parts only under UsesLambda, a DaemonPolicy under UsesDaemon
    with the handler's statements and the SQS policy's on the queue, and the queue's redrive."""
    problems = []
    resources = template.get("Resources", {})
    conditions = template.get("Conditions", {})
    if conditions.get("UsesDaemon") != {"Fn::Equals": [{"Ref": "Consumer"}, "daemon"]}:
        problems.append("no UsesDaemon condition on the Consumer parameter")
    for name, res in resources.items():
        lambda_part = res.get("Type", "").startswith(("AWS::Lambda::", "AWS::Events::",
                                                      "AWS::Logs::")) or name == "FunctionRole"
        if lambda_part and res.get("Condition") != "UsesLambda":
            problems.append(f"{name} is made for the daemon variant too")
    daemon = [(n, r) for n, r in resources.items() if r.get("Type") == "AWS::IAM::ManagedPolicy"
              and r.get("Condition") == "UsesDaemon"]
    if len(daemon) != 1:
        problems.append(f"{len(daemon)} managed policies for the daemon, want 1")
        return problems
    statements = daemon[0][1].get("Properties", {}).get("PolicyDocument", {}).get("Statement", [])
    queue_ref = {"Fn::GetAtt": ["RegistrationQueue", "Arn"]}
    want = normalized_statements(handler_policy["Statement"] + sqs_policy["Statement"], False)
    if normalized_statements(statements, True, queue_ref) != want:
        problems.append("DaemonPolicy differs from iam-policy-handler.json + "
                        "iam-policy-daemon-sqs.json")
    queue = resources.get("RegistrationQueue", {}).get("Properties", {})
    redrive = queue.get("RedrivePolicy", {})
    if not isinstance(redrive.get("maxReceiveCount"), int) or not 1 <= redrive[
            "maxReceiveCount"] <= 1000:
        problems.append("the queue's redrive policy has no maxReceiveCount in 1..1000")
    visibility = queue.get("VisibilityTimeout")
    param = template.get("Parameters", {}).get("DaemonVisibilityTimeout", {})
    # the daemon's visibility is never under the default event deadline (30 s)
    if not (isinstance(visibility, dict) and "Fn::If" in visibility and
            visibility["Fn::If"][2] == {"Ref": "DaemonVisibilityTimeout"} and
            param.get("MinValue", 0) >= 30):
        problems.append("the daemon's visibility timeout may be under the event deadline")
    return problems


def cfn_problems(template, handler_policy):
    problems = []
    resources = template.get("Resources", {})
    by_type = {}
    for name, res in resources.items():
        by_type.setdefault(res.get("Type"), []).append((name, res.get("Properties", {})))

    def one(kind):
        found = by_type.get(kind, [])
        if len(found) != 1:
            problems.append(f"{len(found)} resources of type {kind}, want 1")
            return None, {}
        return found[0]

    _, fn = one("AWS::Lambda::Function")
    if fn.get("Runtime") != "provided.al2023":
        problems.append("Function Runtime is not provided.al2023")
    if "S3Key" not in fn.get("Code", {}):
        problems.append("Function Code is not function.zip in S3")
    _, mapping = one("AWS::Lambda::EventSourceMapping")
    if mapping.get("FunctionResponseTypes") != ["ReportBatchItemFailures"]:
        problems.append("event source mapping without ReportBatchItemFailures")
    _, rule = one("AWS::IoT::TopicRule")
    payload = rule.get("TopicRulePayload", {})
    if payload.get("Sql") != SQL:
        problems.append(f"topic rule Sql {payload.get('Sql')!r}")
    if not any("Sqs" in a for a in payload.get("Actions", [])):
        problems.append("topic rule has no Sqs action")
    _, schedule = one("AWS::Events::Rule")
    if not schedule.get("ScheduleExpression"):
        problems.append("no schedule expression for reconcile")
    permissions = by_type.get("AWS::Lambda::Permission", [])
    if not any(p.get("Principal") == "events.amazonaws.com" for _, p in permissions):
        problems.append("EventBridge may not invoke the function")
    queues = by_type.get("AWS::SQS::Queue", [])
    if not any("RedrivePolicy" in q for _, q in queues):
        problems.append("no queue with a dead-letter queue")
    # the function's role carries the handler policy, statement for statement
    role_name = None
    if isinstance(fn.get("Role"), dict):
        role_name = (fn["Role"].get("Fn::GetAtt") or [None])[0]
    role = resources.get(role_name, {}).get("Properties", {})
    handler_docs = [p["PolicyDocument"] for p in role.get("Policies", [])
                    if p.get("PolicyName") == "jitrd-handler"]
    if len(handler_docs) != 1:
        problems.append("the function's role has no jitrd-handler policy")
    else:
        if normalized_statements(handler_docs[0]["Statement"], True) != normalized_statements(
                handler_policy["Statement"], False):
            problems.append("the role's jitrd-handler policy differs from iam-policy-handler.json")
    return problems


def main():
    # 1. syntax: every JSON file through python3 -m json.tool, the YAML through PyYAML
    json_files = sorted(glob.glob(os.path.join(AWS, "*.json")))
    check("deploy/aws holds the JSON files", len(json_files) >= 5, str(json_files))
    for path in json_files:
        r = subprocess.run([sys.executable, "-m", "json.tool", path], capture_output=True,
                           check=False)
        check(f"{os.path.basename(path)} parses (python3 -m json.tool)", r.returncode == 0,
              r.stderr.decode(errors="replace").strip())
    broken = subprocess.run([sys.executable, "-m", "json.tool"], input=b'{"a": [1,}',
                            capture_output=True, check=False)
    check("json.tool refuses broken JSON (the syntax check can fail)", broken.returncode != 0)

    handler = load_json("iam-policy-handler.json")
    operator = load_json("iam-policy-operator.json")
    template = None
    try:
        import yaml
        with open(os.path.join(AWS, "cloudformation.yaml"), encoding="utf-8") as f:
            template = yaml.load(f, Loader=CfnLoader.make())  # noqa: S506 (SafeLoader subclass)
        check("cloudformation.yaml parses (PyYAML with CloudFormation tags)",
              isinstance(template, dict) and "Resources" in template)
        try:
            yaml.load("a: [1,\n", Loader=CfnLoader.make())
            check("PyYAML refuses broken YAML", False)
        except yaml.YAMLError:
            check("PyYAML refuses broken YAML", True)
    except ImportError:
        print("  (python3-yaml not installed: the YAML is not checked; scripts/deps installs it)")

    # 2. IAM: exactly what the code calls
    handler_ops = operations_called("src/pipeline")
    check("the handler's operations read from src/pipeline are the handler's ten",
          handler_ops == HANDLER_OPERATIONS, f"{sorted(handler_ops ^ HANDLER_OPERATIONS)}")
    problems = iam_problems(handler, handler_ops)
    check("iam-policy-handler.json grants exactly the handler's operations, account-scoped",
          not problems, "; ".join(problems))
    operator_ops = operations_called("src/operator", "src/cli")
    # the operator commands that go through the pipeline (crl sweep re-provisions a lifted
    # hold with jitrd_pipeline_provision) need what the pipeline calls
    operator_text = source_text("src/operator", "src/cli")
    if re.search(r"\bjitrd_pipeline_[a-z_]+\s*\(", operator_text):
        operator_ops |= handler_ops
    problems = iam_problems(operator, operator_ops)
    check("iam-policy-operator.json grants exactly the operator commands' operations",
          not problems, "; ".join(problems))
    check("the operator's operations include registering a CA",
          {"GetRegistrationCode", "RegisterCACertificate"} <= operator_ops)
    wider = copy.deepcopy(handler)
    wider["Statement"][0]["Action"].append("iot:DeleteCertificate")
    refuses("a handler policy with one action too many",
            lambda d: iam_problems(d, handler_ops), wider)
    fewer = copy.deepcopy(handler)
    fewer["Statement"][0]["Action"].remove("iot:GetPolicy")
    refuses("a handler policy with one action missing",
            lambda d: iam_problems(d, handler_ops), fewer)
    star = copy.deepcopy(handler)
    star["Statement"][0]["Resource"] = "*"
    refuses("a handler policy on every resource", lambda d: iam_problems(d, handler_ops), star)
    wild = copy.deepcopy(handler)
    wild["Statement"][0]["Action"] = ["iot:*"]
    refuses("a handler policy with iot:*", lambda d: iam_problems(d, handler_ops), wild)

    # 2b. the daemon's SQS policy: exactly what sqs_client.c's table calls, on the queue only
    sqs_policy = load_json("iam-policy-daemon-sqs.json")
    sqs_ops = sqs_operations()
    if sqs_ops is None:
        print("  (no src/aws/sqs_client.c yet: the SQS policy is held against the issue's four)")
        sqs_ops = {"ReceiveMessage", "DeleteMessageBatch", "ChangeMessageVisibilityBatch",
                   "GetQueueAttributes"}
    else:
        check("sqs_client.c's table names SQS operations", bool(sqs_ops), str(sqs_ops))
    problems = sqs_policy_problems(sqs_policy, sqs_ops)
    check("iam-policy-daemon-sqs.json grants exactly the SQS operations of sqs_client.c "
          f"({sorted(sqs_actions(sqs_ops))}) on the registration queue only",
          not problems, "; ".join(problems))
    anyq = copy.deepcopy(sqs_policy)
    anyq["Statement"][0]["Resource"] = "*"
    refuses("an SQS policy on every queue", lambda d: sqs_policy_problems(d, sqs_ops), anyq)
    other = copy.deepcopy(sqs_policy)
    other["Statement"][0]["Resource"] = "arn:aws:sqs:REGION:ACCOUNT:*"
    refuses("an SQS policy on all the account's queues",
            lambda d: sqs_policy_problems(d, sqs_ops), other)
    send = copy.deepcopy(sqs_policy)
    send["Statement"][0]["Action"].append("sqs:SendMessage")
    refuses("an SQS policy that may send", lambda d: sqs_policy_problems(d, sqs_ops), send)
    fewer = copy.deepcopy(sqs_policy)
    fewer["Statement"][0]["Action"].remove("sqs:ChangeMessageVisibility")
    refuses("an SQS policy without ChangeMessageVisibility",
            lambda d: sqs_policy_problems(d, sqs_ops), fewer)
    lease_wide = copy.deepcopy(handler)
    for st in lease_wide["Statement"]:
        if st.get("Resource") == LEASE_ARN:
            st["Action"].append("iot:DeleteThing")
    refuses("a lease statement with another action", lambda d: iam_problems(d, handler_ops),
            lease_wide)

    # 3. topic rules
    for name, action in (("topic-rule-lambda.json", "lambda"), ("topic-rule-sqs.json", "sqs")):
        rule = load_json(name)
        problems = topic_rule_problems(rule, action)
        check(f"{name}: the registration topic to {action}", not problems, "; ".join(problems))
        other = copy.deepcopy(rule)
        other["sql"] = "SELECT * FROM '$aws/events/certificates/#'"
        refuses(f"{name} with another topic", lambda d, a=action: topic_rule_problems(d, a),
                other)

    # 4. the daemon's own IoT policy, for the client id the sample configurations use
    with open(os.path.join(SRC, "deploy", "jitrd.conf.sample"), encoding="utf-8") as f:
        client_id = re.search(r"^client_id = (\S+)$", f.read(), re.M).group(1)
    with open(os.path.join(SRC, "deploy", "systemd", "jitrd.conf"), encoding="utf-8") as f:
        check("the systemd sample uses the same client id",
              re.search(r"^client_id = (\S+)$", f.read(), re.M).group(1) == client_id)
    daemon = load_json("iot-policy-daemon.json")
    problems = iot_policy_problems(daemon, client_id)
    check(f"iot-policy-daemon.json: connect as {client_id}, subscribe/receive the registration "
          "topic, nothing else", not problems, "; ".join(problems))
    publish = copy.deepcopy(daemon)
    publish["Statement"].append({"Effect": "Allow", "Action": "iot:Publish",
                                 "Resource": "arn:aws:iot:REGION:ACCOUNT:topic/*"})
    refuses("a daemon policy that may publish",
            lambda d: iot_policy_problems(d, client_id), publish)
    anyone = copy.deepcopy(daemon)
    anyone["Statement"][0]["Resource"] = "arn:aws:iot:REGION:ACCOUNT:client/*"
    refuses("a daemon policy that connects as any client",
            lambda d: iot_policy_problems(d, client_id), anyone)

    # 5. the CloudFormation template wires the Lambda variant
    if template is not None:
        problems = cfn_problems(template, handler)
        check("cloudformation.yaml: function (provided.al2023, function.zip), role with the "
              "handler policy, rule -> SQS (+DLQ) -> mapping with ReportBatchItemFailures, "
              "reconcile schedule", not problems, "; ".join(problems))
        problems = cfn_daemon_problems(template, handler, sqs_policy)
        check("cloudformation.yaml: Consumer=daemon makes no function, and a DaemonPolicy "
              "with the handler policy and the SQS policy on the queue; queue with a redrive "
              "policy and a visibility over the event deadline", not problems,
              "; ".join(problems))
        wide = copy.deepcopy(template)
        for st in wide["Resources"]["DaemonPolicy"]["Properties"]["PolicyDocument"]["Statement"]:
            if any(str(a).startswith("sqs:") for a in st["Action"]):
                st["Resource"] = "*"
        refuses("a template whose daemon policy reads every queue",
                lambda d: cfn_daemon_problems(d, handler, sqs_policy), wide)
        always = copy.deepcopy(template)
        always["Resources"]["Function"].pop("Condition", None)
        refuses("a template that makes the function for daemons too",
                lambda d: cfn_daemon_problems(d, handler, sqs_policy), always)
        ids = list(template.get("Resources", {})) + list(template.get("Parameters", {}))
        check("cloudformation.yaml: logical ids unique across parameters and resources",
              len(ids) == len(set(ids)))
        no_batch = copy.deepcopy(template)
        for res in no_batch["Resources"].values():
            if res["Type"] == "AWS::Lambda::EventSourceMapping":
                res["Properties"].pop("FunctionResponseTypes", None)
        refuses("a template without ReportBatchItemFailures",
                lambda d: cfn_problems(d, handler), no_batch)
        drift = copy.deepcopy(template)
        for res in drift["Resources"].values():
            for pol in res.get("Properties", {}).get("Policies", []):
                if pol.get("PolicyName") == "jitrd-handler":
                    pol["PolicyDocument"]["Statement"][0]["Action"].append("iot:DeleteThing")
        refuses("a template whose role drifted from the handler policy",
                lambda d: cfn_problems(d, handler), drift)

    print(f"CASES {passed} {failed}")
    return 0 if failed == 0 and passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
