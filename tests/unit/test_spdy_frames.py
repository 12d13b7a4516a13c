"""SPDY/3.1 framing for port-forward: the header dictionary is the spec's, header blocks survive
one connection's shared compression contexts in order, and frames split at any byte boundary."""

from __future__ import annotations

import hashlib
import struct

from cluster.sim.kube import spdy_frames as spdy


def test_the_dictionary_is_the_spdy3_one() -> None:
    # sha256 of the 1,423 bytes of section 2.6.10.1, as moby/spdystream spdy/dictionary.go holds them
    assert len(spdy.DICTIONARY) == 1423
    assert hashlib.sha256(spdy.DICTIONARY).hexdigest() == "51d27341373f923f3cd88e1eb7162aeaa3723d7585ff2399201dc06498407f02"


def _syn_stream(stream_id: int, codec: spdy.HeaderCodec, headers: dict[str, str]) -> bytes:
    return spdy.control(spdy.FrameType.SYN_STREAM, 0, struct.pack(">IIBB", stream_id, 0, 0, 0) + codec.encode(headers))


def test_header_blocks_share_one_context_per_direction_and_frames_split_anywhere() -> None:
    client, server = spdy.HeaderCodec(), spdy.HeaderCodec()
    wire = b"".join(_syn_stream(n, client, {"streamType": kind, "port": "8500", "requestID": "0"})
                    for n, kind in ((1, "error"), (3, "data")))
    wire += spdy.data(3, b"GET / HTTP/1.1\r\n\r\n", fin=True)
    buffer, frames = bytearray(), []
    for byte in wire:  # one byte at a time: a frame is taken only when whole
        buffer.append(byte)
        frames += spdy.split_frames(buffer)
    assert not buffer
    first, second, data = frames
    assert isinstance(first, spdy.ControlFrame) and isinstance(second, spdy.ControlFrame) and isinstance(data, spdy.DataFrame)
    # the second block is compressed against the first (names arrive lower-cased, as spdystream writes them)
    assert spdy.syn_stream(first, server) == spdy.SynStream(1, 0, {"streamtype": "error", "port": "8500", "requestid": "0"})
    assert spdy.syn_stream(second, server).headers["streamtype"] == "data"
    assert (data.stream_id, data.fin, data.data) == (3, True, b"GET / HTTP/1.1\r\n\r\n")
    reply = spdy.split_frames(bytearray(spdy.syn_reply(3, server)))[0]
    assert isinstance(reply, spdy.ControlFrame) and reply.type == spdy.FrameType.SYN_REPLY and spdy.stream_of(reply) == 3
    assert client.decode(reply.payload[4:]) == {}
