"""harness.py - what test-lambda.py, test-lambda-crl.py and bench-lambda.py share: the checks
of a test script and what it started (Cases), the emulator on a free loopback port, the PKI of
make-pki.sh registered with it the way an operator does (AWS CLI), the function.zip built by
deploy/lambda/package.sh and unpacked as Lambda does, and Lambda's environment for bootstrap."""

import atexit
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
import zipfile

ACCOUNT = "123456789012"
KEY_ID = "AKIDLAMBDATEST"
SECRET = "lambda/test+secret"
TOKEN = "lambda-session-token"
HERE = os.path.dirname(os.path.abspath(__file__))


class Cases:
    """The checks of one test script, counted and printed one a line; its work directory; what
    must stop (closers: called, last added first) and the processes it started (procs: killed
    then), all at finish() and at exit too, so an exception leaves nothing running. KEEP_WORK
    in the environment keeps the work directory."""

    def __init__(self, prefix):
        self.work = tempfile.mkdtemp(prefix=prefix)
        self.procs = []
        self.closers = []
        self.passed = self.failed = 0
        atexit.register(self.cleanup)

    def check(self, name, ok, detail=""):
        if ok:
            self.passed += 1
            print("ok - " + name)
        else:
            self.failed += 1
            print("not ok - %s %s" % (name, detail))

    def cleanup(self):
        """Safe to call twice. The closers first: a Runtime API that closes answers bootstrap's
        pending /next, so bootstrap ends by itself rather than under the answer."""
        while self.closers:
            self.closers.pop()()
        while self.procs:
            p = self.procs.pop()
            if p.poll() is None:
                p.kill()
                p.wait()
        if not os.path.isdir(self.work):
            return
        if os.environ.get("KEEP_WORK"):
            print("kept " + self.work)
        else:
            shutil.rmtree(self.work, ignore_errors=True)

    def emulator_and_pki(self, exe, extra=0):
        """The emulator (stopped at cleanup) and the PKI of make-pki.sh in the work directory;
        gives up when the emulator does not start. Returns (Emulator, pki dir)."""
        emu = Emulator(exe, self.work)
        self.closers.append(emu.stop)
        if not emu.url:
            self.give_up("the emulator did not start")
        return emu, make_pki(self.work, extra)

    def give_up(self, why):
        print("giving up: " + why)
        print("CASES %d %d" % (self.passed, self.failed + 1))
        self.cleanup()
        sys.exit(1)

    def bootstrap(self, task, api, emu_url, argv0="bootstrap", **extra):
        """bootstrap (or argv0) of the unpacked zip under env -i (nothing of this process's
        environment leaks in; env execs, so the pid is bootstrap's) with Lambda's variables
        and extra, its output in p.log (readable while it runs)."""
        # O_APPEND: bootstrap's output shares the file offset with this process, which reads
        # the log (seek(0)) while bootstrap runs; appends never land at that offset
        log = open(os.path.join(self.work, "bootstrap-%d.log" % len(self.procs)), "a+")
        env = lambda_env(task, api.address, emu_url, **extra)
        p = subprocess.Popen(["env", "-i"] + ["%s=%s" % kv for kv in env.items()]
                             + [os.path.join(task, argv0)], stdout=log,
                             stderr=subprocess.STDOUT, cwd=task)
        self.procs.append(p)
        p.log = log
        return p

    def finish(self):
        """Checks that no bootstrap run printed a sanitizer report (in a sanitizer build one
        would end bootstrap with a status the checks may accept), prints "CASES <passed>
        <failed>", stops everything and exits."""
        reports = []
        for p in self.procs:
            if hasattr(p, "log"):
                p.log.seek(0)
                text = p.log.read()
                if "Sanitizer" in text or "runtime error:" in text:
                    reports.append(text[:1500])
        self.check("no sanitizer report from any bootstrap run", not reports,
                   "\n".join(reports))
        print("CASES %d %d" % (self.passed, self.failed))
        self.cleanup()
        sys.exit(0 if self.failed == 0 else 1)


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw).stdout


def cert_id(path):
    """AWS's certificate id: the SHA-256 of the DER."""
    der = subprocess.run(["openssl", "x509", "-in", path, "-outform", "DER"], check=True,
                         capture_output=True).stdout
    return hashlib.sha256(der).hexdigest()


class Emulator:
    def __init__(self, exe, work):
        self.log = open(os.path.join(work, "emu.out"), "w+")
        self.proc = subprocess.Popen([exe, "--listen", "127.0.0.1:0", "--region", "us-east-1",
                                      "--account-id", ACCOUNT, "--access-key-id", KEY_ID,
                                      "--secret-access-key", SECRET],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        self.url = None
        marker = "listening on http://127.0.0.1:"
        for _ in range(100):
            self.log.seek(0)
            text = self.log.read()
            if marker in text:
                port = text.split(marker)[1]
                self.url = "http://127.0.0.1:" + port[:len(port) - len(port.lstrip("0123456789"))]
                break
            time.sleep(0.1)

    def post(self, path, data):
        req = urllib.request.Request(self.url + path, data=data, method="POST")
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.read()

    def state(self):
        with urllib.request.urlopen(self.url + "/_emulator/state", timeout=10) as r:
            return json.load(r)

    def status_of(self, certificate_id):
        for c in self.state()["certificates"]:
            if c.get("certificateId") == certificate_id:
                return c.get("status")
        return None

    def aws_iot(self, *args):
        env = dict(os.environ, AWS_ACCESS_KEY_ID=KEY_ID, AWS_SECRET_ACCESS_KEY=SECRET,
                   AWS_DEFAULT_REGION="us-east-1", AWS_EC2_METADATA_DISABLED="true",
                   AWS_CONFIG_FILE="/dev/null", AWS_SHARED_CREDENTIALS_FILE="/dev/null",
                   AWS_PAGER="", AWS_MAX_ATTEMPTS="1")
        env.pop("AWS_SESSION_TOKEN", None)
        env.pop("AWS_PROFILE", None)
        return json.loads(run(["aws", "iot", "--endpoint-url", self.url, "--output", "json"]
                              + list(args), env=env))

    def register_ca(self, pki, ca):
        """GetRegistrationCode, a verification certificate named by the code, RegisterCA."""
        code = self.aws_iot("get-registration-code")["registrationCode"]
        d = os.path.join(pki, "work")
        key, csr, crt = (os.path.join(d, "verify." + x) for x in ("key", "csr", "pem"))
        run(["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", key])
        run(["openssl", "req", "-new", "-key", key, "-subj", "/CN=" + code, "-out", csr])
        run(["openssl", "x509", "-req", "-in", csr, "-CA", os.path.join(pki, "ca", ca + ".pem"),
             "-CAkey", os.path.join(pki, "keys", ca + ".key"), "-CAcreateserial",
             "-CAserial", os.path.join(d, ca + ".srl"), "-days", "1", "-sha256", "-out", crt])
        self.aws_iot("register-ca-certificate", "--ca-certificate",
                     "file://" + os.path.join(pki, "ca", ca + ".pem"),
                     "--verification-certificate", "file://" + crt, "--set-as-active",
                     "--allow-auto-registration")

    def connect(self, pem_path):
        with open(pem_path, "rb") as f:
            self.post("/_emulator/connect", f.read())

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def make_pki(work, extra=0):
    pki = os.path.join(work, "pki")
    run(["sh", os.path.join(HERE, "make-pki.sh"), pki, str(extra)])
    return pki


def sanitized(build):
    """1 when the meson build in build uses sanitizers (b_sanitize)."""
    with open(os.path.join(build, "meson-info", "intro-buildoptions.json")) as f:
        for option in json.load(f):
            if option["name"] == "b_sanitize":
                return option["value"] not in ("none", "")
    return False


def package(src, build, work):
    """function.zip from package.sh, unpacked into work/task with the zip's modes.
    Returns (task dir, ZipFile info list)."""
    zip_path = os.path.join(work, "function.zip")
    env = dict(os.environ)
    if sanitized(build):
        env["GLIBC_MAX"] = "9.99"  # the sanitizer runtime needs a newer glibc than al2023's
    done = subprocess.run(["sh", os.path.join(src, "deploy", "lambda", "package.sh"), build,
                           zip_path], capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise RuntimeError("package.sh failed: " + done.stderr[-2000:])
    task = os.path.join(work, "task")
    with zipfile.ZipFile(zip_path) as z:
        infos = z.infolist()
        z.extractall(task)
    for i in infos:
        os.chmod(os.path.join(task, i.filename), (i.external_attr >> 16) & 0o777)
    return task, infos


def registration_event(pem_path, ca_id):
    now_ms = int(time.time() * 1000)
    return {"certificateId": cert_id(pem_path), "caCertificateId": ca_id, "timestamp": now_ms,
            "certificateStatus": "PENDING_ACTIVATION", "awsAccountId": ACCOUNT,
            "certificateRegistrationTimestamp": str(now_ms)}


def lambda_env(task, api_address, emu_url, **extra):
    """What Lambda gives a provided.al2023 function (the variables jitrd reads), the function's
    JITRD_* configuration, and only the zip's lib/ on LD_LIBRARY_PATH."""
    env = {"AWS_LAMBDA_RUNTIME_API": api_address, "LAMBDA_TASK_ROOT": task,
           "LD_LIBRARY_PATH": os.path.join(task, "lib"),
           "AWS_ACCESS_KEY_ID": KEY_ID, "AWS_SECRET_ACCESS_KEY": SECRET,
           "AWS_SESSION_TOKEN": TOKEN, "AWS_REGION": "us-east-1",
           "AWS_LAMBDA_FUNCTION_NAME": "jitrd", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
           "JITRD_AWS_ENDPOINT": emu_url, "JITRD_AWS_REGION": "us-east-1",
           "JITRD_AWS_ACCOUNT_ID": ACCOUNT, "JITRD_PROVISION_THING_NAME": "{{subject.CN}}",
           "JITRD_PROVISION_POLICY_NAME": "jitrd-device"}
    env.update(extra)
    return env
