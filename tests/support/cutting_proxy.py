"""A loopback TCP proxy whose connections a test can cut: `cut()` closes every open connection and
refuses new ones until `restore()`.  It stands between a client and the simulator's API to make
the network failures a long watch meets (dropped streams, an unreachable server) happen on cue."""

from __future__ import annotations

import socket
import threading


class CuttingProxy:
    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._cut = False
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            if self._cut:
                conn.close()
                continue
            try:
                up = socket.create_connection(self.upstream)
            except OSError:
                conn.close()
                continue
            with self._lock:
                self._open |= {conn, up}
            threading.Thread(target=self._pump, args=(conn, up), daemon=True).start()
            threading.Thread(target=self._pump, args=(up, conn), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                self._drop(s)

    def _drop(self, s: socket.socket) -> None:
        with self._lock:
            self._open.discard(s)
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        s.close()

    def cut(self) -> None:
        self._cut = True
        with self._lock:
            victims = list(self._open)
        for s in victims:
            self._drop(s)

    def restore(self) -> None:
        self._cut = False

    def close(self) -> None:
        self._closed = True
        self.cut()
        self.listener.close()
