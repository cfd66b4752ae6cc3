#!/usr/bin/env python3
"""Hostile and damaged checkpoints: ckptfs must answer each with a clean error, in bounded time
and memory, and never with wrong bytes.

Each case is written here with tests/pylib/ckptwriter.py (the tests' independent writer of the
formats) and is a regression test for a problem found in review: partitioned variables on a
missing shard, more slices than supported, overlapping or duplicated slices, V1 records too
short for their shape, V1 metas listing more slice keys than the file can hold, index blocks
all pointing at one huge block, damaged V1 tables, unknown dtypes with a bad checksum,
streaming reads of a damaged partitioned tensor, V1 version checks, a non-scalar object graph,
records nested deep enough to overflow a recursive parser, and FIFOs in a checkpoint.
"""
import functools
import os
import resource
import shutil
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import ckpt_testlib as tl  # noqa: E402
import ckptwriter as cw  # noqa: E402

# Index entries with every field written, zeros too (TF leaves zeros out; both must be read),
# tables of 1000-entry blocks indexed by successor keys: as these cases were first written.
entry = functools.partial(cw.bundle_entry, explicit_zeros=True)
table = functools.partial(cw.table, block_size=None, block_entries=1000, successor_keys=True)

T = tl.Checks()
LIMIT_S = 10         # a hostile file must be refused well within this
LIMIT_RSS_MB = 256   # ... and without allocating what it claims


def run_limited(*args):
    """Run ckptfs with an address-space cap; return (rc, stdout, stderr, seconds)."""
    exe = tl.ckptfs_path()

    def cap():
        lim = LIMIT_RSS_MB << 20
        resource.setrlimit(resource.RLIMIT_AS, (lim * 8, lim * 8))  # ASan needs shadow room

    t = time.time()
    try:
        p = subprocess.run([exe] + [a if isinstance(a, bytes) else str(a) for a in args],
                           capture_output=True, timeout=LIMIT_S,
                           preexec_fn=None if os.environ.get("ASAN_OPTIONS") else cap)
        return p.returncode, p.stdout, p.stderr.decode("utf-8", "replace"), time.time() - t
    except subprocess.TimeoutExpired:
        return "timeout", b"", "", time.time() - t


def refused(what, res, *words, code=None):
    rc, out, err, secs = res
    T.ok(rc != "timeout", "%s: finished (took %.1f s)" % (what, secs))
    if rc == "timeout":
        return
    T.ok(rc not in (0,) and rc < 128, "%s: clean non-zero exit, got %r: %s" % (what, rc, err))
    if code is not None:
        T.eq(rc, code, what + ": exit code")
    T.eq(out, b"", what + ": nothing on stdout")
    T.ok("runtime error" not in err and "AddressSanitizer" not in err, what + ": sanitizer: " + err)
    for w in words:
        T.ok(w in err, "%s: message mentions %r: %s" % (what, w, err.strip()))


def case_missing_shard_partitioned(d):
    a, b = struct.pack("<2f", 1, 2), struct.pack("<2f", 3, 4)
    ents = sorted([(b"", cw.bundle_header(2)),
                   (cw.slice_key(b"p", [(0, 2)]), entry(1, [2], 0, 0, 8, cw.crc32c(a))),
                   (cw.slice_key(b"p", [(2, 2)]), entry(1, [2], 1, 0, 8, cw.crc32c(b))),
                   (b"p", entry(1, [4], slices=[[(0, 2)], [(2, 2)]]))])
    cw.write(d + "/ck.index", table(ents))
    cw.write(d + "/ck.data-00000-of-00002", a)
    refused("partitioned on a missing shard", run_limited("cat", "--index-only", d + "/ck", "p"),
            "ck.data-00001-of-00002", "p", code=4)


def case_too_many_and_overlapping_slices(d):
    n = 4096
    data, ents = b"", [(b"", cw.bundle_header(1))]
    slices = [[(j, 1)] for j in range(1, n + 1)] + [[(1, 1)]]
    for j in range(1, n + 1):
        v = struct.pack("<f", float(j))
        ents.append((cw.slice_key(b"t", [(j, 1)]), entry(1, [1], 0, len(data), 4, cw.crc32c(v))))
        data += v
    ents.append((b"t", entry(1, [n + 1], slices=slices)))
    cw.write(d + "/ck.index", table(sorted(ents)))
    cw.write(d + "/ck.data-00000-of-00001", data)
    refused("4097 slices", run_limited("ls", "-l", d + "/ck"), "4097 slices")
    # Two slices, the second a duplicate of the first, the tensor's other half never stored.
    v = struct.pack("<2f", 1, 2)
    ents = sorted([(b"", cw.bundle_header(1)),
                   (cw.slice_key(b"u", [(0, 2)]), entry(1, [2], 0, 0, 8, cw.crc32c(v))),
                   (b"u", entry(1, [4], slices=[[(0, 2)], [(0, 2)]]))])
    cw.write(d + "/dup.index", table(ents))
    cw.write(d + "/dup.data-00000-of-00001", v)
    refused("duplicated slice", run_limited("cat", d + "/dup", "u"), "overlap")


def case_v1_short_records(d):
    tp = cw.field_bytes(5, struct.pack("<f", 1.5))
    cw.write(d + "/float.ckpt", cw.v1_file([(b"f", 1, [1 << 28], [[None]])], [(b"f", [None], tp)]))
    refused("V1 float record shorter than its shape", run_limited("cat", d + "/float.ckpt", "f"),
            "1 values for a tensor of 268435456 elements")
    tp = cw.field_bytes(8, b"x")
    cw.write(d + "/str.ckpt", cw.v1_file([(b"s", 7, [1 << 40], [[None]])], [(b"s", [None], tp)]))
    refused("V1 string record shorter than its shape", run_limited("cat", d + "/str.ckpt", "s"),
            "1 strings")


def case_snappy_block_of_a_gigabyte(d):
    # One index block, 48 MB of Snappy copies that honestly expand to 1 GiB of zeros (within
    # Snappy's ratio): a block no table needs (docs/format.md, "Tables"), refused from its
    # length header, before anything is allocated for it, naming both sizes.
    n = 1 << 30
    body = b"\x00\x00" + (bytes([(63 << 2) | 2]) + b"\x01\x00") * ((n - 1) // 64)
    rem = (n - 1) % 64
    if rem:
        body += bytes([((rem - 1) << 2) | 2]) + b"\x01\x00"
    v, hdr = n, b""
    while v >= 0x80:
        hdr += bytes([v & 0x7f | 0x80])
        v >>= 7
    c = hdr + bytes([v]) + body
    meta = cw.block([])
    out = c + cw.block_trailer(c, 1)
    mh = cw.block_handle(len(out), len(meta))
    out += meta + cw.block_trailer(meta)
    idx = cw.block([(b"k", cw.block_handle(0, len(c)))])
    ih = cw.block_handle(len(out), len(idx))
    out += idx + cw.block_trailer(idx) + cw.footer(mh, ih)
    cw.write(d + "/ck.index", out)
    refused("a 48 MB Snappy block claiming 1 GiB", run_limited("ls", d + "/ck"),
            "claims 1073741824 bytes uncompressed", "64 MiB", code=3)


def case_shape_size_overflows(d):
    # float32 of 2**62 + 4 elements: 2**64 + 16 bytes, which wraps to 16 in 64 bits; the stored
    # size says 16. The message must give the real count, not the wrapped product.
    v = bytes(16)
    n = (1 << 62) + 4
    cw.write(d + "/ck.index", table([(b"", cw.bundle_header(1)),
                                     (b"w", entry(1, [n], 0, 0, 16, cw.crc32c(v)))]))
    cw.write(d + "/ck.data-00000-of-00001", v)
    res = run_limited("ls", "-l", d + "/ck")
    refused("a shape of 2**62 + 4 float32", res, "%d elements of 4 bytes" % n, "2^64", code=3)
    T.ok("16 bytes expected" not in res[2], "the wrapped size is not printed: " + res[2].strip())


def case_v1_key_amplification(d):
    cw.write(d + "/big.ckpt", cw.v1_file([(b"n" * 65536, 1, [], [[]] * 20000)], []))
    refused("V1 meta with 20,000 slices of a 64 KiB name", run_limited("ls", "-l", d + "/big.ckpt"),
            "more than the file can hold")


def case_index_blocks_overlap(d):
    blk = b"\0" * (64 << 10) + struct.pack("<I", (64 << 10) // 4)
    f = bytearray(blk + cw.block_trailer(blk))
    hdr = cw.block([(b"", cw.bundle_header(1))])
    hoff = len(f)
    f += hdr + cw.block_trailer(hdr)
    meta = cw.block([])
    moff = len(f)
    f += meta + cw.block_trailer(meta)
    ent = lambda h: b"\0\0" + cw.varint(len(h)) + h  # noqa: E731
    ib = (ent(cw.block_handle(hoff, len(hdr))) + ent(cw.block_handle(0, len(blk))) * 50000 +
          struct.pack("<I", 0) + struct.pack("<I", 1))
    ioff = len(f)
    f += ib + cw.block_trailer(ib)
    f += cw.footer(cw.block_handle(moff, len(meta)), cw.block_handle(ioff, len(ib)))
    cw.write(d + "/ck.index", bytes(f))
    refused("index entries all pointing at one block", run_limited("ls", "-l", d + "/ck"),
            "ck.index", "overlap")


def case_damaged_v1(d):
    tp = cw.field_bytes(5, struct.pack("<f", 2.5))
    good = bytearray(cw.v1_file([(b"x", 1, [], [[]])], [(b"x", [], tp)]))
    good[20] ^= 0x01  # inside the first data block: its checksum no longer matches
    cw.write(d + "/model.ckpt", bytes(good))
    refused("damaged V1 table", run_limited("ls", "-l", d + "/model.ckpt"), "model.ckpt",
            "checksum", code=3)


def case_unknown_dtype_bad_crc(d):
    ents = [(b"", cw.bundle_header(1)), (b"unk", entry(50, [3], 0, 0, 4, 0x12345678))]
    cw.write(d + "/ck.index", table(ents))
    cw.write(d + "/ck.data-00000-of-00001", struct.pack("<f", 1.0))
    refused("unknown dtype with a wrong checksum", run_limited("cat", d + "/ck", "unk"),
            "unk", "checksum")


def case_partitioned_damaged_stream(d):
    a, b = struct.pack("<2f", 1, 2), struct.pack("<2f", 3, 4)
    ents = sorted([(b"", cw.bundle_header(1)),
                   (cw.slice_key(b"p", [(0, 2)]), entry(1, [2], 0, 0, 8, cw.crc32c(a))),
                   (cw.slice_key(b"p", [(2, 2)]), entry(1, [2], 0, 8, 8, cw.crc32c(b))),
                   (b"p", entry(1, [4], slices=[[(0, 2)], [(2, 2)]]))])
    cw.write(d + "/ck.index", table(ents))
    bad = bytearray(a + b)
    bad[12] ^= 0x40
    cw.write(d + "/ck.data-00000-of-00001", bytes(bad))
    refused("damaged slice of a partitioned tensor", run_limited("cat", d + "/ck", "p"),
            "p", "slice 2", "checksum")


def case_v1_versions(d):
    t = cw.field_bytes(1, b"x") + cw.field_bytes(2, cw.tensor_shape([])) + cw.field_varint(3, 1) + cw.field_bytes(4, b"")
    meta = cw.field_bytes(1, cw.field_bytes(1, t) + cw.field_bytes(2, cw.field_varint(1, 1) + cw.field_varint(2, 5) + cw.field_varint(3, 1)))
    rec = cw.saved_slice_record(b"x", [], cw.field_bytes(5, struct.pack("<f", 2.5)))
    cw.write(d + "/model.ckpt", table(sorted([(b"", meta), (cw.slice_key(b"x", []), rec)])))
    refused("V1 written for newer consumers", run_limited("ls", "-l", d + "/model.ckpt"),
            "min consumer version 5")


def case_object_graph_not_scalar(d):
    data = struct.pack("<I", cw.crc_mask(0))
    ents = [(b"", cw.bundle_header(1)),
            (b"_CHECKPOINTABLE_OBJECT_GRAPH", entry(7, [0], 0, 0, 4, cw.crc32c(data)))]
    cw.write(d + "/ck.index", table(ents))
    cw.write(d + "/ck.data-00000-of-00001", data)
    refused("object graph of shape [0]", run_limited("graph", d + "/ck", "--format", "objects"),
            "_CHECKPOINTABLE_OBJECT_GRAPH")


def case_v1_deep_nesting(d):
    # TensorProto -> variant_val -> VariantTensorDataProto.tensors -> TensorProto ... 100,000
    # deep: protobuf-c would recurse until the stack overflows.
    inner = b""
    for _ in range(100000):
        inner = cw.field_bytes(15, cw.field_bytes(3, inner))
    cw.write(d + "/deep.ckpt", cw.v1_file([(b"x", 1, [], [[]])], [(b"x", [], inner)]))
    refused("V1 record nested 100,000 deep", run_limited("cat", d + "/deep.ckpt", "x"),
            "deep.ckpt", "not parseable")


def case_fifos(d):
    v = struct.pack("<f", 1.0)
    cw.write(d + "/ck.index", table([(b"", cw.bundle_header(1)), (b"v", entry(1, [], 0, 0, 4,
                                                                              cw.crc32c(v)))]))
    os.mkfifo(d + "/ck.data-00000-of-00001")
    refused("a FIFO as data shard", run_limited("ls", "-l", d + "/ck"), "not a regular file")
    os.unlink(d + "/ck.data-00000-of-00001")
    cw.write(d + "/ck.data-00000-of-00001", v)
    os.mkfifo(d + "/ck.meta")
    refused("a FIFO as .meta", run_limited("graph", d + "/ck"), "ck.meta")


def main():
    tl.ckptfs_path()
    cases = [v for k, v in sorted(globals().items()) if k.startswith("case_")]
    for fn in cases:
        d = tempfile.mkdtemp(prefix="ckptfs_hostile_")
        try:
            before = T.failed
            fn(d)
            print("%s: %s" % (fn.__name__[5:], "ok" if T.failed == before else "FAILED"))
        finally:
            shutil.rmtree(d, ignore_errors=True)
    T.summary()


if __name__ == "__main__":
    main()
