#!/usr/bin/env python3
"""A small misbehaving HTTP server for the fetch, catalogue, control-file and
kill-switch tests. Loopback only, Python standard library only.

    testhttpd.py --root DIR --port-file FILE [--gh-limit N] [--gh-window SECS]
                 [--tls-cert PEM --tls-key PEM]

It binds 127.0.0.1 on a free port, writes the port to FILE and serves until
killed. Routes:

  GET  /files/NAME             a file from --root, with an ETag; 304 when
                               If-None-Match matches
  GET  /status/CODE            that status with a short body
  GET  /ratelimit[/SECS]       403 with X-RateLimit-Remaining: 0 and a Reset
                               SECS (300) ahead (GitHub's answer when over limit)
  GET  /retry-after/SECS       503 with Retry-After: SECS
  GET  /ok-ratelimit/NAME      the file, 200, with X-RateLimit-Remaining: 0
                               and a Reset 300 s ahead
  GET  /auth/NAME              the file, but 401 unless the request carries
                               "Authorization: Bearer test-token-123", the
                               GitHub Accept header and an ant-agent User-Agent
  GET  /html                   an HTML page (a captive portal)
  GET  /hang                   reads the request and never answers
  GET  /slow/MS/ROUTE          waits MS milliseconds, then answers /ROUTE
  GET  /big/BYTES              a body of BYTES bytes with Content-Length
  GET  /big-nolength/BYTES     the same without Content-Length
  GET  /endless                a body that never ends (no length)
  GET  /redirect/N             N redirects, then /files/redirected.txt
  GET  /redirect-file          a redirect to file:///etc/passwd
  GET  /redirect-loop          a redirect to itself, for ever
  GET  /redirect-http/HOST:PORT/PATH
                               a redirect to http://HOST:PORT/PATH (from a
                               server started with --tls-cert: https to http)
  GET  /close                  reads the request and closes the connection
                               without a byte of answer
  GET  /headers                the request headers as JSON
  GET  /gh/NAME                GitHub's issues API as a whole fleet behind one
                               address sees it: the file from --root with an
                               ETag (304 when If-None-Match matches) and the
                               X-RateLimit-* headers. Requests without
                               "Authorization: Bearer test-token-123" share one
                               budget of --gh-limit (60) per sliding
                               --gh-window (3600) real seconds, 304s included;
                               past it, GitHub's 403 "API rate limit exceeded"
                               until the oldest request leaves the window.
                               Requests with the token are not limited.
  GET  /_gh                    {"requests", "anonymous", "authenticated",
                               "not_modified", "limited", "max_in_window"} for
                               /gh so far (max_in_window: the most anonymous
                               requests answered in any one window)
  POST /echo                   the body and headers back as JSON
  POST /api/v2/write           InfluxDB 2.x's write API: with "Authorization:
                               Token test-influx-789" the body (gunzipped if
                               Content-Encoding: gzip) is appended to
                               ROOT/_written.lp and the answer is 204;
                               without it, 401
  GET  /_count                 {"path": hits, ...} for every route so far;
                               "PATH 304" counts the 304 answers
  GET  /_reset                 forget the counts and the overrides
  GET  /_set?path=P&mode=M     from now on answer P with route M instead,
                               e.g. mode=status/500, mode=hang, mode=endless

A path may be suffixed with ?tag=X so separate tests count separately.
"""
import argparse
import gzip
import hashlib
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

counts = {}
overrides = {}
gh = {"times": [], "requests": 0, "anonymous": 0, "authenticated": 0,
      "not_modified": 0, "limited": 0, "max_in_window": 0}
counts_lock = threading.Lock()
stop = threading.Event()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "testhttpd/1"

    def log_message(self, fmt, *args):  # quiet: tests read their own output
        pass

    def count(self):
        with counts_lock:
            counts[self.path] = counts.get(self.path, 0) + 1

    def send_body(self, code, body, ctype="text/plain", headers=None, length=True):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        if length:
            self.send_header("Content-Length", str(len(body)))
        else:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD" and code != 304:
            self.wfile.write(body)

    def route(self):
        return self.path.split("?", 1)[0]

    def do_GET(self):
        path = self.route()
        if path == "/_count":
            with counts_lock:
                body = json.dumps(counts).encode()
            return self.send_body(200, body, "application/json")
        if path == "/_gh":
            with counts_lock:
                body = json.dumps({k: v for k, v in gh.items() if k != "times"}).encode()
            return self.send_body(200, body, "application/json")
        if path == "/_reset":
            with counts_lock:
                counts.clear()
                overrides.clear()
            return self.send_body(200, b"ok\n")
        if path == "/_set":
            q = parse_qs(urlsplit(self.path).query)
            with counts_lock:
                if q.get("mode", [""])[0]:
                    overrides[q["path"][0]] = q["mode"][0]
                else:
                    overrides.pop(q["path"][0], None)
            return self.send_body(200, b"ok\n")
        self.count()
        with counts_lock:
            mode = overrides.get(path)
        if mode:
            path = "/" + mode
        parts = path.strip("/").split("/")
        name = parts[0]
        arg = "/".join(parts[1:])
        fn = getattr(self, "r_" + name.replace("-", "_"), None)
        if fn is None:
            return self.send_body(404, b"no such route\n")
        return fn(arg)

    def do_POST(self):
        self.count()
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        if self.route() == "/api/v2/write":
            if self.headers.get("Authorization") != "Token test-influx-789":
                return self.send_body(401, b'{"code":"unauthorized"}\n', "application/json")
            if self.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            with counts_lock:
                with open(os.path.join(self.server.root, "_written.lp"), "ab") as f:
                    f.write(body if body.endswith(b"\n") or not body else body + b"\n")
            return self.send_body(204, b"")
        if self.route() == "/echo":
            out = {"body": body.decode("utf-8", "replace"), "headers": dict(self.headers.items())}
            return self.send_body(200, json.dumps(out).encode(), "application/json")
        return self.send_body(404, b"no such route\n")

    def file_answer(self, arg, extra=None):
        root = self.server.root
        full = os.path.realpath(os.path.join(root, arg))
        if not full.startswith(os.path.realpath(root) + os.sep) or not os.path.isfile(full):
            return self.send_body(404, b"not found\n")
        with open(full, "rb") as f:
            data = f.read()
        etag = '"%s"' % hashlib.md5(data).hexdigest()
        headers = {"ETag": etag}
        headers.update(extra or {})
        if self.headers.get("If-None-Match") == etag:
            self.was_304 = True
            with counts_lock:
                key = self.path + " 304"
                counts[key] = counts.get(key, 0) + 1
            return self.send_body(304, b"", headers=headers)
        return self.send_body(200, data, headers=headers)

    def r_files(self, arg):
        return self.file_answer(arg)

    def r_gh(self, arg):
        limit, window = self.server.gh_limit, self.server.gh_window
        authed = self.headers.get("Authorization") == "Bearer test-token-123"
        now = time.time()
        with counts_lock:
            gh["requests"] += 1
            if authed:
                gh["authenticated"] += 1
                headers = {"X-RateLimit-Limit": "5000", "X-RateLimit-Remaining": "4999",
                           "X-RateLimit-Reset": str(int(now) + 3600)}
            else:
                times = gh["times"]
                while times and now - times[0] >= window:
                    times.pop(0)
                if len(times) >= limit:
                    gh["limited"] += 1
                    reset = str(int(times[0] + window) + 1)
                    headers = {"X-RateLimit-Limit": str(limit), "X-RateLimit-Remaining": "0",
                               "X-RateLimit-Reset": reset}
                    body = b'{"message": "API rate limit exceeded for 127.0.0.1."}\n'
                    limited = True
                else:
                    limited = False
                    times.append(now)
                    gh["anonymous"] += 1
                    gh["max_in_window"] = max(gh["max_in_window"], len(times))
                    headers = {"X-RateLimit-Limit": str(limit),
                               "X-RateLimit-Remaining": str(limit - len(times)),
                               "X-RateLimit-Reset": str(int(times[0] + window) + 1)}
        if not authed and limited:
            return self.send_body(403, body, "application/json", headers)
        self.was_304 = False
        self.file_answer(arg, headers)
        if self.was_304:
            with counts_lock:
                gh["not_modified"] += 1

    def r_auth(self, arg):
        h = self.headers
        if (h.get("Authorization") != "Bearer test-token-123"
                or h.get("Accept") != "application/vnd.github+json"
                or not (h.get("User-Agent") or "").startswith("ant-agent/")):
            return self.send_body(401, b'{"message": "Bad credentials"}\n', "application/json")
        return self.file_answer(arg)

    def r_ok_ratelimit(self, arg):
        reset = str(int(time.time()) + 300)
        return self.file_answer(arg, {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset})

    def r_status(self, arg):
        code = int(arg or "500")
        return self.send_body(code, b'{"message": "status %d"}\n' % code, "application/json")

    def r_ratelimit(self, arg):
        reset = str(int(time.time()) + int(arg or "300"))
        body = b'{"message": "API rate limit exceeded"}\n'
        return self.send_body(403, body, "application/json",
                              {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset})

    def r_retry_after(self, arg):
        return self.send_body(503, b"busy\n", headers={"Retry-After": arg or "120"})

    def r_html(self, arg):
        return self.send_body(200, b"<html><body>Sign in to the Wi-Fi</body></html>\n", "text/html")

    def r_hang(self, arg):
        stop.wait(600)

    def r_slow(self, arg):
        ms, _, rest = arg.partition("/")
        stop.wait(int(ms) / 1000.0)
        parts = rest.split("/")
        fn = getattr(self, "r_" + parts[0].replace("-", "_"), None)
        if fn is None:
            return self.send_body(404, b"no such route\n")
        return fn("/".join(parts[1:]))

    def stream(self, total, length):
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        if length:
            self.send_header("Content-Length", str(total))
        else:
            self.send_header("Connection", "close")
        self.end_headers()
        chunk = b"x" * 65536
        sent = 0
        try:
            while total < 0 or sent < total:
                n = len(chunk) if total < 0 else min(len(chunk), total - sent)
                self.wfile.write(chunk[:n])
                sent += n
        except (BrokenPipeError, ConnectionResetError):
            pass
        self.close_connection = True

    def r_big(self, arg):
        return self.stream(int(arg), True)

    def r_big_nolength(self, arg):
        return self.stream(int(arg), False)

    def r_endless(self, arg):
        return self.stream(-1, False)

    def r_redirect(self, arg):
        n = int(arg or "1")
        where = "/redirect/%d" % (n - 1) if n > 1 else "/files/redirected.txt"
        return self.send_body(302, b"", headers={"Location": where})

    def r_redirect_file(self, arg):
        return self.send_body(302, b"", headers={"Location": "file:///etc/passwd"})

    def r_redirect_loop(self, arg):
        return self.send_body(302, b"", headers={"Location": "/redirect-loop"})

    def r_redirect_http(self, arg):
        return self.send_body(302, b"", headers={"Location": "http://" + arg})

    def r_close(self, arg):
        self.close_connection = True

    def r_headers(self, arg):
        return self.send_body(200, json.dumps(dict(self.headers.items())).encode(), "application/json")


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", default=".")
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--gh-limit", type=int, default=60)
    ap.add_argument("--gh-window", type=float, default=3600.0)
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    a = ap.parse_args()
    srv = Server(("127.0.0.1", 0), Handler)
    if a.tls_cert:
        import ssl
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(a.tls_cert, a.tls_key)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    srv.root = a.root
    srv.gh_limit = a.gh_limit
    srv.gh_window = a.gh_window
    tmp = a.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(tmp, a.port_file)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
    return 0


if __name__ == "__main__":
    sys.exit(main())
