"""SPDY/3.1 framing, as kubectl speaks it for `port-forward` (through moby/spdystream): control
and data frames, and the header blocks, zlib-compressed with the SPDY/3 dictionary, one
compression context per direction for the whole connection.  Pure: bytes in, frames out.

Sources: the SPDY/3.1 draft (draft-mbelshe-httpbis-spdy-00 and the 3.1 changes), section 2.2
(frames), 2.6 (control frames), 2.6.10.1 (the header dictionary); moby/spdystream spdy/read.go
and spdy/write.go (what kubectl's side writes and expects).  Flow control (WINDOW_UPDATE,
SETTINGS) is read and ignored, as spdystream does."""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field
from enum import IntEnum

VERSION = 3
MAX_DATA_LENGTH = (1 << 24) - 1


class FrameType(IntEnum):
    SYN_STREAM = 1
    SYN_REPLY = 2
    RST_STREAM = 3
    SETTINGS = 4
    PING = 6
    GOAWAY = 7
    HEADERS = 8
    WINDOW_UPDATE = 9


FLAG_FIN = 0x01
RST_CANCEL = 5  # RST_STREAM status: the sender no longer wants the stream


def _dictionary() -> bytes:
    """The SPDY/3 header-compression dictionary (section 2.6.10.1): length-prefixed words, then
    status lines, dates and common values run together."""
    words = ("options head post put delete trace accept accept-charset accept-encoding accept-language accept-ranges age allow "
             "authorization cache-control connection content-base content-encoding content-language content-length "
             "content-location content-md5 content-range content-type date etag expect expires from host if-match "
             "if-modified-since if-none-match if-range if-unmodified-since last-modified location max-forwards pragma "
             "proxy-authenticate proxy-authorization range referer retry-after server te trailer transfer-encoding upgrade "
             "user-agent vary via warning www-authenticate method get status").split()
    words += ["200 OK", "version", "HTTP/1.1", "url", "public", "set-cookie", "keep-alive", "origin"]
    tail = ("100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505"
            "203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request401 Unauthorized"
            "403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented503 Service Unavailable"
            "Jan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMT"
            "chunked,text/html,image/png,image/jpg,image/gif,application/xml,application/xhtml+xml,text/plain,"
            "text/javascript,publicprivatemax-age=gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0.")
    return b"".join(struct.pack(">I", len(w)) + w.encode() for w in words) + tail.encode()


DICTIONARY = _dictionary()


@dataclass(frozen=True)
class ControlFrame:
    type: int
    flags: int
    payload: bytes


@dataclass(frozen=True)
class DataFrame:
    stream_id: int
    flags: int
    data: bytes

    @property
    def fin(self) -> bool:
        return bool(self.flags & FLAG_FIN)


@dataclass(frozen=True)
class SynStream:
    stream_id: int
    flags: int
    headers: dict[str, str]


class ProtocolError(ValueError):
    """The peer sent bytes that are not SPDY/3."""


@dataclass
class HeaderCodec:
    """The two compression contexts of one connection: what the peer sends, what we send."""

    inflate: zlib._Decompress = field(default_factory=lambda: zlib.decompressobj(zdict=DICTIONARY))
    deflate: zlib._Compress = field(default_factory=lambda: zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, 15, 9,
                                                                            zlib.Z_DEFAULT_STRATEGY, DICTIONARY))

    def decode(self, block: bytes) -> dict[str, str]:
        try:
            raw = self.inflate.decompress(block)
        except zlib.error as exc:
            raise ProtocolError(f"the header block does not inflate: {exc}") from exc
        (count,), at = struct.unpack_from(">I", raw, 0), 4
        headers: dict[str, str] = {}
        for _ in range(count):
            (n,) = struct.unpack_from(">I", raw, at)
            name = raw[at + 4:at + 4 + n].decode()
            at += 4 + n
            (n,) = struct.unpack_from(">I", raw, at)
            headers[name.lower()] = raw[at + 4:at + 4 + n].decode().replace("\x00", ",")
            at += 4 + n
        return headers

    def encode(self, headers: dict[str, str]) -> bytes:
        raw = struct.pack(">I", len(headers)) + b"".join(
            struct.pack(">I", len(k)) + k.lower().encode() + struct.pack(">I", len(v.encode())) + v.encode() for k, v in headers.items())
        return self.deflate.compress(raw) + self.deflate.flush(zlib.Z_SYNC_FLUSH)


def split_frames(buffer: bytearray) -> list[ControlFrame | DataFrame]:
    """The whole frames at the head of `buffer`, removed from it; a partial frame stays."""
    frames: list[ControlFrame | DataFrame] = []
    while len(buffer) >= 8:
        first, flags_length = struct.unpack_from(">II", buffer, 0)
        flags, length = flags_length >> 24, flags_length & 0xFFFFFF
        if len(buffer) < 8 + length:
            break
        payload = bytes(buffer[8:8 + length])
        del buffer[:8 + length]
        if first & 0x80000000:
            version, kind = (first >> 16) & 0x7FFF, first & 0xFFFF
            if version != VERSION:
                raise ProtocolError(f"SPDY version {version}: only SPDY/3 is spoken here")
            frames.append(ControlFrame(kind, flags, payload))
        else:
            frames.append(DataFrame(first & 0x7FFFFFFF, flags, payload))
    return frames


def syn_stream(frame: ControlFrame, codec: HeaderCodec) -> SynStream:
    (stream_id,) = struct.unpack_from(">I", frame.payload, 0)
    return SynStream(stream_id & 0x7FFFFFFF, frame.flags, codec.decode(frame.payload[10:]))


def stream_of(frame: ControlFrame) -> int:
    """The stream a RST_STREAM, HEADERS or WINDOW_UPDATE names."""
    (stream_id,) = struct.unpack_from(">I", frame.payload, 0)
    return int(stream_id & 0x7FFFFFFF)


def control(kind: FrameType, flags: int, payload: bytes) -> bytes:
    return struct.pack(">HHI", 0x8000 | VERSION, kind, (flags << 24) | len(payload)) + payload


def syn_reply(stream_id: int, codec: HeaderCodec, headers: dict[str, str] | None = None) -> bytes:
    return control(FrameType.SYN_REPLY, 0, struct.pack(">I", stream_id) + codec.encode(headers or {}))


def rst_stream(stream_id: int, status: int = RST_CANCEL) -> bytes:
    return control(FrameType.RST_STREAM, 0, struct.pack(">II", stream_id, status))


def ping_reply(frame: ControlFrame) -> bytes:
    return control(FrameType.PING, 0, frame.payload[:4])


def data(stream_id: int, payload: bytes, fin: bool = False) -> bytes:
    """One or more data frames carrying `payload`; the last carries FIN when asked."""
    chunks = [payload[i:i + MAX_DATA_LENGTH] for i in range(0, len(payload), MAX_DATA_LENGTH)] or [b""]
    return b"".join(struct.pack(">II", stream_id, ((FLAG_FIN if fin and i == len(chunks) - 1 else 0) << 24) | len(c)) + c
                    for i, c in enumerate(chunks))
