"""Socket-level behaviour the data plane shares: cutting a connection the way a killed process
or a dead host does (TCP RST), as opposed to closing it politely (FIN)."""

from __future__ import annotations

import asyncio
import socket
import struct

_LINGER_RESET = struct.pack("ii", 1, 0)


def reset(transport: asyncio.BaseTransport | None) -> None:
    """Abort with RST: the peer sees 'connection reset by peer', not a clean end of stream."""
    if transport is None or transport.is_closing():
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RESET)
        except OSError:
            pass
    abort = getattr(transport, "abort", None)
    if abort is not None:
        abort()
    else:
        transport.close()
