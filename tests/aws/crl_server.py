#!/usr/bin/env python3
"""crl_server.py — a CRL publication point for test_crl_fetch on 127.0.0.1: serves the files of a
directory with ETag and Last-Modified, answers If-None-Match / If-Modified-Since with 304, and
has misbehaving paths. Prints "PORT <http> <https or 0>" on stdout once listening, and exits by
itself after --lifetime seconds whatever happens, so it is never left running.

  /files/NAME          the file, conditional GET honoured
  /redirect/N/NAME     302 to /redirect/N-1/NAME, and to /files/NAME at 1: N redirects
  /to-http/NAME        302 to http://127.0.0.1:<http port>/files/NAME (for the https server)
  /big-length          200 with a Content-Length of 1 TB, then closes
  /endless             200 without Content-Length, bytes until the peer goes away
  /hang                sends nothing for 60 s
  /status/CODE         that status, empty body
  /echo                200 with the request's header lines as the body
  /count               200 with the number of requests served before this one
  /evil-etag           200 with an ETag of 300 bytes and a Last-Modified with a control byte
"""
import argparse
import email.utils
import http.server
import os
import ssl
import sys
import threading
import time


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    root = "."
    http_port = 0
    requests = 0
    lock = threading.Lock()

    def log_message(self, fmt, *args):
        sys.stderr.write("crl_server: " + (fmt % args) + "\n")

    def empty(self, code, extra=()):
        self.send_response(code)
        for k, v in extra:
            self.send_header(k, v)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self):
        with Handler.lock:
            count = Handler.requests
            Handler.requests += 1
        parts = self.path.split("?", 1)[0].split("/")
        kind = parts[1] if len(parts) > 1 else ""
        if kind == "files" and len(parts) == 3:
            return self.serve_file(parts[2])
        if kind == "redirect" and len(parts) == 4:
            n = int(parts[2])
            loc = "/files/%s" % parts[3] if n <= 1 else "/redirect/%d/%s" % (n - 1, parts[3])
            return self.empty(302, [("Location", loc)])
        if kind == "to-http" and len(parts) == 3:
            loc = "http://127.0.0.1:%d/files/%s" % (Handler.http_port, parts[2])
            return self.empty(302, [("Location", loc)])
        if kind == "big-length":
            self.send_response(200)
            self.send_header("Content-Length", str(10**12))
            self.end_headers()
            self.wfile.write(b"x" * 1024)
            self.close_connection = True
            return
        if kind == "endless":
            self.send_response(200)
            self.send_header("Connection", "close")
            self.end_headers()
            chunk = b"0" * 65536
            try:
                while True:
                    self.wfile.write(chunk)
            except OSError:
                pass
            self.close_connection = True
            return
        if kind == "hang":
            time.sleep(60)
            self.close_connection = True
            return
        if kind == "status" and len(parts) == 3:
            return self.empty(int(parts[2]))
        if kind in ("echo", "count"):
            body = (str(self.headers) if kind == "echo" else str(count)).encode("latin-1")
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        if kind == "evil-etag":
            body = b"not a CRL"
            self.send_response(200)
            self.send_header("ETag", '"' + "e" * 300 + '"')
            self.send_header("Last-Modified", "Tue, 01 Jan 2030\x01 00:00:00 GMT")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        return self.empty(404)

    def serve_file(self, name):
        path = os.path.join(Handler.root, os.path.basename(name))
        try:
            st = os.stat(path)
            with open(path, "rb") as f:
                body = f.read()
        except OSError:
            return self.empty(404)
        etag = '"%x-%x"' % (st.st_mtime_ns, st.st_size)
        last_modified = email.utils.formatdate(st.st_mtime, usegmt=True)
        validators = [("ETag", etag), ("Last-Modified", last_modified)]
        inm = self.headers.get("If-None-Match")
        ims = self.headers.get("If-Modified-Since")
        # RFC 9110 §13.2.2: If-None-Match, when present, decides; If-Modified-Since otherwise.
        if inm is not None:
            if inm.strip() == etag:
                return self.empty(304, validators)
        elif ims is not None:
            try:
                since = email.utils.parsedate_to_datetime(ims).timestamp()
            except (TypeError, ValueError):
                since = None
            if since is not None and int(st.st_mtime) <= since:
                return self.empty(304, validators)
        self.send_response(200)
        for k, v in validators:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--lifetime", type=float, default=120)
    ap.add_argument("--cert")
    ap.add_argument("--key")
    args = ap.parse_args()
    Handler.root = args.dir
    # Whatever the test does, this process ends: a timer that exits without cleanup.
    threading.Timer(args.lifetime, lambda: os._exit(0)).start()
    plain = Server(("127.0.0.1", 0), Handler)
    Handler.http_port = plain.server_address[1]
    servers = [plain]
    if args.cert and args.key:
        tls = Server(("127.0.0.1", 0), Handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.cert, args.key)
        tls.socket = ctx.wrap_socket(tls.socket, server_side=True)
        servers.append(tls)
    for s in servers:
        threading.Thread(target=s.serve_forever, daemon=True).start()
    tls_port = servers[1].server_address[1] if len(servers) > 1 else 0
    print("PORT %d %d" % (plain.server_address[1], tls_port), flush=True)
    time.sleep(args.lifetime + 5)
    os._exit(0)


if __name__ == "__main__":
    main()
