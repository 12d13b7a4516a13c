"""A reference HTTP/1.1 target that answers every request exactly `delay` seconds after the
request reached it (raw sockets, a thread per connection, the wait measured from arrival so
that its own parsing adds nothing), for checking the load generator's latency numbers."""

from __future__ import annotations

import socket
import sys
import threading
import time

RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok"


def serve_connection(conn: socket.socket, delay: float) -> None:
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    buf = b""
    with conn:
        while True:
            while b"\r\n\r\n" not in buf:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                if not buf:
                    arrived = time.perf_counter()
                buf += chunk
            head, _, rest = buf.partition(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            while len(rest) < length:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                rest += chunk
            buf = rest[length:]
            wait = arrived + delay - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            conn.sendall(RESPONSE)
            if buf:
                arrived = time.perf_counter()


def main() -> None:
    port, delay = int(sys.argv[1]), float(sys.argv[2])
    listener = socket.create_server(("127.0.0.1", port), backlog=1024)
    print("listening", flush=True)
    while True:
        conn, _ = listener.accept()
        threading.Thread(target=serve_connection, args=(conn, delay), daemon=True).start()


if __name__ == "__main__":
    main()
