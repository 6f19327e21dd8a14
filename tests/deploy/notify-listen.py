#!/usr/bin/env python3
"""notify-listen.py SOCKET OUT [ON_READY] - plays systemd's side of sd_notify(3) for a test:
binds a Unix datagram socket at SOCKET ("@name" = abstract), and appends one JSON line per
datagram to OUT: {"t": monotonic ms, "fields": {KEY: VALUE}, "raw": text}. The first time a
datagram holds READY=1 it runs the shell command ON_READY before reading the next datagram
(a device connecting the moment READY arrives). Stops on SIGTERM; never exits on bad input."""
import json
import os
import signal
import socket
import subprocess
import sys
import time


def main():
    path, out = sys.argv[1], sys.argv[2]
    on_ready = sys.argv[3] if len(sys.argv) > 3 else ""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind("\0" + path[1:] if path.startswith("@") else path)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    ready_seen = False
    with open(out, "a", encoding="utf-8") as log:
        log.write(json.dumps({"t": time.monotonic() * 1000, "fields": {"LISTENING": "1"},
                              "raw": ""}) + "\n")
        log.flush()
        while True:
            data = sock.recv(65536)
            now = time.monotonic() * 1000
            text = data.decode("utf-8", "replace")
            fields = {}
            for line in text.split("\n"):
                if "=" in line:
                    key, value = line.split("=", 1)
                    fields[key] = value
            log.write(json.dumps({"t": now, "fields": fields, "raw": text}) + "\n")
            log.flush()
            if fields.get("READY") == "1" and not ready_seen:
                ready_seen = True
                if on_ready:
                    subprocess.run(["sh", "-c", on_ready], check=False, env=os.environ)


if __name__ == "__main__":
    main()
