"""A minimal writer of hostile checkpoints for the tests (independent of libckpt: tables, BundleEntryProto,
V1 SavedTensorSlices and OrderedCode slice keys written from the format facts)."""
import os
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from ckpt_testlib import crc32c, crc_mask as mask  # noqa: E402,F401  (the tests' one CRC-32C)

def varint(v):
    if v < 0:
        v &= (1 << 64) - 1
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80); v >>= 7
    out.append(v)
    return bytes(out)

def fv(num, v):        # varint field (always emitted)
    return varint(num << 3) + varint(v)

def fb(num, b):        # length-delimited field
    return varint(num << 3 | 2) + varint(len(b)) + b

def ff32(num, v):
    return varint(num << 3 | 5) + struct.pack("<I", v)

def shape(dims):
    return b"".join(fb(2, fv(1, d) if d else b"") for d in dims)

def extent(start=None, length=None):
    b = b""
    if start is not None: b += fv(1, start)
    if length is not None: b += fv(2, length)
    return b

def tslice(extents):   # list of (start,length) or None for full
    return b"".join(fb(1, extent(*e) if e else b"") for e in extents)

def entry(dtype, dims, shard=0, offset=0, size=0, crc=0, slices=None):
    b = fv(1, dtype) + fb(2, shape(dims)) + fv(3, shard) + fv(4, offset) + fv(5, size) + ff32(6, mask(crc))
    for s in slices or []:
        b += fb(7, tslice(s))
    return b

def header(num_shards=1):
    return fv(1, num_shards) + fb(3, fv(1, 1))

def block(entries, restart_every=16):
    out = bytearray(); restarts = []; prev = b""
    for i, (k, v) in enumerate(entries):
        if i % restart_every == 0:
            restarts.append(len(out)); shared = 0
        else:
            shared = 0
            while shared < min(len(prev), len(k)) and prev[shared] == k[shared]: shared += 1
        out += varint(shared) + varint(len(k) - shared) + varint(len(v)) + k[shared:] + v
        prev = k
    if not restarts: restarts = [0]
    for r in restarts: out += struct.pack("<I", r)
    out += struct.pack("<I", len(restarts))
    return bytes(out)

def trailer(contents, typ=0):
    return bytes([typ]) + struct.pack("<I", mask(crc32c(contents + bytes([typ]))))

def handle(off, size):
    return varint(off) + varint(size)

def table(entries, block_entries=1000):
    """entries: sorted list of (key bytes, value bytes)."""
    f = bytearray(); idx = []
    for i in range(0, max(len(entries), 1), block_entries):
        chunk = entries[i:i + block_entries]
        b = block(chunk)
        off = len(f); f += b + trailer(b)
        last = chunk[-1][0] if chunk else b""
        idx.append((last + b"\xff" if chunk else b"\xff", handle(off, len(b))))
    meta = block([]); moff = len(f); f += meta + trailer(meta)
    ib = block(idx, 1); ioff = len(f); f += ib + trailer(ib)
    foot = handle(moff, len(meta)) + handle(ioff, len(ib))
    foot += b"\0" * (40 - len(foot)) + struct.pack("<Q", 0xdb4775248b80fb57)
    f += foot
    return bytes(f)

# OrderedCode slice key
def oc_num(v):
    b = v.to_bytes((v.bit_length() + 7) // 8, "big") if v else b""
    return bytes([len(b)]) + b

def oc_signed(v):
    x = v if v >= 0 else ~v
    if x < 64:
        return bytes([(0x80 ^ v) & 0xff])
    bits = x.bit_length()
    ln = (bits + 7) // 7
    if ln > 10: ln = 10
    full = (v & ((1 << 80) - 1)).to_bytes(10, "big")
    b = bytearray(full[10 - ln:])
    head = {1:(0x80,0),2:(0xc0,0),3:(0xe0,0),4:(0xf0,0),5:(0xf8,0),6:(0xfc,0),7:(0xfe,0),8:(0xff,0),9:(0xff,0x80),10:(0xff,0xc0)}[ln]
    b[0] ^= head[0]
    if ln > 1: b[1] ^= head[1]
    return bytes(b)

def slice_key(name, extents):
    out = bytearray(b"\x00")
    for c in name:
        out.append(c)
        if c == 0: out.append(0xff)
        elif c == 0xff: out.append(0)
    out += b"\x00\x01" + oc_num(len(extents))
    for e in extents:
        s, l = (0, -1) if e is None else e
        out += oc_signed(s) + oc_signed(l)
    return bytes(out)

def write(path, data):
    with open(path, "wb") as f: f.write(data)

# ---- V1 (SavedTensorSlices) ----
def v1_meta(tensors):
    """tensors: list of (name, dtype, dims, [slice extents lists])"""
    m = b""
    for name, dt, dims, slices in tensors:
        t = fb(1, name) + fb(2, shape(dims)) + fv(3, dt)
        for s in slices:
            t += fb(4, tslice(s))
        m += fb(1, t)
    m += fb(2, fv(1, 1))
    return fb(1, m)

def v1_data(name, extents, tensorproto):
    return fb(2, fb(1, name) + fb(2, tslice(extents)) + fb(3, tensorproto))

def v1_file(tensors, records):
    """records: list of (name, extents, tensorproto bytes)"""
    ents = [(b"", v1_meta(tensors))]
    for name, ext, tp in records:
        ents.append((slice_key(name, ext), v1_data(name, ext, tp)))
    ents.sort()
    return table(ents)
