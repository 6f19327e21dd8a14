#!/usr/bin/env python3
"""ocsp_server.py DIR LIFETIME — pre-produced OCSP responses on 127.0.0.1 for test_ocsp_check:
a POST is answered with DIR/<sha256 of the request body>.der (made by `openssl ocsp -reqin` from
the same request, so the response is a real responder's; requests without a nonce are the same
bytes every time), 404 when there is none. POST /garbage answers bytes that are no OCSP
response. GET /count answers how many POSTs came before. Prints "PORT <port>" once listening
and exits by itself after LIFETIME seconds, so it is never left running."""
import hashlib
import http.server
import os
import sys
import threading


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    root = "."
    posts = 0
    lock = threading.Lock()

    def log_message(self, fmt, *args):
        sys.stderr.write("ocsp_server: " + (fmt % args) + "\n")

    def answer(self, code, body, ctype="application/ocsp-response"):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        with Handler.lock:
            count = Handler.posts
        self.answer(200, str(count).encode(), "text/plain")

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(min(length, 65536))
        with Handler.lock:
            Handler.posts += 1
        if self.path.startswith("/garbage"):
            return self.answer(200, b"\x30\x03not an OCSP response")
        name = os.path.join(Handler.root, hashlib.sha256(body).hexdigest() + ".der")
        if not os.path.exists(name):
            return self.answer(404, b"", "text/plain")
        with open(name, "rb") as f:
            self.answer(200, f.read())


def main():
    Handler.root = sys.argv[1]
    lifetime = float(sys.argv[2])
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Timer(lifetime, lambda: os._exit(0)).start()
    print("PORT %d" % server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
