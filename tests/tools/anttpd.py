#!/usr/bin/env python3
"""A stand-in for the AntTP HTTP gateway over ant-sim's store, for the
gateway download tests. Loopback only, Python standard library only.

    anttpd.py --store DIR --port-file FILE [--log FILE]

It binds 127.0.0.1 on a free port, writes the port to FILE and serves until
killed. Like AntTP, GET /<ADDRESS> answers the data stored at a public
address (here: the file DIR/<address>, lower-case hex, as ant-sim stores
it), streamed in pieces with its Content-Length; 404 when the address is
not stored; 400 when it is not hex. Faults, per address, for the tests:

  GET /_set?address=ADDR&mode=MODE   from now on ADDR answers with MODE:
      500      a 500 (the gateway cannot reach the network)
      503      a 503
      hang     reads the request and never answers
      corrupt  the data with one byte changed
      big      the data followed by zeros up to 5 MiB, without a
               Content-Length (past the 4 MiB of the chunka class)
      ""       the normal answer again

Every request is appended to --log as "METHOD PATH".
"""
import argparse
import os
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

modes = {}
lock = threading.Lock()
HEX = re.compile(r"^[0-9a-fA-F]{1,128}$")
PIECE = 64 * 1024


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def plain(self, code, text):
        body = text.encode()
        self.send_response(code)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        u = urlparse(self.path)
        if self.server.log:
            with lock, open(self.server.log, "a") as f:
                f.write("GET %s\n" % u.path)
        if u.path == "/_set":
            q = parse_qs(u.query, keep_blank_values=True)
            with lock:
                modes[q.get("address", [""])[0].lower()] = q.get("mode", [""])[0]
            return self.plain(200, "ok\n")
        addr = u.path.lstrip("/")
        if not HEX.match(addr):
            return self.plain(400, "invalid address\n")
        addr = addr.lower()
        with lock:
            mode = modes.get(addr, "")
        if mode in ("500", "503"):
            return self.plain(int(mode), "gateway error\n")
        if mode == "hang":
            time.sleep(3600)
            return
        path = os.path.join(self.server.store, addr)
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError:
            return self.plain(404, "not found\n")
        if mode == "corrupt" and data:
            data = data[:len(data) // 2] + bytes([data[len(data) // 2] ^ 0x5A]) + data[len(data) // 2 + 1:]
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        pad = 0
        if mode == "big":
            pad = max(0, 5 * 1024 * 1024 - len(data))
            self.send_header("Connection", "close")
        else:
            self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        try:
            for i in range(0, len(data), PIECE):
                self.wfile.write(data[i:i + PIECE])
            zeros = b"\0" * PIECE
            while pad > 0:
                self.wfile.write(zeros[:min(pad, PIECE)])
                pad -= min(pad, PIECE)
        except OSError:
            pass  # the agent cut the transfer off


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--store", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", default="")
    a = ap.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    srv.store = a.store
    srv.log = a.log
    tmp = a.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(srv.server_address[1]))
    os.replace(tmp, a.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
