#!/usr/bin/env python3
"""Benchmark a ckptfs mount against baselines measured in the same run.

Builds a synthetic checkpoint (scripts/synthckpt.py: N variables plus one big tensor), then:
  - mount: time until mount.ckptfs returns, and the daemon's peak RSS after mount and after a
    full `find` and `variables.tsv` read;
  - find: `find MNT` on the ckptfs mount vs the same tree packed with mksquashfs and mounted by
    the kernel (the "kernel's own" baseline), each cold (fresh mount, caches dropped) and warm;
  - read: `cat` of the big tensor through ckptfs vs reading its byte range straight from the
    shard file (warm page cache), i.e. the cost of going through FUSE at all.
Prints each number and the ratio to its baseline. Run as root (mounts, drop_caches).

    python3 scripts/bench_mount.py [--vars 100000] [--big-mib 256] [--ckptfs build/ckptfs]
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def sh(*cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


def drop_caches():
    subprocess.run(["sync"])
    try:
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")
    except OSError:
        pass


def timed(fn, repeat=1):
    best = None
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        d = time.perf_counter() - t
        best = d if best is None else min(best, d)
    return best


def daemon_pid(mnt):
    out = subprocess.run(["pgrep", "-f", "ckptfs.* " + mnt], capture_output=True, text=True).stdout
    pids = [int(p) for p in out.split()]
    return pids[0] if pids else None


def peak_rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def umount(mnt):
    subprocess.run(["umount", mnt], stderr=subprocess.DEVNULL)
    for _ in range(100):
        if not os.path.ismount(mnt):
            return
        time.sleep(0.05)


def count_find(mnt):
    out = subprocess.run(["find", mnt], check=True, capture_output=True).stdout
    return out.count(b"\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vars", type=int, default=100000)
    ap.add_argument("--big-mib", type=int, default=256)
    ap.add_argument("--ckptfs", default=os.path.join(HERE, "..", "build", "ckptfs"))
    a = ap.parse_args()
    ckptfs = os.path.abspath(a.ckptfs)
    work = tempfile.mkdtemp(prefix="ckptfs-bench.")
    prefix = os.path.join(work, "ckpt", "model.ckpt")
    mnt, sq_mnt = os.path.join(work, "mnt"), os.path.join(work, "sqmnt")
    os.makedirs(mnt)
    os.makedirs(sq_mnt)
    try:
        t = time.perf_counter()
        sh(sys.executable, os.path.join(HERE, "synthckpt.py"), prefix, "--vars", str(a.vars),
           "--big-mib", str(a.big_mib))
        print("checkpoint: %d variables + %d MiB tensor, index %.1f MB (made in %.1f s)" % (
            a.vars, a.big_mib, os.path.getsize(prefix + ".index") / 1e6, time.perf_counter() - t))

        # --- mount
        drop_caches()
        t_mount = timed(lambda: sh(ckptfs, "mount", prefix, mnt))
        pid = daemon_pid(mnt)
        rss_mount = peak_rss_kib(pid) if pid else 0
        n_ckptfs = count_find(mnt)
        with open(os.path.join(mnt, "variables.tsv"), "rb") as f:
            f.read()
        rss_after = peak_rss_kib(pid) if pid else 0
        print("mount: %.3f s, daemon peak RSS %.1f MiB after mount, %.1f MiB after find" % (
            t_mount, rss_mount / 1024, rss_after / 1024))

        # --- the same tree as a squashfs image (the kernel baseline)
        tree = os.path.join(work, "tree")
        sh("cp", "-r", mnt, tree)
        image = os.path.join(work, "tree.sqfs")
        sh("mksquashfs", tree, image, "-noappend", "-quiet", "-no-progress",
           stdout=subprocess.DEVNULL)
        shutil.rmtree(tree)

        def cold_find(mount_cmd, where):
            umount(where)
            drop_caches()
            mount_cmd()
            return timed(lambda: count_find(where))

        sq_mount = lambda: sh("mount", "-t", "squashfs", "-o", "loop,ro", image, sq_mnt)
        ck_mount = lambda: sh(ckptfs, "mount", prefix, mnt)
        cold_sq = cold_find(sq_mount, sq_mnt)
        warm_sq = timed(lambda: count_find(sq_mnt), 3)
        n_sq = count_find(sq_mnt)
        cold_ck = cold_find(ck_mount, mnt)
        warm_ck = timed(lambda: count_find(mnt), 3)
        print("find: %d entries (squashfs %d)" % (n_ckptfs, n_sq))
        print("  cold: ckptfs %.3f s, squashfs %.3f s, ratio %.2f" % (cold_ck, cold_sq,
                                                                      cold_ck / cold_sq))
        print("  warm: ckptfs %.3f s, squashfs %.3f s, ratio %.2f" % (warm_ck, warm_sq,
                                                                      warm_ck / warm_sq))

        # --- reads of the big tensor, warm page cache
        if a.big_mib:
            big = os.path.join(mnt, "zz_big", "tensor")
            shard = prefix + ".data-00000-of-00001"
            size = os.path.getsize(big)
            off = os.path.getsize(shard) - size

            def read_direct():
                with open(shard, "rb", buffering=0) as f:
                    f.seek(off)
                    left = size
                    while left:
                        b = f.read(min(1 << 20, left))
                        left -= len(b)

            def read_fuse():
                umount(mnt)  # a fresh mount, so the kernel's page cache of the file is empty
                sh(ckptfs, "mount", prefix, mnt)
                with open(big, "rb", buffering=0) as f:
                    while f.read(1 << 20):
                        pass

            read_direct()
            t_direct = timed(read_direct, 3)
            t_fuse = timed(read_fuse, 3)
            print("read %d MiB: ckptfs %.0f MB/s, direct from shard %.0f MB/s, ratio %.2f" % (
                a.big_mib, size / t_fuse / 1e6, size / t_direct / 1e6, t_fuse / t_direct))
    finally:
        umount(mnt)
        umount(sq_mnt)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
