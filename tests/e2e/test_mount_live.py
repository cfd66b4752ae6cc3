#!/usr/bin/env python3
"""A training run written while a folder mount is read (docs/mount.md, "Watching a run").

A TF-free writer (tests/pylib/ckptwriter.py) simulates a run the way TF saves: each step's
data shard is written under a temporary name and renamed in, then the .index, then the
`checkpoint` state file (temporary + rename); checkpoints beyond max_to_keep are deleted
(.index first, then the shard). Reader threads meanwhile list the mount and read every
listed checkpoint's variables, and some hold files open across the deletion of their
checkpoint.

Truth: the bytes the writer wrote (kept here per step), the writer's own list of checkpoints
and its state file. Checked:
- every read gives exactly the writer's bytes for that checkpoint (never an error other than
  ENOENT for a checkpoint deleted meanwhile, never other bytes);
- a file open while its checkpoint is deleted, or re-created with other bytes, reads the
  bytes it started with to the end;
- after each step the root lists exactly the writer's checkpoints and `latest` names the
  newest, within 1.5 s with inotify (median within 200 ms: the README's "about 20 ms" with
  room for a busy machine) and within poll + 1.5 s with -o noinotify,poll=0.3;
- checkpoints.tsv lists each checkpoint's step and size (the sizes of the files written);
- a checkpoint re-created under the same name gets new inode numbers;
- descriptors held by the daemon stay bounded (printed with the latencies).

CKPT_LIVE_STEPS (default 30) sets the run's length. Exit 0 pass, 1 fail, 77 skip (no FUSE).
"""
import errno
import os
import random
import re
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import test_mount as tm  # noqa: E402
import ckptwriter as cw  # noqa: E402

check = tm.check
STEPS = int(os.environ.get("CKPT_LIVE_STEPS", "30"))
KEEP = 3
DT_FLOAT = 1


def tensors_for(step, salt=0):
    """The variables of one step: name -> bytes (float32 little-endian, seeded by step)."""
    rng = random.Random(step * 7919 + salt)
    out = {}
    for name, n in ((b"dense/kernel", 64 * 32), (b"dense/bias", 32), (b"global_step", 1)):
        out[name] = bytes(rng.getrandbits(8) for _ in range(4 * n))
    return out


class Run:
    """A simulated training run in folder d, saving as TF does."""

    def __init__(self, d):
        self.d = d
        self.tmp = os.path.join(d, "model.ckpt_temp")  # TF2 saves into a *_temp directory
        os.makedirs(self.tmp, exist_ok=True)
        self.kept = []      # names of the checkpoints present, oldest first
        self.truth = {}     # name -> {var: bytes}, for every checkpoint ever written (latest version)
        self.versions = {}  # name -> list of {var: bytes}, every version written under that name
        self.sizes = {}     # name -> bytes on disk
        self.lock = threading.Lock()
        self.deleted = set()  # names deleted at least once

    def save(self, step, salt=0, name=None):
        name = name or "model.ckpt-%d" % step
        vals = tensors_for(step, salt)
        w = cw.V2Writer(os.path.join(self.tmp, name))
        for k, v in vals.items():
            w.add(k, DT_FLOAT, [len(v) // 4], v)
        w.close()
        with self.lock:
            self.truth[name] = vals
            self.versions.setdefault(name, []).append(vals)
        data = name + ".data-00000-of-00001"
        os.rename(os.path.join(self.tmp, data), os.path.join(self.d, data))
        t_index = time.time()
        os.rename(os.path.join(self.tmp, name + ".index"), os.path.join(self.d, name + ".index"))
        self.sizes[name] = sum(os.path.getsize(os.path.join(self.d, name + s))
                               for s in (".index", ".data-00000-of-00001"))
        if name in self.kept:
            self.kept.remove(name)
        self.kept.append(name)
        while len(self.kept) > KEEP:
            old = self.kept.pop(0)
            with self.lock:
                self.deleted.add(old)
            os.unlink(os.path.join(self.d, old + ".index"))
            os.unlink(os.path.join(self.d, old + ".data-00000-of-00001"))
        state = 'model_checkpoint_path: "%s"\n' % name
        state += "".join('all_model_checkpoint_paths: "%s"\n' % k for k in self.kept)
        with open(os.path.join(self.d, "checkpoint.tmp"), "w") as f:
            f.write(state)
        os.rename(os.path.join(self.d, "checkpoint.tmp"), os.path.join(self.d, "checkpoint"))
        return t_index


def listed(mnt):
    try:
        return set(os.listdir(mnt))
    except OSError as ex:
        check(False, "listing the root failed: %s" % ex)
        return set()


# Descriptors the daemon may hold after a run: 3 kept checkpoints x (index + shard) at most,
# plus its own few.
FDS_BOUND = 3 * 2 + 12


def wait_for(pred, timeout):
    t0 = time.time()
    while time.time() - t0 < timeout:
        if pred():
            return time.time() - t0
        time.sleep(0.005)
    return None


class Readers:
    """Threads reading every listed checkpoint while the run goes on."""

    def __init__(self, mnt, run, n=3):
        self.mnt, self.run = mnt, run
        self.stop = threading.Event()
        self.reads = 0
        self.errors = []
        self.threads = [threading.Thread(target=self.loop, args=(k,)) for k in range(n)]

    def start(self):
        for t in self.threads:
            t.start()

    def finish(self):
        self.stop.set()
        for t in self.threads:
            t.join()

    def loop(self, k):
        rng = random.Random(k)
        while not self.stop.is_set():
            try:
                names = [n for n in os.listdir(self.mnt) if n.startswith("model.ckpt-")]
            except OSError as ex:
                self.errors.append("listdir: %s" % ex)
                continue
            rng.shuffle(names)
            for name in names:
                for var in (b"dense/kernel", b"dense/bias", b"global_step"):
                    path = os.path.join(os.fsencode(self.mnt), name.encode(), var)
                    try:
                        with open(path, "rb") as f:
                            got = f.read()
                    except OSError as ex:
                        with self.run.lock:
                            gone = name in self.run.deleted
                        if not (ex.errno == errno.ENOENT and gone):
                            self.errors.append("%s/%s: %s" % (name, var.decode(), ex))
                        continue
                    with self.run.lock:
                        versions = [v[var] for v in self.run.versions.get(name, [])]
                    if got not in versions:
                        self.errors.append("%s/%s: %d bytes that the writer never wrote there" %
                                           (name, var.decode(), len(got)))
                    self.reads += 1


def daemon_fds(mnt):
    pids = tm.daemon_pids(mnt)
    if not pids:
        return None
    try:
        return len(os.listdir("/proc/%d/fd" % pids[0]))
    except OSError:
        return None


def parse_tsv(mnt):
    with open(os.path.join(mnt, "checkpoints.tsv")) as f:
        lines = f.read().splitlines()
    check(lines[:1] == ["checkpoint\tstep\ttime\tbytes"], "checkpoints.tsv header: %r" % lines[:1])
    out = {}
    for line in lines[1:]:
        name, step, when, size = line.split("\t")
        check(re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", when) is not None,
              "checkpoints.tsv time %r" % when)
        out[name] = (int(step), int(size))
    return out


def live_run(tmp, opts, what, bound):
    d = os.path.join(tmp, what)
    os.makedirs(d)
    run = Run(d)
    run.save(1)
    lat = []
    fd_max = 0
    with tm.Mount(d, opts=opts, what=what) as m:
        readers = Readers(m.mnt, run)
        readers.start()
        held = None
        try:
            for step in range(2, STEPS + 1):
                # Hold a file of the oldest kept checkpoint open across its deletion.
                if held is None and len(run.kept) == KEEP:
                    name = run.kept[0]
                    try:
                        f = open(os.path.join(m.mnt, name, "dense/kernel"), "rb")
                        held = (name, f, f.read(1000))
                    except OSError as ex:
                        check(False, "%s: opening %s to hold it: %s" % (what, name, ex))
                t0 = run.save(step * 100)
                want = set(run.kept) | {"latest", "checkpoints.tsv"}
                newest = run.kept[-1]
                dt = wait_for(lambda: listed(m.mnt) == want and
                              os.readlink(os.path.join(m.mnt, "latest")) == newest, bound)
                if dt is None:
                    check(False, "%s step %d: root %r, latest -> %r; want %r, %r" % (
                        what, step, sorted(listed(m.mnt)), os.readlink(os.path.join(m.mnt, "latest")),
                        sorted(want), newest))
                else:
                    lat.append(time.time() - t0)
                if held and held[0] not in run.kept:
                    name, f, head = held
                    rest = f.read()
                    f.close()
                    check(head + rest == run.truth[name][b"dense/kernel"],
                          "%s: %s read after its deletion differs from what was written" % (what, name))
                    held = None
                fd = daemon_fds(m.mnt)
                fd_max = max(fd_max, fd or 0)
            tsv = parse_tsv(m.mnt)
            check(set(tsv) == set(run.kept), "%s: checkpoints.tsv lists %r" % (what, sorted(tsv)))
            for name, (step, size) in tsv.items():
                check(step == int(name.rsplit("-", 1)[1]) and size == run.sizes[name],
                      "%s: checkpoints.tsv %s: step %d size %d, want size %d" % (
                          what, name, step, size, run.sizes[name]))
            # Every listed checkpoint reads exactly.
            for name in run.kept:
                for var, b in run.truth[name].items():
                    with open(os.path.join(os.fsencode(m.mnt), name.encode(), var), "rb") as f:
                        check(f.read() == b, "%s: %s/%s differs" % (what, name, var.decode()))
        finally:
            readers.finish()
        for e in readers.errors[:10]:
            check(False, "%s reader: %s" % (what, e))
        check(readers.reads > 0, "%s: the readers read nothing" % what)
        check_overwrite(m, run, what)
        # Deleted checkpoints' files are let go: only the kept ones may stay open. Waited for
        # as a condition (main checks the bound), not a fixed sleep.
        wait_for(lambda: (daemon_fds(m.mnt) or 0) <= FDS_BOUND, 5)
        fds = daemon_fds(m.mnt)
    lat.sort()
    if what == "inotify" and lat:
        # README: a new checkpoint shows "within about 20 ms with inotify". The bound is ten
        # times that, for a busy machine, and far below the 1 s of polling, so a mount that
        # fell back to polling fails here.
        check(lat[len(lat) // 2] <= 0.2, "inotify: median %.0f ms from the rename of the "
              ".index to the listing, over the 200 ms bound" % (1000 * lat[len(lat) // 2]))
    print("%s: %d steps, %d reads by 3 readers; rename of .index -> visible: median %.0f ms, "
          "max %.0f ms; daemon descriptors max %d, at the end %s" % (
              what, STEPS, readers.reads, 1000 * lat[len(lat) // 2] if lat else -1,
              1000 * lat[-1] if lat else -1, fd_max, fds), flush=True)
    return fds


def check_overwrite(m, run, what):
    """Re-create the newest checkpoint under its name with other bytes while a file of it
    is open: the open file keeps its bytes, a new open gets the new ones, under a new inode."""
    name = run.kept[-1]
    path = os.path.join(m.mnt, name, "dense/kernel")
    old_ino = os.stat(os.path.join(m.mnt, name)).st_ino
    f = open(path, "rb")
    head = f.read(100)
    step = int(name.rsplit("-", 1)[1])
    run.save(step, salt=1, name=name)
    new = run.truth[name][b"dense/kernel"]
    old = run.versions[name][-2][b"dense/kernel"]

    def sees_new():
        try:
            with open(path, "rb") as g:
                return g.read() == new
        except OSError:
            return False
    check(wait_for(sees_new, 3) is not None, "%s: re-created %s not served" % (what, name))
    check(head + f.read() == old, "%s: a file open across the re-creation of %s changed" % (what, name))
    f.close()
    check(os.stat(os.path.join(m.mnt, name)).st_ino != old_ino,
          "%s: re-created %s kept its inode number" % (what, name))


def check_half_written(tmp):
    """Shards without .index, and an .index whose shard set is incomplete, are not shown."""
    d = os.path.join(tmp, "half")
    os.makedirs(d)
    run = Run(d)
    run.save(1)
    with tm.Mount(d, what="half") as m:
        with open(os.path.join(d, "model.ckpt-2.data-00000-of-00001"), "wb") as f:
            f.write(b"\0" * 64)
        w = cw.V2Writer(os.path.join(d, "model.ckpt-3"))
        w.add(b"v", DT_FLOAT, [1], b"\0\0\0\0")
        w.close()
        os.rename(os.path.join(d, "model.ckpt-3.data-00000-of-00001"),
                  os.path.join(d, "model.ckpt-3.data-00000-of-00002"))
        # A whole checkpoint saved after them: once it shows, the folder was looked at after
        # the half-written ones were there (a condition to wait for, not a fixed sleep).
        run.save(4)
        check(wait_for(lambda: "model.ckpt-4" in listed(m.mnt), 5) is not None,
              "half: a whole checkpoint saved after the half-written ones did not appear")
        names = listed(m.mnt)
        check("model.ckpt-2" not in names and "model.ckpt-3" not in names,
              "half-written checkpoints shown: %r" % sorted(names))
        with open(os.path.join(d, "model.ckpt-3.data-00001-of-00002"), "wb"):
            pass
        check(wait_for(lambda: "model.ckpt-3" in listed(m.mnt), 1.5) is not None,
              "a checkpoint whose shard set became whole did not appear")


def held_checkpoints(mnt):
    """Names of the checkpoints (model.ckpt-N) whose files the daemon holds open, from the
    targets of its descriptors in /proc."""
    pids = tm.daemon_pids(mnt)
    out = set()
    if not pids:
        return out
    fd_dir = "/proc/%d/fd" % pids[0]
    try:
        fds = os.listdir(fd_dir)
    except OSError:
        return out
    for fd in fds:
        try:
            target = os.path.basename(os.readlink(os.path.join(fd_dir, fd)))
        except OSError:
            continue
        m = re.match(r"(model\.ckpt-\d+)\.(index|data-\d+-of-\d+)$", target)
        if m:
            out.add(m.group(1))
    return out


def check_idle_close(tmp):
    """-o idle=1: a checkpoint unused for a second has its files closed, and its next use
    reopens it with the same inode numbers and bytes; one with a file open is kept. When to
    look is told by a control, not a fixed sleep: a second checkpoint used after the first
    was opened and then left is closed by the same sweep that would close the first."""
    d = os.path.join(tmp, "idle")
    os.makedirs(d)
    run = Run(d)
    run.save(1)
    run.save(2)
    with tm.Mount(d, opts=["-o", "idle=1"], what="idle") as m:
        p = os.path.join(m.mnt, "model.ckpt-1", "dense/kernel")
        q = os.path.join(m.mnt, "model.ckpt-2", "dense/kernel")
        ino = os.stat(p).st_ino
        with open(p, "rb") as f:
            check(f.read() == run.truth["model.ckpt-1"][b"dense/kernel"], "idle: bytes differ")
            with open(q, "rb") as g:
                check(g.read() == run.truth["model.ckpt-2"][b"dense/kernel"], "idle: bytes differ (2)")
            check(held_checkpoints(m.mnt) >= {"model.ckpt-1", "model.ckpt-2"},
                  "idle: the daemon does not hold both checkpoints it read: %r"
                  % held_checkpoints(m.mnt))
            closed = tm.testlib().wait_until(
                lambda: "model.ckpt-2" not in held_checkpoints(m.mnt), 10, "model.ckpt-2 closed")
            check(closed, "idle: a checkpoint unused for idle=1 was not closed: %r"
                  % held_checkpoints(m.mnt))
            check("model.ckpt-1" in held_checkpoints(m.mnt),
                  "idle: an open file's checkpoint was closed (idle since before the one closed)")
        closed = tm.testlib().wait_until(
            lambda: "model.ckpt-1" not in held_checkpoints(m.mnt), 10, "model.ckpt-1 closed")
        check(closed, "idle: descriptors not closed after idle=1 once the file was closed: %r"
              % held_checkpoints(m.mnt))
        check(os.stat(p).st_ino == ino, "idle: inode changed on reopen")
        with open(p, "rb") as f:
            check(f.read() == run.truth["model.ckpt-1"][b"dense/kernel"], "idle: reopened bytes differ")


def main():
    tm.require_fuse()
    with tempfile.TemporaryDirectory(prefix="ckptfs-live-") as tmp:
        fds = live_run(tmp, [], "inotify", 1.5)
        live_run(tmp, ["-o", "noinotify,poll=0.3"], "poll", 1.8)
        check_half_written(tmp)
        check_idle_close(tmp)
        check(fds is not None and fds <= FDS_BOUND, "descriptors held after the run: %r" % fds)
    if tm.failures:
        print("%d failure(s)" % len(tm.failures))
        return 1
    print("all live folder checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
