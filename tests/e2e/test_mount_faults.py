#!/usr/bin/env python3
"""Faults under a live mount stay contained (docs/mount.md, "Faults under a live mount").

Each case writes its own two-shard checkpoint with tests/pylib/ckptwriter.py (written from the
format rules, not from our reader) and keeps the bytes it wrote: they are the truth every read
is compared with. The daemon runs in the foreground (-f) so that its log lines (stderr) and its
exit status can be checked.

- a shard truncated under the mount: the variables whose bytes it no longer holds give EIO and
  a log line naming the variable and the shard file; the variables still whole in it, those of
  the other shard, sidecars and variables.tsv read as written (read=buf and read=splice);
- a shard replaced under the mount: renamed over by another file, every variable reads its
  original bytes (the daemon reads the files it opened at mount); rewritten in place, a whole
  read of a changed variable fails with EIO (its checksum), never gives the new bytes;
- a shard whose device fails (EIO from the block layer): the checkpoint on an ext4 file system
  on a loop device, the device then shrunk below the blocks of one variable (reads beyond a
  block device's end fail with EIO, as from a dying disk). Device-mapper's `error` target would
  be the textbook tool, but it needs the kernel's device-mapper driver; the loop device works
  wherever loop devices do. That variable gives EIO with a log line, the others read as written.
  Skipped (with the reason) when not root or no loop device can be set up. With read=splice
  the kernel moves the bytes itself and the daemon cannot see the error: EIO, no log line;
- the daemon killed with SIGKILL: `mount.ckptfs` / `ckptfs mount` on the dead mountpoint say
  "transport endpoint is not connected" and "fusermount3 -u MOUNTPOINT" and exit 5, `ckptfs ls`
  of it says the same; after `fusermount3 -u` the same mountpoint mounts again;
- unmounting while readers run (`umount`, `fusermount3 -u -z`, `umount -f`): readers see their
  bytes or EIO / ENOTCONN (ENOENT for an open after the mount is gone), never other bytes; the
  daemon exits 0; nothing hangs (every wait is bounded).

Exit 0 pass, 1 fail, 77 skip (no usable FUSE).
"""
import errno
import fcntl
import os
import random
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import test_mount as tm  # noqa: E402
import test_mount_robust as rb  # noqa: E402
import ckptwriter as cw  # noqa: E402

check = tm.check
T = tm.testlib()
ename = lambda e: errno.errorcode.get(e, str(e)) if e else "no error"  # noqa: E731

# The checkpoint of every case: (name, shard, bytes). In shard 1, "head" comes first and "tail"
# after it, both 4 KiB-aligned, so a cut between them (a truncation, a device's end) takes
# exactly the tail.
LAYOUT = [(b"layer/kernel", 0, 256 * 1024), (b"layer/bias", 0, 4096),
          (b"head", 1, 64 * 1024), (b"tail", 1, 512 * 1024)]


def write_checkpoint(d, seed=1):
    """A two-shard checkpoint at d/model.ckpt; returns (prefix, {name: bytes written})."""
    os.makedirs(d, exist_ok=True)
    rng = random.Random(seed)
    prefix = os.path.join(d, "model.ckpt")
    w = cw.V2Writer(prefix, num_shards=2)
    truth = {}
    for name, shard, n in LAYOUT:
        truth[name] = rng.randbytes(n)
        w.add(name, cw.DT_FLOAT, [n // 4], truth[name], shard=shard)
    w.close()
    return prefix, truth


def shard_path(prefix, k):
    return "%s.data-%05d-of-00002" % (prefix, k)


def offset_in_shard(name):
    """Where LAYOUT puts name's bytes in its shard (the writer appends in order)."""
    shard = [s for n, s, _ in LAYOUT if n == name][0]
    off = 0
    for n, s, size in LAYOUT:
        if n == name:
            return off
        off += size if s == shard else 0
    raise KeyError(name)


def read_whole(path):
    """(bytes, 0) or (None, errno) of a whole sequential read, as cat does, from the daemon
    (the kernel keeps a mount's pages across opens: drop them first)."""
    try:
        with open(path, "rb") as f:
            os.posix_fadvise(f.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)
            return f.read(), 0
    except OSError as ex:
        return None, ex.errno


def log_names(log, name, shard):
    """Whether one log line names the variable (quoted) and the shard file."""
    return any(("'%s'" % name) in line and shard in line for line in log.splitlines())


def check_reads(what, mnt, truth, failing, log=None, shard=None):
    """Every variable of truth read through mnt: those in failing give EIO (and, with log, a
    line naming them and shard); the others give exactly their bytes. Sidecars and
    variables.tsv read too."""
    for name, data in sorted(truth.items()):
        p = os.path.join(mnt, name.decode())
        got, e = read_whole(p)
        if name in failing:
            check(e == errno.EIO, "%s: %s gave %s, want EIO" % (what, name, ename(e)))
            if log is not None:
                check(log_names(log(), name.decode(), shard),
                      "%s: no log line names %s and %s: %r" % (what, name, shard, log()[-600:]))
        else:
            check(e == 0 and got == data, "%s: %s gave %s (%s bytes), want its %d bytes" %
                  (what, name, ename(e), got is not None and len(got), len(data)))
        shape, e = read_whole(p + ".shape")
        check(shape == b"[%d]\n" % (len(data) // 4), "%s: %s.shape gave %r (%s)" % (what, name, shape, ename(e)))
    tsv, e = read_whole(os.path.join(mnt, "variables.tsv"))
    check(e == 0 and tsv.count(b"\n") == len(truth) + 1, "%s: variables.tsv gave %s" % (what, ename(e)))


# --- 1: a shard truncated ------------------------------------------------------------------------

def case_truncated(tmp):
    for mode in ("buf", "splice"):
        prefix, truth = write_checkpoint(os.path.join(tmp, "trunc-" + mode))
        s1 = shard_path(prefix, 1)
        with rb.FgMount(prefix, ["-o", "read=" + mode], what="truncated " + mode) as m:
            # Cut shard 1 in the middle of "tail": "head" is still whole, "tail" is not.
            os.truncate(s1, offset_in_shard(b"tail") + len(truth[b"tail"]) // 2)
            what = "truncated shard, read=%s" % mode
            check_reads(what, m.mnt, truth, {b"tail"}, m.text_log, s1)
            if mode == "buf":
                # The part of "tail" still there is its bytes, and served (read=splice fails
                # every read of a variable its shard is too short for: docs/mount.md).
                with open(os.path.join(m.mnt, "tail"), "rb") as f:
                    check(f.read(4096) == truth[b"tail"][:4096], "%s: the first page of tail differs" % what)
            # To nothing: every variable of shard 1 fails, shard 0 still reads.
            os.truncate(s1, 0)
            check_reads(what + " to 0", m.mnt, truth, {b"head", b"tail"}, m.text_log, s1)
            check(m.alive(), "%s: the daemon died" % what)


# --- 2: a shard replaced -------------------------------------------------------------------------

def case_replaced(tmp):
    prefix, truth = write_checkpoint(os.path.join(tmp, "replaced"))
    other, _ = write_checkpoint(os.path.join(tmp, "other"), seed=2)
    s1 = shard_path(prefix, 1)
    with rb.FgMount(prefix, what="replaced") as m:
        # Another checkpoint's shard (same layout, other bytes) renamed over shard 1: the daemon
        # reads the file it opened at mount, which the rename did not change.
        os.rename(shard_path(other, 1), s1)
        check_reads("shard renamed over", m.mnt, truth, set())
        # The same sizes, and a shorter file: still the original bytes.
        with open(s1 + ".new", "wb") as f:
            f.write(b"\0" * 100)
        os.rename(s1 + ".new", s1)
        check_reads("shard renamed over by a short file", m.mnt, truth, set())
        check(m.alive(), "replaced: the daemon died")

    # Rewritten in place (the daemon's own file changes): what the shard now holds differs from
    # what the index's checksums describe, and a whole read says so instead of serving it.
    prefix, truth = write_checkpoint(os.path.join(tmp, "rewritten"))
    s1 = shard_path(prefix, 1)
    with rb.FgMount(prefix, what="rewritten") as m:
        with open(s1, "r+b") as f:
            f.seek(offset_in_shard(b"tail") + 1000)
            f.write(b"\xa5" * 64)
        check_reads("shard rewritten in place", m.mnt, truth, {b"tail"}, m.text_log, s1)


# --- 3: EIO from the device ---------------------------------------------------------------------

FIBMAP = 1  # ioctl: logical block of a file -> physical block of its device (root only)


def physical_blocks(path, bsize):
    """The device block of each block of the file at path (FIBMAP)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        n = (os.fstat(fd).st_size + bsize - 1) // bsize
        return [struct.unpack("i", fcntl.ioctl(fd, FIBMAP, struct.pack("i", k)))[0] for k in range(n)]
    finally:
        os.close(fd)


def run(*args):
    return subprocess.run(list(args), capture_output=True, timeout=60)


class LoopFs:
    """An ext4 file system in an image file on a loop device, mounted at self.dir."""

    BSIZE = 4096

    def __init__(self, tmp):
        self.img = os.path.join(tmp, "dev.img")
        self.dir = os.path.join(tmp, "devfs")
        self.dev = None

    def __enter__(self):
        with open(self.img, "wb") as f:
            f.truncate(16 << 20)   # one block group: files are laid out one after the other
        r = run("mkfs.ext4", "-q", "-F", "-b", str(self.BSIZE), "-O", "^has_journal", self.img)
        if r.returncode:
            raise OSError("mkfs.ext4: %s" % r.stderr.decode(errors="replace").strip())
        r = run("losetup", "-f", "--show", self.img)
        if r.returncode:
            raise OSError("losetup: %s" % r.stderr.decode(errors="replace").strip())
        self.dev = r.stdout.decode().strip()
        os.makedirs(self.dir)
        r = run("mount", "-t", "ext4", self.dev, self.dir)
        if r.returncode:
            run("losetup", "-d", self.dev)
            raise OSError("mount %s: %s" % (self.dev, r.stderr.decode(errors="replace").strip()))
        return self

    def cut(self, block):
        """Make the device end at block: reads of any block from there on fail with EIO."""
        os.truncate(self.img, block * self.BSIZE)
        r = run("losetup", "-c", self.dev)
        check(r.returncode == 0, "losetup -c %s: %r" % (self.dev, r.stderr))

    def __exit__(self, *exc):
        if run("umount", self.dir).returncode and tm.is_mounted(self.dir):
            run("umount", "-l", self.dir)
        run("losetup", "-d", self.dev)
        return False


def case_device_eio(tmp):
    if os.geteuid() != 0:
        tm.testlib().skip_part("device EIO: needs root (losetup, mount)")
        return
    try:
        fs = LoopFs(tmp).__enter__()
    except (OSError, subprocess.SubprocessError) as ex:
        # A loop device is required in CI (tests/README.md "Skips").
        tm.testlib().missing("a loop device", "no loop device file system here: %s" % ex,
                             whole=False)
        return
    try:
        # Written elsewhere, then copied in one file after the other, each written back
        # before the next: the blocks of shard 1 come last on the device.
        src, truth = write_checkpoint(os.path.join(tmp, "devsrc"))
        os.makedirs(os.path.join(fs.dir, "ck"))
        prefix = os.path.join(fs.dir, "ck", "model.ckpt")
        for suffix in (".index", ".data-00000-of-00002", ".data-00001-of-00002"):
            shutil.copyfile(src + suffix, prefix + suffix)
            fd = os.open(prefix + suffix, os.O_RDONLY)
            os.fsync(fd)
            os.close(fd)
        s1 = shard_path(prefix, 1)
        os.sync()  # nothing left to write back once the device shrinks
        blocks = physical_blocks(s1, fs.BSIZE)
        b0 = offset_in_shard(b"tail") // fs.BSIZE
        cut = min(blocks[b0:])
        below = [physical_blocks(p, fs.BSIZE) for p in (prefix + ".index", shard_path(prefix, 0))]
        below.append(blocks[:b0])
        if not all(b < cut for bl in below for b in bl):
            tm.testlib().skip_part("device EIO: ext4 did not lay the tail of the shard out last "
                                   "(%r)" % blocks[:4])
            return
        for mode in ("buf", "splice"):
            with rb.FgMount(prefix, ["-o", "read=" + mode], what="device " + mode) as m:
                fs.cut(cut)
                # Forget the shard's cached pages, so the next read goes to the device.
                fd = os.open(s1, os.O_RDONLY)
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
                os.close(fd)
                # With read=splice the kernel moves the bytes from the shard itself: its error
                # reaches the reader as EIO, but the daemon never sees it to log it.
                log = m.text_log if mode == "buf" else None
                check_reads("device EIO, read=%s" % mode, m.mnt, truth, {b"tail"}, log, s1)
                check(m.alive(), "device EIO: the daemon died")
            # The next mode starts from the whole device again.
            os.truncate(fs.img, 16 << 20)
            run("losetup", "-c", fs.dev)
    finally:
        fs.__exit__(None, None, None)


# --- 4: the daemon killed -------------------------------------------------------------------------

def case_sigkill(tmp):
    prefix, truth = write_checkpoint(os.path.join(tmp, "killed"))
    mnt = tempfile.mkdtemp(prefix="ckptfs-mnt-")
    try:
        r = run(tm.MOUNT, prefix, mnt)
        check(r.returncode == 0, "sigkill: mount failed: %r" % r.stderr)
        # In use first: the kernel then has the root's attributes and listing cached, and
        # stat or ls of the dead mount still succeed from them.
        os.listdir(mnt)
        read_whole(os.path.join(mnt, "head"))
        pids = tm.daemon_pids(mnt)
        check(len(pids) == 1, "sigkill: daemon pids %r" % pids)
        for p in pids:
            os.kill(p, signal.SIGKILL)
        tm.wait_no_daemon(mnt, "sigkill")
        e = rb.errno_of(lambda: os.statvfs(mnt))
        # ECONNABORTED: the same dead connection, as the kernel reports it once it was aborted.
        check(e in (errno.ENOTCONN, errno.ECONNABORTED),
              "sigkill: statfs of the dead mount gave %s, want ENOTCONN" % ename(e))
        ckptfs = tm.CKPTFS or os.path.join(os.path.dirname(tm.MOUNT), "ckptfs")
        for cmd in ([tm.MOUNT, prefix, mnt], [ckptfs, "mount", prefix, mnt]):
            r = run(*cmd)
            err = r.stderr.decode(errors="replace")
            check(r.returncode == tm.EXIT_MOUNTPOINT, "sigkill: %s exit %d, want %d" %
                  (os.path.basename(cmd[0]), r.returncode, tm.EXIT_MOUNTPOINT))
            check("transport endpoint is not connected" in err and "fusermount3 -u " + mnt in err,
                  "sigkill: %s does not explain the dead mount: %r" % (os.path.basename(cmd[0]), err))
        r = run(ckptfs, "ls", mnt)
        err = r.stderr.decode(errors="replace")
        check(r.returncode != 0 and "not connected" in err and "fusermount3 -u" in err,
              "sigkill: ckptfs ls of the dead mount: exit %d %r" % (r.returncode, err))
        r = run("fusermount3", "-u", mnt)
        check(r.returncode == 0 and not tm.is_mounted(mnt), "sigkill: fusermount3 -u: %r" % r.stderr)
        r = run(tm.MOUNT, prefix, mnt)
        check(r.returncode == 0, "sigkill: mounting again failed: %r" % r.stderr)
        got, e = read_whole(os.path.join(mnt, "layer", "kernel"))
        check(got == truth[b"layer/kernel"], "sigkill: the new mount reads %s" % ename(e))
    finally:
        tm.unmount(mnt)
        tm.wait_no_daemon(mnt, "sigkill")
        if not tm.is_mounted(mnt):
            os.rmdir(mnt)


# --- 5: unmounting while readers run --------------------------------------------------------------

class Readers:
    """Threads reading the mount's variables whole, over and over, each keeping its file open
    for a while (and dropping cached pages so that every read reaches the daemon)."""

    # ECONNABORTED: what this kernel (6.18) answers a request on a connection `umount -f`
    # aborted, beside ENOTCONN (seen once in 200 reads under ctest -j2).
    OK_ERRORS = {errno.EIO, errno.ENOTCONN, errno.ECONNABORTED, errno.ENOENT}

    def __init__(self, mnt, truth, n=4):
        self.mnt, self.truth = mnt, sorted(truth.items())
        self.stop = threading.Event()
        self.wrong, self.errors, self.reads = [], {}, [0] * n
        self.failed = [0] * n  # failed attempts, per reader
        self.gone_at = None   # when the mount went away, as far as the test knows
        self.spanning = 0     # whole reads of a file opened before that and finished after
        self.threads = [threading.Thread(target=self.run, args=(k,), daemon=True) for k in range(n)]

    def note(self, e):
        self.errors[e] = self.errors.get(e, 0) + 1
        if e not in self.OK_ERRORS or (e == errno.ENOENT and self.gone_at is None):
            self.wrong.append("unexpected %s" % ename(e))

    def read_one(self, k, name, data):
        t0 = time.time()
        fd = os.open(os.path.join(self.mnt, name.decode()), os.O_RDONLY)
        try:
            got = bytearray()
            while True:
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
                b = os.read(fd, 16384)
                if not b:
                    break
                got += b
                time.sleep(0.001)  # hold the file open across the unmount
            if bytes(got) != data:
                self.wrong.append("%s: %d bytes, not the ones written" % (name, len(got)))
            self.reads[k] += 1
            if self.gone_at is not None and t0 < self.gone_at:
                self.spanning += 1
        finally:
            os.close(fd)

    def run(self, k):
        i = k
        while not self.stop.is_set():
            name, data = self.truth[i % len(self.truth)]
            i += 1
            try:
                self.read_one(k, name, data)
            except OSError as ex:
                self.note(ex.errno)
                self.failed[k] += 1
                time.sleep(0.01)

    def start(self):
        for t in self.threads:
            t.start()
        deadline = time.time() + 10
        while not all(self.reads) and time.time() < deadline and not self.wrong:
            time.sleep(0.01)

    def after(self, counts, more=1):
        """A condition: every reader has counted `more` more (in counts: self.reads or
        self.failed) than now. What an unmount must lead to is waited for, not slept on."""
        snap = list(counts)
        return lambda: all(c >= s + more for c, s in zip(counts, snap))

    def finish(self, what):
        self.stop.set()
        for t in self.threads:
            t.join(timeout=30)
        hung = sum(t.is_alive() for t in self.threads)
        check(not hung, "%s: %d reader(s) still stuck in a read 30 s after the unmount" % (what, hung))
        check(not self.wrong, "%s: readers saw %s" % (what, self.wrong[:3]))
        print("%s: %d whole reads (%d across the unmount), errors %s" %
              (what, sum(self.reads), self.spanning, {ename(e): n for e, n in self.errors.items()}))


def wait_exit(proc, what):
    try:
        rc = proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        check(False, "%s: the daemon did not exit within 20 s of the unmount" % what)
        return
    check(rc == 0, "%s: the daemon exited %d, want 0" % (what, rc))


def case_unmount_readers(tmp):
    prefix, truth = write_checkpoint(os.path.join(tmp, "unmount"))
    for how in ("umount", "lazy", "force"):
        what = "unmount with readers (%s)" % how
        mnt = tempfile.mkdtemp(prefix="ckptfs-mnt-")
        log = tempfile.TemporaryFile()
        proc = subprocess.Popen([tm.MOUNT, prefix, mnt, "-f"], stdout=subprocess.DEVNULL, stderr=log)
        try:
            deadline = time.time() + 30
            while not tm.is_mounted(mnt) and time.time() < deadline and proc.poll() is None:
                time.sleep(0.02)
            if not check(tm.is_mounted(mnt), "%s: the mount did not come up" % what):
                continue
            readers = Readers(mnt, truth)
            readers.start()
            check(all(readers.reads), "%s: readers did not get going: %r" % (what, readers.reads))
            if how == "umount":
                # Files are open: the kernel refuses ("target is busy") and the mount keeps
                # serving; once the readers stop, it goes.
                readers.gone_at = time.time()
                more_failed = readers.after(readers.failed)
                r = run("umount", mnt)
                if r.returncode:
                    readers.gone_at = None
                    # Refused: the mount keeps serving; every reader reads two whole files more,
                    # the second opened after the refusal.
                    more_reads = readers.after(readers.reads, 2)
                    check(T.wait_until(more_reads, 20, "reads after the refused umount"),
                          "%s: refused, but the readers did not all read on: %r" % (what, readers.reads))
                else:
                    # No file was open at that instant: it went, and every reader sees it.
                    check(T.wait_until(more_failed, 20, "readers seeing the umount"),
                          "%s: unmounted, but not every reader saw it go: %r" % (what, readers.failed))
                readers.finish(what)
                if tm.is_mounted(mnt):
                    r = run("umount", mnt)
                    check(r.returncode == 0, "%s: umount after the readers stopped: %r" % (what, r.stderr))
            else:
                # Lazy: detached at once, the open files read on; forced: the connection is
                # aborted and reads in flight fail with ENOTCONN.
                cmd = ["fusermount3", "-u", "-z", mnt] if how == "lazy" else ["umount", "-f", mnt]
                readers.gone_at = time.time()
                more_failed = readers.after(readers.failed)
                r = run(*cmd)
                # Gone for new opens either way: every reader fails once more (lazy: after
                # reading to its end any file open at the detach).
                check(T.wait_until(more_failed, 20, "readers seeing the %s unmount" % how),
                      "%s: not every reader saw the mount go: %r" % (what, readers.failed))
                readers.finish(what)
                if how == "lazy":
                    check(r.returncode == 0, "%s: %s: %r" % (what, " ".join(cmd), r.stderr))
                    check(readers.spanning > 0, "%s: no file open at the detach was read to its end" % what)
            wait_exit(proc, what)
            if how == "force" and tm.is_mounted(mnt):
                # The kernel keeps a busy mount it aborted: a dead one, which mount.ckptfs
                # recognises (case_sigkill); the readers are gone now, so it can go.
                r = run(tm.MOUNT, prefix, mnt)
                check(r.returncode == tm.EXIT_MOUNTPOINT and b"fusermount3 -u" in r.stderr,
                      "%s: the aborted mount is not recognised: %r" % (what, r.stderr))
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            tm.unmount(mnt)
            if not tm.is_mounted(mnt):
                os.rmdir(mnt)
        log.seek(0)
        text = log.read().decode(errors="replace")
        check("read of variable" not in text, "%s: the daemon logged read failures: %r" % (what, text[-400:]))


def main():
    tm.require_fuse()
    with tempfile.TemporaryDirectory(prefix="ckptfs-faults-") as tmp:
        for name, fn in [("truncated shard", case_truncated),
                         ("replaced shard", case_replaced),
                         ("device EIO", case_device_eio),
                         ("SIGKILL", case_sigkill),
                         ("unmount with readers", case_unmount_readers)]:
            rb.run_case(name, lambda: fn(tmp))
    return tm.outcome()


if __name__ == "__main__":
    sys.exit(main())
