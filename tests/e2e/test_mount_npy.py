#!/usr/bin/env python3
"""`-o npy` on real FUSE mounts (docs/mount.md, ".npy files").

Truth: the fixtures' manifest.json (TF's bytes of every tensor as sha256, shapes, dtypes) and
numpy itself: numpy.load(mmap_mode='r') must read every NAME.npy, give the manifest's shape and
exactly the manifest's bytes; where numpy has the dtype, the header must be byte-identical to
what numpy.save writes for an array of that dtype and shape; types numpy lacks come back as raw
void of their element size ('<V2' for bfloat16 - what numpy.save writes for an ml_dtypes
bfloat16 array - '<V1' for float8/float4/int4/int2 types).

Also: the size is right at the first stat, listing and stat of .npy files read no data, and
without -o npy there are no .npy files (test_mount.py).

Exit 0 pass, 1 fail, 77 skip (no FUSE or no numpy).
"""
import hashlib
import io
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_mount as tm  # noqa: E402

check = tm.check
# numpy's own dtype for each TF dtype name it has; the rest are void of the element size.
NUMPY = {
    "float16": "<f2", "float32": "<f4", "float64": "<f8", "int8": "|i1", "int16": "<i2",
    "int32": "<i4", "int64": "<i8", "uint8": "|u1", "uint16": "<u2", "uint32": "<u4",
    "uint64": "<u8", "bool": "|b1", "complex64": "<c8", "complex128": "<c16",
    "qint8": "|i1", "quint8": "|u1", "qint16": "<i2", "quint16": "<u2", "qint32": "<i4",
}
VOID = {"bfloat16": 2}
PER_FIXTURE = int(os.environ.get("CKPT_NPY_MAX", "400"))


def numpy_header(np, descr, shape):
    buf = io.BytesIO()
    np.save(buf, np.zeros(shape, dtype=np.dtype(descr)))
    data = buf.getvalue()
    return data[:len(data) - int(np.prod(shape, dtype=np.int64)) * np.dtype(descr).itemsize]


def check_fixture(np, name, source, manifest):
    variables = manifest["variables"]
    view = tm.expected_view(variables, tm.generated_names(source, variables), npy=True)
    npys = sorted(p for p, e in view.items() if e[0] == "npy")
    with tm.Mount(source, ["-o", "npy"], what=name + " npy") as m:
        got = tm.walk(m.mnt)
        exp = {p: ("dir" if e[0] == "dir" else "file") for p, e in view.items()}
        check(got == exp, "%s: -o npy tree differs: %r" % (name, sorted(set(got) ^ set(exp))[:6]))
        reads0 = m.data_reads()
        sizes = {p: os.stat(m.path(p)).st_size for p in npys}
        check(m.data_reads() == reads0, "%s: stat of .npy files read data" % name)
        checked = 0
        for p in npys[:PER_FIXTURE]:
            v = view[p][1]
            full = m.path(p)
            descr = NUMPY.get(v["dtype"])
            if descr:
                hdr = numpy_header(np, descr, tuple(v["shape"]))
                with open(full, "rb") as f:
                    mine = f.read(len(hdr))
                check(mine == hdr, "%s: %r header differs from numpy.save's: %r vs %r" % (name, p, mine, hdr))
            arr = np.load(full, mmap_mode="r")
            check(tuple(arr.shape) == tuple(v["shape"]), "%s: %r shape %s" % (name, p, arr.shape))
            raw = np.ascontiguousarray(arr).tobytes()
            check(hashlib.sha256(raw).hexdigest() == v["sha256"], "%s: %r bytes differ from TF" % (name, p))
            if descr:
                check(arr.dtype == np.dtype(descr), "%s: %r dtype %s, want %s" % (name, p, arr.dtype, descr))
            else:
                size = VOID.get(v["dtype"], 1)
                check(arr.dtype.kind == "V" and arr.dtype.itemsize == size,
                      "%s: %r (%s) dtype %s, want void of %d" % (name, p, v["dtype"], arr.dtype, size))
            hlen = sizes[p] - v["nbytes"]
            check(hlen > 0 and hlen % 64 == 0, "%s: %r header length %d" % (name, p, hlen))
            del arr
            checked += 1
        print("npy %s: %d of %d .npy files loaded" % (name, checked, len(npys)), flush=True)


def main():
    tm.require_fuse()
    np = tm.require_numpy()
    fx = tm.fixtures()
    if not fx:
        print("SKIP: no fixtures")
        return 77
    only = os.environ.get("CKPT_ONLY")
    for name, source, manifest in fx:
        if only and name != only:
            continue
        try:
            check_fixture(np, name, source, manifest)
        except Exception as ex:
            check(False, "%s: %s: %s" % (name, type(ex).__name__, ex))
    if tm.failures:
        print("%d failure(s)" % len(tm.failures))
        return 1
    print("all npy mount checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
