#!/usr/bin/env python3
"""A sustained mixed load on three mounts at once, with flat memory and descriptors (issue 11).

Three daemons (one checkpoint with its graph, a training folder whose checkpoints are closed
after 1 s unused, a SavedModel) serve six threads for CKPT_LOAD_SECONDS (default 20; run by
hand with 300 for the multi-minute figure): walks with lstat of every entry, xattrs, random
preads with the page cache dropped after each file, whole reads of the generated files. Every
second the daemons' resident memory and open descriptors are sampled from /proc.

Truths: every byte read equals the tensor whose sha256 TF recorded in the fixture manifest
(each file is read whole and hashed once, then random ranges are compared with that); the
daemons' own /proc entries. Passes when no read is wrong or fails, and from the first quarter
of the run to its end each daemon's RSS grows by at most 8 MiB and its descriptor count ends
no higher than the highest it reached in that first quarter.

Exit 0 pass, 1 fail, 77 skip (no usable FUSE).
"""
import hashlib
import json
import os
import random
import statistics
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_mount as tm  # noqa: E402

check = tm.check
SECONDS = float(os.environ.get("CKPT_LOAD_SECONDS", "20"))
RSS_SLACK_KIB = 8 * 1024


def truth_of(mnt, variables, base=b""):
    """{path: bytes} of the numeric tensors, each read whole and checked against TF's sha256."""
    tm.expected_view(variables)  # each variable's file, by the rules of docs/format.md: "_path"
    out = {}
    for v in variables:
        if "sha256" not in v or v.get("dtype") in ("string", "variant"):
            continue
        p = os.path.join(mnt, base, v["_path"])
        with open(p, "rb") as f:
            data = f.read()
        check(hashlib.sha256(data).hexdigest() == v["sha256"], "%r read whole has TF's sha256" % p)
        out[p] = data
    return out


def sample(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            rss = next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))
        return rss, len(os.listdir("/proc/%d/fd" % pid))
    except (OSError, StopIteration):
        return None


def sanitized(pid):
    """Whether the daemon runs with AddressSanitizer (its runtime is mapped)."""
    try:
        with open("/proc/%d/maps" % pid) as f:
            return "libasan" in f.read()
    except OSError:
        return False


def main():
    tm.require_fuse()
    fx = tm.FIXTURES
    sample_mf = json.load(open(os.path.join(fx, "sample", "manifest.json")))
    folder_mf = json.load(open(os.path.join(fx, "folder", "manifest.json")))
    sm_mf = json.load(open(os.path.join(fx, "savedmodel", "tf2", "manifest.json"))) \
        if os.path.exists(os.path.join(fx, "savedmodel", "tf2", "manifest.json")) else None
    mounts = [tm.Mount(os.path.join(fx, "sample", sample_mf["prefix"]), what="load sample"),
              tm.Mount(os.path.join(fx, "folder"), ["-o", "idle=1"], what="load folder"),
              tm.Mount(os.path.join(fx, "savedmodel", "tf2"), what="load savedmodel")]
    for m in mounts:
        m.__enter__()
    try:
        return run([m.mnt for m in mounts], sample_mf, folder_mf, sm_mf)
    finally:
        for m in mounts:
            m.__exit__(None, None, None)


def run(mnts, sample_mf, folder_mf, sm_mf):
    truth = truth_of(os.fsencode(mnts[0]), sample_mf["variables"])
    for step, variables in folder_mf["steps"].items():
        truth.update(truth_of(os.fsencode(mnts[1]), variables, step.encode()))
    if sm_mf:
        truth.update(truth_of(os.fsencode(mnts[2]), sm_mf["variables"]))
    items = sorted(truth.items())
    pids = {m: tm.daemon_pids(m) for m in mnts}
    check(all(len(p) == 1 for p in pids.values()), "one daemon per mount: %s" % pids)
    pids = {m: p[0] for m, p in pids.items() if p}
    errors, counts = [], [0] * 6
    deadline = time.time() + SECONDS
    series = {m: [] for m in pids}

    def walker(k):
        rnd = random.Random(k)
        while time.time() < deadline and not errors:
            m = rnd.choice(mnts)
            for d, dirs, files in os.walk(m):
                for n in dirs + files:
                    p = os.path.join(d, n)
                    os.lstat(p)
                    if rnd.random() < 0.05:
                        for a in os.listxattr(p, follow_symlinks=False):
                            os.getxattr(p, a, follow_symlinks=False)
                    if n.endswith((".tsv", ".pbtxt", ".shape", ".dtype", ".txt")) and rnd.random() < 0.2:
                        with open(p, "rb") as f:
                            f.read()
                    counts[k] += 1

    def reader(k):
        rnd = random.Random(100 + k)
        while time.time() < deadline and not errors:
            p, data = rnd.choice(items)
            try:
                fd = os.open(p, os.O_RDONLY)
            except OSError as e:
                errors.append("open %r: %s" % (p, e))
                return
            try:
                for _ in range(8):
                    off = rnd.randrange(len(data))
                    n = rnd.randrange(1, len(data) - off + 1)
                    if os.pread(fd, n, off) != data[off:off + n]:
                        errors.append("%r [%d:+%d] wrong bytes" % (p, off, n))
                        return
                    counts[k] += 1
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            except OSError as e:
                errors.append("%r: %s" % (p, e))
                return
            finally:
                os.close(fd)

    threads = [threading.Thread(target=walker, args=(k,)) for k in range(3)]
    threads += [threading.Thread(target=reader, args=(k,)) for k in range(3, 6)]
    for t in threads:
        t.start()
    while time.time() < deadline:
        for m, pid in pids.items():
            s = sample(pid)
            if s:
                series[m].append((time.time(), s[0], s[1]))
        time.sleep(1)  # the sampling period of RSS and descriptors, not a synchronisation
    for t in threads:
        t.join()
    check(not errors, "no wrong or failed read under load: %s" % errors[:3])
    print("load: %d operations in %.0f s on %d mounts" % (sum(counts), SECONDS, len(mnts)))
    for m, ser in series.items():
        if len(ser) < 4:
            check(False, "%s: too few samples (%d)" % (m, len(ser)))
            continue
        q = max(1, len(ser) // 4)
        early, late = ser[:q], ser[-3:]
        rss0 = statistics.median(s[1] for s in early)
        rss1 = statistics.median(s[1] for s in late)
        fd_early, fd_end = max(s[2] for s in early), ser[-1][2]
        print("  %s: RSS %d -> %d KiB (min %d, max %d), descriptors end %d (first-quarter max %d)"
              % (m, rss0, rss1, min(s[1] for s in ser), max(s[1] for s in ser), fd_end, fd_early))
        if sanitized(pids[m]):
            print("  (a sanitizer build: ASan keeps freed memory in quarantine, so its RSS is "
                  "reported, not checked)")
        else:
            check(rss1 - rss0 <= RSS_SLACK_KIB, "%s: RSS flat within 8 MiB (%+d KiB)" % (m, rss1 - rss0))
        check(fd_end <= fd_early, "%s: descriptors do not pile up (%d at end, %d early)"
              % (m, fd_end, fd_early))
    return tm.outcome()


if __name__ == "__main__":
    sys.exit(main())
