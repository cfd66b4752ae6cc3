#!/usr/bin/env python3
"""`-o verify=sequential|open|off` on real FUSE mounts (docs/mount.md, "Reading and checking").

The checkpoint is written here by tests/pylib/ckptwriter.py (CRC-32C computed by the writer
from the format rules), then damaged by flipping bytes in its data shard at offsets the writer
reported. Truth: the arrays the writer was given, those arrays with the same bytes flipped,
and the fixtures' manifest.json (sha256 of every tensor as TensorFlow read it).

- verify=open: a damaged tensor (whole or one slice of a partitioned one) fails its open, so a
  pread at its middle never gets bytes, with a log line naming tensor and shard at every open;
  intact tensors read at random offsets give the writer's bytes; their first open reads the
  tensor once however many threads open it at the same moment, later opens read nothing;
  numpy.load(mmap_mode='r') of NAME.npy works; partitioned, V1 and sample fixtures (their
  files and .npy) read as TF read them;
- verify=sequential (the default): a sequential read of the damaged tensor fails with EIO and a
  log line; a pread at its middle in a fresh mount returns the (unverified, damaged) bytes;
- verify=off: a sequential read returns the damaged bytes;
- verify=bogus: the mount is refused with exit 1 and a message naming the option.

Exit 0 pass, 1 fail, 77 skip (no usable FUSE or no numpy).
"""
import errno
import os
import random
import subprocess
import sys
import tempfile
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_mount as tm  # noqa: E402
from test_mount_robust import FgMount, check_fixtures_read, errno_of, run_case  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import ckptwriter as cw  # noqa: E402

check = tm.check
SHARD = "ck.data-00000-of-00001"
DT_FLOAT = 1


class Truth:
    """What the writer was given: each tensor's intact bytes, and where they are in the shard."""

    def __init__(self):
        self.bytes, self.offset, self.flipped = {}, {}, {}

    def damaged(self, name):
        """The tensor's bytes as the damaged shard holds them (flips applied here)."""
        b = bytearray(self.bytes[name])
        for at in self.flipped.get(name, ()):
            b[at] ^= 0xFF
        return bytes(b)


def write_checkpoint(d, np):
    """ck: 'bad' (1 MiB, one byte flipped at its middle), 'good' (512 KiB), 'part_bad' (two
    slices, the second damaged), 'part_ok' (two slices, intact), all float32."""
    rng = np.random.default_rng(11)
    t = Truth()
    whole = {b"bad": rng.standard_normal(1 << 18).astype("<f4").tobytes(),
             b"good": rng.standard_normal(1 << 17).astype("<f4").tobytes(),
             # Big enough for the kernel to read ahead in many requests at once, which the
             # daemon's threads finish in any order (docs/mount.md, "Reading and checking").
             b"big_bad": rng.standard_normal(6 << 20).astype("<f4").tobytes(),
             b"big_good": rng.standard_normal(6 << 20).astype("<f4").tobytes()}
    parts = {b"part_bad": rng.standard_normal(1 << 14).astype("<f4").tobytes(),
             b"part_ok": rng.standard_normal(1 << 14).astype("<f4").tobytes()}
    ents, data = [(b"", cw.bundle_header(1))], b""
    for name, b in sorted(whole.items()):
        ents.append((name, cw.bundle_entry(DT_FLOAT, [len(b) // 4], 0, len(data), len(b),
                                           cw.crc32c(b))))
        t.bytes[name], t.offset[name] = b, len(data)
        data += b
    for name, b in sorted(parts.items()):
        n, half = len(b) // 4, len(b) // 2
        for j, piece in enumerate((b[:half], b[half:])):
            ext = [(j * n // 2, n // 2)]
            ents.append((cw.slice_key(name, ext), cw.bundle_entry(
                DT_FLOAT, [n // 2], 0, len(data), len(piece), cw.crc32c(piece))))
            if j == 1:
                t.offset[name] = len(data) - half  # where slice 2 starts, less its place
            data += piece
        ents.append((name, cw.bundle_entry(DT_FLOAT, [n], slices=[[(0, n // 2)], [(n // 2, n // 2)]])))
        t.bytes[name] = b
    cw.write(os.path.join(d, "ck.index"), cw.table(sorted(ents)))
    # The damage: one byte in the middle of 'bad', one in the second slice of 'part_bad'.
    shard = bytearray(data)
    for name, at in ((b"bad", len(whole[b"bad"]) // 2 + 1), (b"part_bad", len(parts[b"part_bad"]) * 3 // 4),
                     (b"big_bad", len(whole[b"big_bad"]) * 3 // 4 + 5)):
        shard[t.offset[name] + at] ^= 0xFF
        t.flipped[name] = [at]
    cw.write(os.path.join(d, SHARD), bytes(shard))
    check(bytes(shard) != data, "the shard was damaged")
    return os.path.join(d, "ck"), t


def read_all(path):
    with open(path, "rb") as f:
        return f.read()


def read_chunks(path, size):
    out = bytearray()
    with open(path, "rb", buffering=0) as f:
        while True:
            b = f.read(size)
            if not b:
                return bytes(out)
            out += b


def pread_at(path, off, n):
    fd = os.open(path, os.O_RDONLY)
    try:
        return os.pread(fd, n, off)
    finally:
        os.close(fd)


def case_open(src, t, np):
    with FgMount(src, ["-o", "verify=open,npy"], what="verify=open") as m:
        p = lambda n: os.path.join(m.mnt, n)  # noqa: E731
        for name in ("bad", "part_bad"):
            size = len(t.bytes[name.encode()])
            check(os.stat(p(name)).st_size == size, "verify=open: %s is listed with its size" % name)
            for _ in range(2):  # the first open finds it, the second remembers
                e = errno_of(lambda: pread_at(p(name), size // 2, 4096))
                check(e == errno.EIO, "verify=open: pread at the middle of damaged %s gave %s, "
                      "want EIO" % (name, e and errno.errorcode[e]))
            e = errno_of(lambda: np.load(p(name + ".npy"), mmap_mode="r"))
            check(e == errno.EIO, "verify=open: %s.npy of a damaged tensor: %s" % (name, e))
        log = m.text_log()
        for name in ("'bad'", "'part_bad'"):
            lines = [ln for ln in log.splitlines() if name in ln and SHARD in ln]
            check(len(lines) >= 3, "verify=open: a log line naming %s and %s at every open: %r"
                  % (name, SHARD, log[-800:]))
        rnd = random.Random(5)
        for name in ("good", "part_ok"):
            truth = t.bytes[name.encode()]
            fd = os.open(p(name), os.O_RDONLY)
            for _ in range(40):
                off, n = rnd.randrange(1, len(truth)), rnd.choice((1, 7, 4096, 70000))
                got = os.pread(fd, n, off)
                if not check(got == truth[off:off + n], "verify=open: %s bytes [%d, +%d) differ "
                             "from the writer's" % (name, off, n)):
                    break
            os.close(fd)
            check(read_all(p(name)) == truth, "verify=open: %s read whole" % name)
            a = np.load(p(name + ".npy"), mmap_mode="r")
            mid = len(a) // 2
            check(a[mid:mid + 100].tobytes() == truth[mid * 4:mid * 4 + 400],
                  "verify=open: numpy.load(%s.npy, mmap_mode='r') gives the writer's values" % name)
            a._mmap.close()  # a mapping left open would keep the mount busy at unmount
            del a
        check(m.alive(), "verify=open: the daemon lives")


def case_open_once(src, t):
    """Eight threads open 'good' at the same moment: one reads it, the others wait for that."""
    with tm.Mount(src, ["-o", "verify=open"], what="verify=open once") as m:
        size = len(t.bytes[b"good"])
        before = int(os.getxattr(m.mnt, "user.ckpt.data_bytes"))
        go, errs = threading.Barrier(8), []

        def opener():
            go.wait()
            try:
                os.close(os.open(m.path(b"good"), os.O_RDONLY))
            except OSError as ex:
                errs.append(ex)
        ths = [threading.Thread(target=opener) for _ in range(8)]
        for th in ths:
            th.start()
        for th in ths:
            th.join()
        check(not errs, "verify=open: concurrent opens succeed: %s" % errs)
        first = int(os.getxattr(m.mnt, "user.ckpt.data_bytes")) - before
        check(first == size, "verify=open: 8 concurrent first opens read %d bytes, want the "
              "tensor's %d once" % (first, size))
        os.close(os.open(m.path(b"good"), os.O_RDONLY))
        again = int(os.getxattr(m.mnt, "user.ckpt.data_bytes")) - before - first
        check(again == 0, "verify=open: a later open reads nothing, read %d" % again)


def case_sequential(src, t):
    bad = t.bytes[b"bad"]
    mid = len(bad) // 2
    # A fresh mount, so that no page of the file is cached: the pread reaches the daemon.
    with tm.Mount(src, [], what="verify=sequential pread") as m:
        got = pread_at(m.path(b"bad"), mid, 4096)
        check(got == t.damaged(b"bad")[mid:mid + 4096] and got != bad[mid:mid + 4096],
              "verify=sequential: a pread at the middle returns the stored (unverified, "
              "damaged) bytes")
    for name in ("bad", "part_bad"):
        with FgMount(src, ["-o", "verify=sequential"], what="verify=sequential") as m:
            e = errno_of(lambda: read_all(os.path.join(m.mnt, name)))
            check(e == errno.EIO, "verify=sequential: reading damaged %s gave %s, want EIO" %
                  (name, e and errno.errorcode[e]))
            check("'%s'" % name in m.text_log(), "verify=sequential: the log names %s: %r" %
                  (name, m.text_log()[-500:]))
    # 24 MiB tensors read whole by readers of several sizes, each in a fresh mount: the damaged
    # one always ends in EIO, the intact one always reads whole with nothing logged.
    for how, size in (("1 MiB reads", 1 << 20), ("128 KiB reads", 128 << 10), ("4 MiB reads", 4 << 20)):
        with FgMount(src, [], what="verify=sequential big") as m:
            e = errno_of(lambda: read_chunks(os.path.join(m.mnt, "big_bad"), size))
            check(e == errno.EIO, "verify=sequential: a whole read of big_bad in %s gave %s, want "
                  "EIO" % (how, e and errno.errorcode[e]))
            got = read_chunks(os.path.join(m.mnt, "big_good"), size)
            check(got == t.bytes[b"big_good"], "verify=sequential: big_good reads whole in %s" % how)
            log = m.text_log()
            check("'big_bad'" in log and "big_good" not in log,
                  "verify=sequential: the log names big_bad only: %r" % log[-500:])
    # Readers that share one open file (its stream of 1 MiB buffers, fs/stream.h): four
    # threads preading 128 KiB pieces that go forward out of order, then jumps back and ahead.
    with FgMount(src, [], what="verify=sequential shared") as m:
        want = t.bytes[b"big_good"]
        fd = os.open(os.path.join(m.mnt, "big_good"), os.O_RDONLY)
        try:
            piece = 128 << 10
            offs = list(range(0, len(want), piece))
            rng = random.Random(3)
            for k in range(0, len(offs), 16):  # shuffle within windows of 2 MiB
                w = offs[k:k + 16]
                rng.shuffle(w)
                offs[k:k + 16] = w
            got, lock = {}, threading.Lock()

            def worker(mine):
                for o in mine:
                    b = os.pread(fd, piece, o)
                    with lock:
                        got[o] = b
            ths = [threading.Thread(target=worker, args=(offs[j::4],)) for j in range(4)]
            for th in ths:
                th.start()
            for th in ths:
                th.join()
            check(all(got[o] == want[o:o + piece] for o in offs),
                  "four threads sharing big_good's file read its bytes")
            for o, n in ((3 << 20, 4096), (100, 5000), (20 << 20, 1 << 20), ((1 << 20) - 7, 300)):
                check(os.pread(fd, n, o) == want[o:o + n], "a pread of %d at %d after them" % (n, o))
        finally:
            os.close(fd)
        check("big_good" not in m.text_log(), "nothing logged for big_good")
    # The same through NAME.npy (header, then the tensor's bytes at an offset of their own).
    with FgMount(src, ["-o", "npy"], what="verify=sequential npy") as m:
        e = errno_of(lambda: read_chunks(os.path.join(m.mnt, "big_bad.npy"), 1 << 20))
        check(e == errno.EIO, "verify=sequential: a whole read of big_bad.npy gave %s, want EIO"
              % (e and errno.errorcode[e]))
        got = read_chunks(os.path.join(m.mnt, "big_good.npy"), 1 << 20)
        check(got.endswith(t.bytes[b"big_good"]) and got.startswith(b"\x93NUMPY"),
              "verify=sequential: big_good.npy reads whole")


def case_off(src, t):
    with tm.Mount(src, ["-o", "verify=off"], what="verify=off") as m:
        for name in (b"bad", b"part_bad", b"good", b"part_ok"):
            got = read_all(m.path(name))
            check(got == t.damaged(name), "verify=off: %s reads as the shard holds it" % name)
        check(t.damaged(b"bad") != t.bytes[b"bad"], "verify=off: the damage is there")


def case_bogus(tmp):
    mnt = tempfile.mkdtemp(dir=tmp)
    src = os.path.join(tm.FIXTURES, "sample", "model.ckpt")
    r = subprocess.run([tm.MOUNT, src, mnt, "-o", "verify=bogus"], capture_output=True)
    check(r.returncode == tm.EXIT_USAGE and b"verify" in r.stderr and b"bogus" in r.stderr
          and not tm.is_mounted(mnt),
          "-o verify=bogus refused with exit 1 naming it: %d %r" % (r.returncode, r.stderr))
    tm.unmount(mnt)


def main():
    tm.require_fuse()
    np = tm.require_numpy()
    with tempfile.TemporaryDirectory(prefix="ckptfs-verify-") as tmp:
        src, t = write_checkpoint(tmp, np)
        for name, fn in [
            ("verify=open", lambda: case_open(src, t, np)),
            ("verify=open once", lambda: case_open_once(src, t)),
            ("verify=sequential", lambda: case_sequential(src, t)),
            ("verify=off", lambda: case_off(src, t)),
            ("fixtures", lambda: check_fixtures_read("verify=open,npy")),
            ("verify=bogus", lambda: case_bogus(tmp)),
        ]:
            run_case(name, fn)
    return tm.outcome()


if __name__ == "__main__":
    sys.exit(main())
