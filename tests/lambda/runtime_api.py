"""runtime_api.py - a local stand-in of the AWS Lambda Runtime API (version 2018-06-01), written
from AWS's documentation "Using the Lambda runtime API for custom runtimes": GET
/runtime/invocation/next (a long poll answered with the event and the Lambda-Runtime-* headers),
POST /runtime/invocation/{id}/response, POST /runtime/invocation/{id}/error (with the
Lambda-Runtime-Function-Error-Type header and an {"errorMessage","errorType"} body), POST
/runtime/init/error. It queues events, records every answer, and notes every breach of the
protocol in `problems`, which a test asserts is empty. Loopback only; used by test-lambda.py and
bench-lambda.py."""

import json
import socket
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PREFIX = "/2018-06-01/runtime"
FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:jitrd"


class RuntimeAPI:
    def __init__(self):
        self.cond = threading.Condition()
        self.queue = []          # [(request_id, payload bytes, deadline_ms, trace_id)]
        self.in_flight = {}      # request_id -> deadline epoch ms
        self.handed = {}         # request_id -> time.monotonic_ns() it was handed out
        self.results = {}        # request_id -> {"kind", "body", "headers", "at_ms", ...}
        self.init_errors = []    # [{"headers", "body"}]
        self.next_times = []     # time.monotonic_ns() of each GET /next
        self.next_pids = []      # not known to HTTP; filled by callers if they like
        self.connections = set() # client (host, port) pairs seen
        self.problems = []
        self.closing = False
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as Lambda's endpoint

            def log_message(self, fmt, *args):
                pass

            def do_GET(self):
                api.connections.add(self.client_address)
                if self.path != PREFIX + "/invocation/next":
                    api.problem("GET of an unknown path %r" % self.path)
                    return self.reply(404, {"errorMessage": "not found"})
                with api.cond:
                    api.next_times.append(time.monotonic_ns())
                    if api.init_errors:
                        api.problem("GET /next after an init error was posted")
                    api.cond.notify_all()
                    while not api.queue and not api.closing:
                        api.cond.wait(0.2)
                    if api.closing:
                        # the environment is going away: the runtime should exit
                        return self.reply(500, {"errorMessage": "shutting down",
                                                "errorType": "Runtime.Shutdown"})
                    request_id, payload, deadline_ms, trace_id = api.queue.pop(0)
                    api.in_flight[request_id] = deadline_ms
                    api.handed[request_id] = time.monotonic_ns()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Lambda-Runtime-Aws-Request-Id", request_id)
                self.send_header("Lambda-Runtime-Deadline-Ms", str(deadline_ms))
                self.send_header("Lambda-Runtime-Invoked-Function-Arn", FUNCTION_ARN)
                self.send_header("Lambda-Runtime-Trace-Id", trace_id)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def do_POST(self):
                api.connections.add(self.client_address)
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length) if length else b""
                if self.headers.get("Transfer-Encoding"):
                    api.problem("POST %s with Transfer-Encoding" % self.path)
                headers = {k.lower(): v for k, v in self.headers.items()}
                if self.path == PREFIX + "/init/error":
                    self.check_error_body(headers, body, "init/error")
                    with api.cond:
                        api.init_errors.append({"headers": headers, "body": body})
                        api.cond.notify_all()
                    return self.reply(202, {"status": "OK"})
                parts = self.path[len(PREFIX):].split("/") if self.path.startswith(PREFIX) else []
                # ["", "invocation", ID, "response"|"error"]
                if len(parts) != 4 or parts[1] != "invocation" or parts[3] not in ("response", "error"):
                    api.problem("POST to an unknown path %r" % self.path)
                    return self.reply(404, {"errorMessage": "not found"})
                request_id, kind = parts[2], parts[3]
                with api.cond:
                    if request_id not in api.in_flight:
                        api.problem("%s for a request id not in flight: %r" % (kind, request_id))
                        return self.reply(400, {"errorMessage": "InvalidRequestID",
                                                "errorType": "InvalidRequestID"})
                    deadline_ms = api.in_flight.pop(request_id)
                if kind == "error":
                    self.check_error_body(headers, body, "invocation error")
                else:
                    try:
                        json.loads(body)
                    except ValueError:
                        api.problem("a response that is not JSON: %r" % body[:200])
                at_ms = int(time.time() * 1000)
                with api.cond:
                    # billed_ms: handed out -> answer received, what Lambda bills
                    billed_ms = (time.monotonic_ns() - api.handed.pop(request_id)) / 1e6
                    api.results[request_id] = {"kind": kind, "body": body, "headers": headers,
                                               "at_ms": at_ms, "deadline_ms": deadline_ms,
                                               "billed_ms": billed_ms}
                    api.cond.notify_all()
                return self.reply(202, {"status": "OK"})

            def check_error_body(self, headers, body, what):
                if not headers.get("lambda-runtime-function-error-type"):
                    api.problem("%s without Lambda-Runtime-Function-Error-Type" % what)
                try:
                    doc = json.loads(body)
                    if not isinstance(doc.get("errorMessage"), str) or \
                            not isinstance(doc.get("errorType"), str):
                        api.problem("%s body lacks errorMessage/errorType: %r" % (what, body[:200]))
                    elif doc["errorType"] != headers.get("lambda-runtime-function-error-type"):
                        api.problem("%s: errorType and header differ" % what)
                except (ValueError, AttributeError):
                    api.problem("%s body is not a JSON object: %r" % (what, body[:200]))

            def reply(self, status, doc):
                data = json.dumps(doc).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.address = "127.0.0.1:%d" % self.port
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def problem(self, text):
        with self.cond:
            self.problems.append(text)

    def enqueue(self, payload, deadline_in_ms=30000, trace_id=None):
        """Queues one invocation; returns its request id."""
        if isinstance(payload, (dict, list)):
            payload = json.dumps(payload)
        if isinstance(payload, str):
            payload = payload.encode()
        request_id = str(uuid.uuid4())
        deadline_ms = int(time.time() * 1000) + deadline_in_ms
        trace_id = trace_id or "Root=1-%08x-%s;Parent=%s;Sampled=0" % (
            int(time.time()), uuid.uuid4().hex[:24], uuid.uuid4().hex[:16])
        with self.cond:
            self.queue.append((request_id, payload, deadline_ms, trace_id))
            self.cond.notify_all()
        return request_id

    def wait_result(self, request_id, timeout=30):
        end = time.monotonic() + timeout
        with self.cond:
            while request_id not in self.results:
                left = end - time.monotonic()
                if left <= 0:
                    return None
                self.cond.wait(left)
            return self.results[request_id]

    def wait_next(self, count, timeout=10):
        """Waits until GET /next has been asked count times; returns the monotonic_ns of the
        count-th, or None."""
        end = time.monotonic() + timeout
        with self.cond:
            while len(self.next_times) < count:
                left = end - time.monotonic()
                if left <= 0:
                    return None
                self.cond.wait(left)
            return self.next_times[count - 1]

    def wait_init_error(self, timeout=10):
        end = time.monotonic() + timeout
        with self.cond:
            while not self.init_errors:
                left = end - time.monotonic()
                if left <= 0:
                    return None
                self.cond.wait(left)
            return self.init_errors[0]

    def close(self):
        with self.cond:
            self.closing = True
            self.cond.notify_all()
        time.sleep(0.3)  # let a waiting /next answer 500
        self.server.shutdown()
        self.server.server_close()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port
