"""A loopback HTTP proxy that fails a share of the requests passing through it the way real APIs
fail: 429 with Retry-After, 500 and 503, a connection dropped before the request reaches the
server, and a 1-2 s delay.  Seeded, so a failing run repeats; counts what it did.  It stands
between the harness and the simulator's Kubernetes API or AWS endpoint (the simulator itself is
not changed: the faults are on the wire, as a client meets them)."""

from __future__ import annotations

import http.client
import random
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

FAULTS = ("429", "500", "503", "drop", "delay")


class FaultProxy:
    def __init__(self, upstream: str, rate: float, seed: int = 1, faults: tuple[str, ...] = FAULTS, spare: tuple[str, ...] = ("watch=true",),
                 kubernetes: bool = True) -> None:
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.rate, self.faults, self.spare = rate, faults, spare
        self.rng = random.Random(seed)
        self.counts: Counter[str] = Counter()
        self._faulted = 0
        self._lock = threading.Lock()
        proxy = self
        kubernetes_api = kubernetes

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _any(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                fault = proxy._draw(self.path)
                if fault in ("429", "500", "503"):
                    # the Kubernetes API answers a Status object; an AWS front end's 5xx comes with no body botocore can read
                    payload = (b'{"kind":"Status","apiVersion":"v1","status":"Failure","message":"injected","code":' + fault.encode() + b"}") if kubernetes_api else b""
                    self.send_response(int(fault))
                    if fault == "429":
                        self.send_header("Retry-After", "1")
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                if fault == "drop":
                    self.close_connection = True
                    self.connection.close()
                    return
                if fault == "delay":
                    time.sleep(proxy.rng.uniform(1.0, 2.0))
                up = http.client.HTTPConnection(*proxy.upstream, timeout=600)
                try:
                    headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
                    up.request(self.command, self.path, body=body or None, headers=headers)
                    resp = up.getresponse()
                    self.send_response(resp.status)
                    for k, v in resp.getheaders():
                        if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                            self.send_header(k, v)
                    if resp.getheader("Content-Length") is not None:
                        data = resp.read()
                        self.send_header("Content-Length", str(len(data)))
                        self.end_headers()
                        self.wfile.write(data)
                        return
                    # a stream (a watch): passed on as it comes, never buffered
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    while chunk := resp.read1(65536):
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                        self.wfile.flush()
                    self.wfile.write(b"0\r\n\r\n")
                except OSError:
                    self.close_connection = True  # the client or the server went away mid-stream
                finally:
                    up.close()

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _any

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def _draw(self, path: str) -> str | None:
        if any(s in path for s in self.spare):
            return None
        with self._lock:
            self.counts["requests"] += 1
            if self.rng.random() >= self.rate:
                return None
            fault = self.faults[self._faulted % len(self.faults)]  # in turn: every kind comes once a few requests have failed
            self._faulted += 1
            self.counts[fault] += 1
            return fault

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
