#!/usr/bin/env python3
"""Write synthetic V2 checkpoints without TensorFlow, for benchmarks at sizes TF is slow to make.

An independent, minimal writer of the on-disk format (table blocks with prefix-compressed keys
and restart points, masked CRC-32C trailers, an empty metaindex, the index block and footer;
BundleHeaderProto and BundleEntryProto encoded by hand). The layout mimics real models: deep
names with optimizer slots, so the mounted tree has many directories.

    python3 scripts/synthckpt.py OUT_PREFIX --vars 100000 [--elems 16] [--big-mib 0]
"""
import argparse
import os
import struct
import sys

try:
    import crc32c as _crc32c_mod  # pip install crc32c (C implementation)

    def crc32c(data, crc=0):
        return _crc32c_mod.crc32c(data, crc)
except ImportError:  # pragma: no cover - slow fallback
    _T = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ (0x82F63B78 if c & 1 else 0)
        _T.append(c)

    def crc32c(data, crc=0):
        c = crc ^ 0xFFFFFFFF
        for b in data:
            c = (c >> 8) ^ _T[(c ^ b) & 0xFF]
        return c ^ 0xFFFFFFFF


def mask(c):
    return ((((c >> 15) | (c << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF


def varint(v):
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def field_varint(num, v):
    return varint(num << 3) + varint(v) if v else b""


def field_bytes(num, b):
    return varint(num << 3 | 2) + varint(len(b)) + b


def entry_proto(dtype, shape, shard, offset, size, crc):
    shape_msg = b"".join(field_bytes(2, field_varint(1, d)) for d in shape)
    return (field_varint(1, dtype) + field_bytes(2, shape_msg) + field_varint(3, shard) +
            field_varint(4, offset) + field_varint(5, size) + varint(6 << 3 | 5) +
            struct.pack("<I", mask(crc)))


class TableWriter:
    """Writes a table like TF's: 256 KiB blocks, restart every 16 keys (every key in the index)."""

    def __init__(self, f, block_size=262144):
        self.f, self.block_size, self.offset = f, block_size, 0
        self.block, self.restarts, self.count, self.last = bytearray(), [0], 0, b""
        self.index, self.pending = [], None

    def _add_to(self, buf, restarts, count, last, key, value, interval):
        shared = 0
        if count % interval:
            n = min(len(last), len(key))
            while shared < n and last[shared] == key[shared]:
                shared += 1
        else:
            if count:
                restarts.append(len(buf))
        buf += varint(shared) + varint(len(key) - shared) + varint(len(value))
        buf += key[shared:] + value

    def add(self, key, value):
        if self.pending is not None:
            self.index.append((self.last, self.pending))  # separator: the last key itself
            self.pending = None
        self._add_to(self.block, self.restarts, self.count, self.last, key, value, 16)
        self.count += 1
        self.last = key
        if len(self.block) + 4 * len(self.restarts) + 4 >= self.block_size:
            self.pending = self._flush()

    def _finish_block(self, buf, restarts):
        return bytes(buf) + b"".join(struct.pack("<I", r) for r in restarts) + struct.pack(
            "<I", len(restarts))

    def _write_block(self, contents):
        handle = (self.offset, len(contents))
        trailer = b"\x00" + struct.pack("<I", mask(crc32c(contents + b"\x00")))
        self.f.write(contents + trailer)
        self.offset += len(contents) + 5
        return handle

    def _flush(self):
        h = self._write_block(self._finish_block(self.block, self.restarts))
        self.block, self.restarts, self.count = bytearray(), [0], 0
        return h

    def finish(self):
        if self.count:
            self.pending = self._flush()
        if self.pending is not None:
            self.index.append((self.last + b"\xff", self.pending))
        meta = self._write_block(self._finish_block(bytearray(), [0]))
        ib, ir, n, last = bytearray(), [0], 0, b""
        for k, (off, size) in self.index:
            self._add_to(ib, ir, n, last, k, varint(off) + varint(size), 1)
            n, last = n + 1, k
        idx = self._write_block(self._finish_block(ib, ir))
        handles = varint(meta[0]) + varint(meta[1]) + varint(idx[0]) + varint(idx[1])
        self.f.write(handles + b"\x00" * (40 - len(handles)) + struct.pack("<Q", 0xDB4775248B80FB57))


def names(nvars):
    """Realistic names: blocks of layers with kernels, biases and two Adam slots each."""
    out, i = [], 0
    while len(out) < nvars:
        base = "model/block_%04d/layer_%d/dense" % (i // 8, i % 8)
        for leaf in ("kernel", "bias"):
            for slot in ("", "/Adam", "/Adam_1"):
                out.append(base + "/" + leaf + slot)
        i += 1
    return sorted(n.encode() for n in out[:nvars])


def write(prefix, nvars, elems, big_mib):
    os.makedirs(os.path.dirname(os.path.abspath(prefix)), exist_ok=True)
    keys = names(nvars)
    entries = {}
    with open(prefix + ".data-00000-of-00001", "wb") as d:
        off = 0
        for i, k in enumerate(keys):
            data = struct.pack("<%df" % elems, *[(i * 31 + j) * 0.001 for j in range(elems)])
            d.write(data)
            entries[k] = entry_proto(1, [elems], 0, off, len(data), crc32c(data))
            off += len(data)
        if big_mib:
            n = big_mib << 20
            chunk = bytes(range(256)) * 4096
            crc, done = 0, 0
            while done < n:
                part = chunk[: min(len(chunk), n - done)]
                d.write(part)
                crc = crc32c(part, crc)
                done += len(part)
            entries[b"zz_big/tensor"] = entry_proto(4, [n], 0, off, n, crc)
    with open(prefix + ".index", "wb") as f:
        t = TableWriter(f)
        t.add(b"", b"\x08\x01\x1a\x02\x08\x01")
        for k in sorted(entries):
            t.add(k, entries[k])
        t.finish()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("prefix")
    ap.add_argument("--vars", type=int, default=100000)
    ap.add_argument("--elems", type=int, default=16)
    ap.add_argument("--big-mib", type=int, default=0, help="add one uint8 tensor of this size")
    a = ap.parse_args()
    write(a.prefix, a.vars, a.elems, a.big_mib)


if __name__ == "__main__":
    sys.exit(main())
