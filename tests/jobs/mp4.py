"""A small ISO BMFF (MP4) rewriter for forging headers of real clips: the boxes on the
way to the video's sample description become a tree, a patch changes fields, the
tree is written back with every size recomputed. Only files whose `moov` follows
`mdat` (what tests/jobs/clips.py writes) are rewritten, so no chunk offset moves.

The H.264 SPS is rewritten bit by bit (Exp-Golomb fields, emulation prevention), so
a forged size is the one the decoder itself reads, not only the container's.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

# Boxes opened on the way to stsd; everything else stays opaque bytes.
CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"edts"}
# Boxes with fixed fields before their children: stsd (version, count), avc1 (the
# VisualSampleEntry's 78 bytes).
PREFIXED = {b"stsd": 8, b"avc1": 78}


@dataclass
class Box:
    kind: bytes
    payload: bytes = b""  # opaque body, or the fixed fields before the children
    children: list[Box] | None = None

    def encode(self) -> bytes:
        body = self.payload + b"".join(child.encode() for child in self.children or [])
        return struct.pack(">I4s", 8 + len(body), self.kind) + body

    def find(self, kind: bytes) -> list[Box]:
        """Every descendant box of this kind, depth first."""
        found = []
        for child in self.children or []:
            if child.kind == kind:
                found.append(child)
            found += child.find(kind)
        return found


def parse(data: bytes) -> list[Box]:
    boxes, offset = [], 0
    while offset + 8 <= len(data):
        size, kind = struct.unpack_from(">I4s", data, offset)
        if size < 8:
            raise ValueError(f"box {kind!r} at {offset}: size {size} is not handled here")
        body = data[offset + 8: offset + size]
        if kind in CONTAINERS:
            boxes.append(Box(kind, b"", parse(body)))
        elif kind in PREFIXED:
            cut = PREFIXED[kind]
            boxes.append(Box(kind, body[:cut], parse(body[cut:])))
        else:
            boxes.append(Box(kind, body))
        offset += size
    return boxes


@dataclass
class Movie:
    """A clip as boxes; `moov` is the tree to patch."""

    boxes: list[Box] = field(default_factory=list)

    @classmethod
    def read(cls, data: bytes) -> Movie:
        movie = cls(parse(data))
        kinds = [box.kind for box in movie.boxes]
        if kinds.index(b"moov") < kinds.index(b"mdat"):
            raise ValueError("moov before mdat: rewriting it would move the samples")
        return movie

    @property
    def moov(self) -> Box:
        return next(box for box in self.boxes if box.kind == b"moov")

    def encode(self) -> bytes:
        return b"".join(box.encode() for box in self.boxes)

    def video_trak(self) -> Box:
        return next(trak for trak in self.moov.find(b"trak") if trak.find(b"avc1"))


def patch(payload: bytes, offset: int, fmt: str, *values) -> bytes:
    buffer = bytearray(payload)
    struct.pack_into(fmt, buffer, offset, *values)
    return bytes(buffer)


def set_dimensions(movie: Movie, width: int, height: int) -> None:
    """The video's size as the container (tkhd, avc1) and the decoder (SPS) read it."""
    trak = movie.video_trak()
    tkhd = trak.find(b"tkhd")[0]
    at = 88 if tkhd.payload[0] == 1 else 76
    tkhd.payload = patch(tkhd.payload, at, ">II", width << 16, height << 16)
    avc1 = trak.find(b"avc1")[0]
    avc1.payload = patch(avc1.payload, 24, ">HH", width, height)
    avcc = avc1.find(b"avcC")[0]
    avcc.payload = _with_sps(avcc.payload, lambda sps: resize_sps(sps, width, height))


def set_duration(movie: Movie, seconds: float) -> None:
    """Every duration header (mvhd, tkhd, mdhd) says `seconds`; the samples do not."""
    mvhd = next(box for box in movie.moov.children if box.kind == b"mvhd")
    movie_scale = _set_header_duration(mvhd, 16, seconds, None)
    for trak in movie.moov.find(b"trak"):
        _set_header_duration(trak.find(b"tkhd")[0], 20, seconds, movie_scale)
        _set_header_duration(trak.find(b"mdhd")[0], 16, seconds, None)
        # an edit list would cut the claim back to the samples
        trak.children = [box for box in trak.children if box.kind != b"edts"]


def _set_header_duration(box: Box, duration_at: int, seconds: float,
                         timescale: int | None) -> int:
    """Set a version-0 header's duration; returns its timescale (`timescale` when
    the box has none of its own, as tkhd counts in the movie's)."""
    if box.payload[0] != 0:
        raise ValueError(f"{box.kind!r} version {box.payload[0]} is not handled here")
    own = timescale or struct.unpack_from(">I", box.payload, duration_at - 4)[0]
    box.payload = patch(box.payload, duration_at, ">I", int(seconds * own))
    return own


def stretch_last_sample(movie: Movie, seconds: float) -> None:
    """The video's last frame lasts `seconds` (stts), and the headers agree: a file
    whose real timeline is hours long with a handful of frames in it."""
    trak = movie.video_trak()
    mdhd = trak.find(b"mdhd")[0]
    timescale = struct.unpack_from(">I", mdhd.payload, 12)[0]
    stts = trak.find(b"stts")[0]
    count = struct.unpack_from(">I", stts.payload, 4)[0]
    entries = [struct.unpack_from(">II", stts.payload, 8 + 8 * i) for i in range(count)]
    (last_count, delta), rest = entries[-1], entries[:-1]
    entries = [*rest, *([(last_count - 1, delta)] if last_count > 1 else []),
               (1, int(seconds * timescale))]
    stts.payload = stts.payload[:4] + struct.pack(">I", len(entries)) + b"".join(
        struct.pack(">II", *entry) for entry in entries)
    set_duration(movie, seconds)


def declare_samples(movie: Movie, count: int) -> None:
    """The video track claims `count` samples of one byte each, all in its first chunk:
    an index the demuxer builds in memory from a few bytes of header."""
    trak = movie.video_trak()
    for kind, payload in ((b"stsz", struct.pack(">III", 0, 1, count)),
                          (b"stts", struct.pack(">IIII", 0, 1, count, 1)),
                          (b"stsc", struct.pack(">IIIII", 0, 1, 1, count, 1))):
        box = trak.find(kind)[0]
        box.payload = payload
    stbl = trak.find(b"stbl")[0]
    stbl.children = [box for box in stbl.children if box.kind not in (b"stss", b"ctts")]


def many_tracks(movie: Movie, count: int) -> None:
    """`moov` lists `count` (empty) tracks besides the real ones."""
    movie.moov.children += [Box(b"trak", b"", []) for _ in range(count)]


# --- H.264 SPS ---------------------------------------------------------------------

def _with_sps(avcc: bytes, change) -> bytes:
    """avcC with its (single) SPS replaced by change(sps)."""
    if avcc[5] & 0x1F != 1:
        raise ValueError("an avcC with one SPS is expected")
    length = struct.unpack_from(">H", avcc, 6)[0]
    sps = change(avcc[8: 8 + length])
    return avcc[:6] + struct.pack(">H", len(sps)) + sps + avcc[8 + length:]


HIGH_PROFILES = {100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135}


def resize_sps(nal: bytes, width: int, height: int) -> bytes:
    """An SPS NAL unit (header byte included) declaring `width` x `height` (multiples
    of 16, progressive), every other field kept, any cropping dropped."""
    if width % 16 or height % 16:
        raise ValueError("width and height must be multiples of 16")
    bits = Bits(unescape(nal[1:]))
    out = BitWriter()
    out.copy(bits, 24)  # profile_idc, constraint flags, level_idc
    profile = bits.value_at(0, 8)
    out.ue(bits.ue())  # seq_parameter_set_id
    if profile in HIGH_PROFILES:
        chroma = bits.ue()
        out.ue(chroma)
        if chroma == 3:
            out.copy(bits, 1)
        out.ue(bits.ue())
        out.ue(bits.ue())  # bit depths
        out.copy(bits, 1)  # qpprime_y_zero_transform_bypass
        if bits.peek(1):
            raise ValueError("scaling matrices are not handled here")
        out.copy(bits, 1)
    out.ue(bits.ue())  # log2_max_frame_num_minus4
    poc_type = bits.ue()
    out.ue(poc_type)
    if poc_type == 0:
        out.ue(bits.ue())
    elif poc_type == 1:
        raise ValueError("pic_order_cnt_type 1 is not handled here")
    out.ue(bits.ue())  # max_num_ref_frames
    out.copy(bits, 1)  # gaps_in_frame_num_allowed
    bits.ue()
    bits.ue()  # the real size, replaced:
    out.ue(width // 16 - 1)
    out.ue(height // 16 - 1)
    if not bits.peek(1):
        raise ValueError("interlaced SPS is not handled here")
    out.copy(bits, 2)  # frame_mbs_only_flag, direct_8x8_inference_flag
    if bits.read(1):  # frame_cropping_flag: drop the crop of the real size
        for _ in range(4):
            bits.ue()
    out.put(0, 1)
    while bits.remaining() > 0:
        out.copy(bits, 1)  # the VUI and the stop bit, verbatim
    return nal[:1] + escape(out.bytes())


def unescape(rbsp: bytes) -> bytes:
    return rbsp.replace(b"\x00\x00\x03", b"\x00\x00")


def escape(rbsp: bytes) -> bytes:
    out, zeros = bytearray(), 0
    for byte in rbsp:
        if zeros >= 2 and byte <= 3:
            out.append(3)
            zeros = 0
        out.append(byte)
        zeros = zeros + 1 if byte == 0 else 0
    return bytes(out)


class Bits:
    def __init__(self, data: bytes):
        self.data, self.position = data, 0
        # the RBSP ends with a stop bit then zeros: `end` is just past the stop bit
        self.end = len(data) * 8
        while self.end > 0 and not self.value_at(self.end - 1, 1):
            self.end -= 1

    def value_at(self, position: int, count: int) -> int:
        value = 0
        for index in range(position, position + count):
            value = value << 1 | (self.data[index // 8] >> (7 - index % 8)) & 1
        return value

    def read(self, count: int) -> int:
        value = self.value_at(self.position, count)
        self.position += count
        return value

    def peek(self, count: int) -> int:
        return self.value_at(self.position, count)

    def ue(self) -> int:
        zeros = 0
        while not self.read(1):
            zeros += 1
        return (1 << zeros) - 1 + self.read(zeros)

    def remaining(self) -> int:
        return self.end - self.position


class BitWriter:
    def __init__(self):
        self.bits: list[int] = []

    def put(self, value: int, count: int) -> None:
        self.bits += [(value >> (count - 1 - i)) & 1 for i in range(count)]

    def copy(self, source: Bits, count: int) -> None:
        self.put(source.read(count), count)

    def ue(self, value: int) -> None:
        code = value + 1
        self.put(0, code.bit_length() - 1)
        self.put(code, code.bit_length())

    def bytes(self) -> bytes:
        bits = self.bits + [0] * (-len(self.bits) % 8)
        return bytes(int("".join(map(str, bits[i:i + 8])), 2) for i in range(0, len(bits), 8))
