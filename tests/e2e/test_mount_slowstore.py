#!/usr/bin/env python3
"""A checkpoint on slow storage (an NFS share's stand-in): what reaches the storage, and how.

The checkpoint lives under slowfs (scripts/bench/slowfs.c, built as `slowfs` beside ckptfs): a
FUSE passthrough that waits 1 ms before every operation, opens files direct_io (each read the
client makes arrives as one request of its own size, up to 1 MiB, as with NFS's rsize) and
counts operations and read sizes per file in its `.slowfs-stats`. ckptfs is mounted on top with
its defaults, so `-o shard_cache=auto` sees a FUSE file system and reads shards through its
block cache.

Truth: the bytes and names given to tests/pylib/ckptwriter.py (random bytes for the tensor, so
a read at a wrong offset cannot match), slowfs's own counts, and docs/mount.md's promises:
- the mount reads the .index and nothing else, in whole 1 MiB requests (the tail excepted);
- `ls -lR`, every .shape and .dtype, and the extended attributes cause no operation at all;
- a 64 MiB tensor reads right, in 1 MiB requests (the one reaching the end of the file
  excepted), 64 or 65 of them; reading it again causes none;
- with `-o shard_cache=off` the same read arrives in the kernel's smaller pieces (so the
  option is what makes the difference) and still reads right.
Times are printed (mount, ls -lR, shapes, the tensor and a 1 MiB-request read of the same
range straight from slowfs), not checked: speed is for scripts/bench/run.py.

Exit 0 pass, 1 fail, 77 skip (no usable FUSE).
"""
import os
import random
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_mount as tm  # noqa: E402
from test_mount_verify import read_chunks  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import ckpt_testlib as T  # noqa: E402
import ckptwriter as cw  # noqa: E402

check = tm.check
MIB = 1 << 20
NVARS = 12000
BIG_MIB = 64
DELAY_US = 1000


def var_names():
    # Long distinct names make a 1.3 MB index (more than one 1 MiB request) of few variables.
    return sorted(b"model/layer_%05d/%s/kernel" % (i, b"%064x" % (i * 0x9E3779B97F4A7C15))
                  for i in range(NVARS))


def write_checkpoint(d):
    rng = random.Random(9)
    big = rng.randbytes(BIG_MIB * MIB)
    w = cw.V2Writer(os.path.join(d, "model.ckpt"))
    for i, k in enumerate(var_names()):
        w.add(k, cw.DT_FLOAT, [4], bytes([i & 0xFF]) * 16)
    w.add(b"zz_big/tensor", cw.DT_UINT8, [len(big)], big)
    w.close()
    return big


class SlowFs:
    def __init__(self, src):
        self.src = src
        self.exe = os.path.join(os.environ.get("CKPT_BUILD_DIR", ""), "slowfs")

    def __enter__(self):
        self.mnt = tempfile.mkdtemp(prefix="slowfs-")
        self.p = subprocess.Popen([self.exe, "--delay-us", str(DELAY_US), self.src, self.mnt],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.time() + 10
        while not os.path.exists(os.path.join(self.mnt, ".slowfs-stats")):
            if self.p.poll() is not None or time.time() > deadline:
                raise RuntimeError("slowfs did not come up: %s" % self.p.stderr.read().decode())
            time.sleep(0.05)
        return self

    def __exit__(self, *exc):
        tm.unmount(self.mnt)
        try:
            self.p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.p.kill()
        os.rmdir(self.mnt)
        return False

    def stats(self):
        """{op: count} and {file: (requests, bytes, small)}."""
        ops, reads = {}, {}
        with open(os.path.join(self.mnt, ".slowfs-stats")) as f:
            for line in f:
                w = line.split()
                if w[0] == "op":
                    ops[w[1]] = int(w[2])
                elif w[0] == "read":
                    reads[w[1]] = tuple(int(x) for x in w[2:5])
        return ops, reads


def diff(before, after):
    """Operations and per-file reads between two stats() snapshots."""
    ops = {k: v - before[0].get(k, 0) for k, v in after[0].items() if v != before[0].get(k, 0)}
    reads = {}
    for k, v in after[1].items():
        b = before[1].get(k, (0, 0, 0))
        if v != b:
            reads[k] = tuple(x - y for x, y in zip(v, b))
    return ops, reads


def timed(fn):
    t0 = time.monotonic()
    out = fn()
    return time.monotonic() - t0, out


def ls_lr(mnt):
    r = subprocess.run(["ls", "-lR", mnt], capture_output=True, timeout=300)
    return r.returncode, r.stdout.count(b"\n")


def sidecars(mnt):
    """Every .shape and .dtype: (files read, wrong ones)."""
    n, wrong = 0, []
    for dp, _, files in os.walk(mnt):
        for name in files:
            if name.endswith((".shape", ".dtype")):
                with open(os.path.join(dp, name), "rb") as f:
                    text = f.read()
                n += 1
                want = (b"[4]\n" if name.endswith(".shape") else b"float32\n") \
                    if dp.startswith(os.path.join(mnt, "model")) else \
                    (b"[%d]\n" % (BIG_MIB * MIB) if name.endswith(".shape") else b"uint8\n")
                if text != want:
                    wrong.append((name, text))
    return n, wrong


def xattrs(mnt):
    t = os.path.join(mnt, "zz_big", "tensor")
    return {k: os.getxattr(t, k) for k in os.listxattr(t)}


def check_default(sf, big, index_size, shard):
    s0 = sf.stats()
    with tm.Mount(os.path.join(sf.mnt, "model.ckpt")) as m:
        s1 = sf.stats()
        ops, reads = diff(s0, s1)
        print("mount: %s, reads %s" % (ops, reads))
        check(set(reads) == {"model.ckpt.index"}, "the mount reads only the index: %s" % reads)
        nreq, nbytes, small = reads.get("model.ckpt.index", (0, 0, 0))
        check(nbytes == index_size and nreq == -(-index_size // MIB) and small == 0,
              "the index is read once, in 1 MiB requests: %d requests, %d bytes, %d short "
              "(index %d bytes)" % (nreq, nbytes, small, index_size))

        t_ls, (rc, lines) = timed(lambda: ls_lr(m.mnt))
        check(rc == 0 and lines > 2 * NVARS, "ls -lR lists the mount (%d, %d lines)" % (rc, lines))
        t_side, (n, wrong) = timed(lambda: sidecars(m.mnt))
        check(n == 2 * (NVARS + 1) and not wrong, "%d sidecars read, wrong: %s" % (n, wrong[:3]))
        xa = xattrs(m.mnt)
        check(xa.get("user.ckpt.dtype") == b"uint8", "xattrs of the tensor: %s" % xa)
        s2 = sf.stats()
        ops, reads = diff(s1, s2)
        check(not ops and not reads, "ls -lR, sidecars and xattrs reach the storage: %s %s"
              % (ops, reads))
        print("ls -lR: %.2f s; %d sidecars: %.2f s; operations on the storage: %s"
              % (t_ls, n, t_side, ops))

        t_read, got = timed(lambda: read_chunks(os.path.join(m.mnt, "zz_big", "tensor"), MIB))
        check(got == big, "the 64 MiB tensor reads as written (%d bytes)" % len(got))
        s3 = sf.stats()
        ops, reads = diff(s2, s3)
        nreq, nbytes, small = reads.get(shard, (0, 0, 0))
        check(set(reads) == {shard} and small == 0 and BIG_MIB <= nreq <= BIG_MIB + 1,
              "the tensor comes in 1 MiB requests: %d requests, %d bytes, %d short: %s"
              % (nreq, nbytes, small, reads))
        t_re, again = timed(lambda: read_chunks(os.path.join(m.mnt, "zz_big", "tensor"), MIB))
        ops, reads = diff(s3, sf.stats())
        check(again == big and not reads, "a re-read makes no request: %s" % reads)

    # The storage's own speed for the same bytes: 1 MiB requests, one after the other.
    def direct():
        with open(os.path.join(sf.mnt, shard), "rb", buffering=0) as f:
            n = 0
            while n < len(big):
                n += len(f.read(MIB))
    t_direct, _ = timed(direct)
    print("64 MiB tensor: %.3f s (%.0f MiB/s) in %d requests; the storage read directly in "
          "1 MiB requests: %.3f s (%.0f MiB/s); ratio %.2f; re-read %.3f s"
          % (t_read, BIG_MIB / t_read, nreq, t_direct, BIG_MIB / t_direct, t_direct / t_read,
             t_re))


def check_cache_off(sf, big, shard):
    with tm.Mount(os.path.join(sf.mnt, "model.ckpt"), ["-o", "shard_cache=off"]) as m:
        s1 = sf.stats()
        t, got = timed(lambda: read_chunks(os.path.join(m.mnt, "zz_big", "tensor"), MIB))
        check(got == big, "shard_cache=off: the tensor reads as written")
        ops, reads = diff(s1, sf.stats())
        nreq, nbytes, small = reads.get(shard, (0, 0, 0))
        check(small > 0 and nreq > BIG_MIB + 1,
              "shard_cache=off: the kernel's pieces reach the storage (%d requests, %d short)"
              % (nreq, small))
        print("shard_cache=off: %.3f s, %d requests (%d under 1 MiB)" % (t, nreq, small))


def main():
    tm.require_fuse()
    exe = os.path.join(os.environ.get("CKPT_BUILD_DIR", ""), "slowfs")
    if not os.access(exe, os.X_OK):
        check(False, "no slowfs test bed at %s (built with ckptfs)" % exe)
        return tm.outcome()
    with tempfile.TemporaryDirectory(prefix="ckptfs-slow-") as d:
        big = write_checkpoint(d)
        index_size = os.path.getsize(os.path.join(d, "model.ckpt.index"))
        shard = "model.ckpt.data-00000-of-00001"
        with SlowFs(d) as sf:
            check_default(sf, big, index_size, shard)
            check_cache_off(sf, big, shard)
        r = T.ckptfs("mount", os.path.join(d, "model.ckpt"), d, "-o", "shard_cache=maybe")
        check(r.rc == 1 and "shard_cache" in r.err, "shard_cache=maybe is refused naming the "
              "option (%d: %s)" % (r.rc, r.err.strip()))
    return tm.outcome()


if __name__ == "__main__":
    sys.exit(main())
