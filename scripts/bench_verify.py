#!/usr/bin/env python3
"""What each -o verify= mode costs (docs/mount.md, "Reading and checking"). Run by hand.

Writes a checkpoint with one tensor of --mib MiB (tests/pylib/ckptwriter.py), then for each
mode (off, sequential, open) measures, each on a fresh mount and as the median of --repeat runs:
  (a) first sequential read: open the tensor's file and read it whole in 1 MiB reads;
  (b) first random read: open the file and pread 4 KiB at its middle (what np.load(mmap_mode=
      'r') followed by one element access costs);
  (c) re-read: after (a), open and read it whole again in the same mount.
and prints a table with each time's ratio to verify=off. The shard is in the host's page cache
(read once before), so the numbers are the daemon's and FUSE's cost, not the disk's; --cold
evicts the shard's pages (posix_fadvise) before every mount instead.

    python3 scripts/bench_verify.py [--mib 256] [--repeat 3] [--ckptfs build/ckptfs] [--cold]
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "pylib"))
import ckptwriter as cw  # noqa: E402

MODES = ("off", "sequential", "open")
CHUNK = 1 << 20


def write_checkpoint(d, mib):
    prefix = os.path.join(d, "big")
    w = cw.V2Writer(prefix)
    w.add(b"w", 1, [mib << 18], (os.urandom(CHUNK) for _ in range(mib)))
    w.close()
    return prefix


def evict(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def warm(path):
    with open(path, "rb") as f:
        while f.read(CHUNK):
            pass


class Mounted:
    def __init__(self, mount, prefix, mode, cold):
        self.mount, self.prefix, self.mode, self.cold = mount, prefix, mode, cold

    def __enter__(self):
        if self.cold:
            evict(self.prefix + ".data-00000-of-00001")
        self.mnt = tempfile.mkdtemp(prefix="ckptfs-bench-")
        subprocess.run([self.mount, self.prefix, self.mnt, "-o", "verify=" + self.mode],
                       check=True)
        return os.path.join(self.mnt, "w")

    def __exit__(self, *exc):
        subprocess.run(["fusermount3", "-u", self.mnt], check=False)
        for _ in range(200):
            if not os.path.ismount(self.mnt):
                break
            time.sleep(0.05)
        os.rmdir(self.mnt)
        return False


def read_whole(path):
    t = time.perf_counter()
    n = 0
    with open(path, "rb", buffering=0) as f:
        while True:
            b = f.read(CHUNK)
            if not b:
                break
            n += len(b)
    return time.perf_counter() - t, n


def random_read(path, size):
    t = time.perf_counter()
    fd = os.open(path, os.O_RDONLY)
    try:
        got = os.pread(fd, 4096, size // 2)
    finally:
        os.close(fd)
    assert len(got) == 4096
    return time.perf_counter() - t


def measure(mount, prefix, mode, size, cold):
    with Mounted(mount, prefix, mode, cold) as f:
        first, n = read_whole(f)
        assert n == size, (mode, n, size)
        again, _ = read_whole(f)
    with Mounted(mount, prefix, mode, cold) as f:
        rnd = random_read(f, size)
    return first, rnd, again


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mib", type=int, default=256)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--ckptfs", default=os.path.join(HERE, "..", "build", "ckptfs"))
    ap.add_argument("--cold", action="store_true")
    a = ap.parse_args()
    mount = os.path.join(os.path.dirname(os.path.abspath(a.ckptfs)), "mount.ckptfs")
    with tempfile.TemporaryDirectory(prefix="ckptfs-bench-verify-") as d:
        prefix = write_checkpoint(d, a.mib)
        size = a.mib << 20
        if not a.cold:
            warm(prefix + ".data-00000-of-00001")
        res = {m: [] for m in MODES}
        for _ in range(a.repeat):  # modes interleaved, so drift of the machine hits all alike
            for m in MODES:
                res[m].append(measure(mount, prefix, m, size, a.cold))
    med = {m: [statistics.median(r[k] for r in res[m]) for k in range(3)] for m in MODES}
    print("one %d MiB float32 tensor, %s shard, median of %d; time (ratio to verify=off)"
          % (a.mib, "cold" if a.cold else "warm", a.repeat))
    print("| verify= | (a) first sequential read | (b) first 4 KiB pread at the middle | "
          "(c) re-read |")
    print("|---|---|---|---|")
    for m in MODES:
        cells = []
        for k, v in enumerate(med[m]):
            r = v / med["off"][k]
            cells.append(("%.3f s" % v if v >= 0.01 else "%.2f ms" % (v * 1e3)) +
                         (" (%.2fx)" % r if r < 10 else " (%.0fx)" % r))
        print("| %s | %s |" % (m, " | ".join(cells)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
