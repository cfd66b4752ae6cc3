#!/usr/bin/env python3
"""Mounts of checkpoints inside archives (issue 27, docs/archives.md).

Fixtures written by TensorFlow (TF 2 names, a sharded save, partitioned variables, dtypes)
are packed by Python's zipfile and tarfile as a stored zip, a deflated zip, a tar and a
.tar.gz; each `ARCHIVE//PREFIX` mount must show exactly the view test_mount.py re-implements
from docs/mount.md and docs/format.md, with every tensor's bytes equal to TF's (the manifest's
sha256). A .tar.gz mounted with `-o cache_dir=` keeps its index: the next mount command reads
less than half the archive (the kernel's count of the bytes it read, /proc/PID/io), where the
first one read all of it.

Exit 0 pass, 1 fail, 77 skip (no usable FUSE, a fixture missing).
"""
import json
import os
import random
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_mount as tm  # noqa: E402

check = tm.check
# Fixtures without a .meta (a mount shows graph files for one, which test_mount's rule finds
# only beside a local prefix).
CASES = ("keras_tf2", "tf2_keras_adam", "sharded", "partitioned", "dtypes")


def pack(case_dir, prefix, out):
    """{kind: archive path} of the prefix's files under "model/" (names as in the fixture)."""
    files = sorted(f for f in os.listdir(case_dir) if f.startswith(prefix + "."))
    made = {}
    for kind, comp in (("stored", zipfile.ZIP_STORED), ("deflated", zipfile.ZIP_DEFLATED)):
        p = out + "." + kind + ".zip"
        with zipfile.ZipFile(p, "w", comp) as z:
            for f in files:
                z.write(os.path.join(case_dir, f), "model/" + f)
        made[kind + ".zip"] = p
    for kind, mode in (("tar", "w"), ("tar.gz", "w:gz")):
        p = out + "." + kind
        with tarfile.open(p, mode) as t:
            for f in files:
                t.add(os.path.join(case_dir, f), "model/" + f)
        made[kind] = p
    return made


def mount_reads(source, mnt, *opts):
    """Mount, and the bytes the mount command read (its /proc/PID/io, read after it exited
    but before it is reaped: the archive is opened and indexed before the daemon forks)."""
    args = [tm.MOUNT, source, mnt] + sum((["-o", o] for o in opts), [])
    p = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    os.waitid(os.P_PID, p.pid, os.WEXITED | os.WNOWAIT)
    n = rchar(p.pid)
    p.wait()
    check(p.returncode == 0, "mount %s: exit %s" % (source, p.returncode))
    return n


def rchar(pid):
    """Bytes the process has read through read-like system calls (the kernel's count)."""
    with open("/proc/%d/io" % pid) as f:
        for line in f:
            if line.startswith("rchar:"):
                return int(line.split()[1])
    return None


def check_kept_index(tmp):
    """A .tar.gz whose checkpoint comes after 12 MiB of other data: the first mount decodes
    all of it; with the index kept, the next reads a span at most."""
    fx = tm.FIXTURES
    d = os.path.join(tmp, "kept")
    os.makedirs(d)
    rng = random.Random(27)
    with open(os.path.join(d, "blob.bin"), "wb") as f:
        f.write(bytes(rng.getrandbits(8) for _ in range(12 << 20)))
    src = os.path.join(fx, "keras_tf2")
    tgz = os.path.join(tmp, "kept.tar.gz")
    with tarfile.open(tgz, "w:gz") as t:
        t.add(os.path.join(d, "blob.bin"), "zoo/blob.bin")
        for f in sorted(os.listdir(src)):
            if f.startswith("ckpt."):
                t.add(os.path.join(src, f), "zoo/checkpoint/" + f)
    size = os.path.getsize(tgz)
    cache = os.path.join(tmp, "cache")
    os.makedirs(cache)
    source = tgz + "//zoo/checkpoint/ckpt"
    reads = []
    for n in (1, 2):
        mnt = tempfile.mkdtemp(prefix="ckptfs-mnt-")
        try:
            reads.append(mount_reads(source, mnt, "cache_dir=" + cache))
            check(os.path.exists(os.path.join(mnt, "variables.tsv")),
                  "kept index, mount %d: the tree is there" % n)
        finally:
            tm.unmount(mnt)
            tm.wait_no_daemon(mnt, "kept index, mount %d" % n)
            if not tm.is_mounted(mnt):
                os.rmdir(mnt)
    check(reads[0] is not None and reads[0] >= size,
          "first mount of a %d-byte .tar.gz read all of it to index it (%s bytes)" % (size, reads[0]))
    check(any(f.endswith(".idx") for f in os.listdir(cache)), "the index is kept in cache_dir=")
    check(reads[1] is not None and reads[1] < size // 2,
          "next mount, index kept: read %s of %d bytes (less than half)" % (reads[1], size))


class _ArchivePath:
    """os.path for test_mount, whose /proc/mounts rule applies realpath to the source: for an
    archive source only the archive's own path is made absolute, as the mount records it
    (docs/archives.md); realpath of the whole would fold its "//"."""

    def __getattr__(self, k):
        return getattr(os.path, k)

    def realpath(self, p):
        if isinstance(p, str) and "//" in p:
            a, inner = p.split("//", 1)
            return os.path.realpath(a) + "//" + inner
        return os.path.realpath(p)


class _Os:
    path = _ArchivePath()

    def __getattr__(self, k):
        return getattr(os, k)


def main():
    tm.require_fuse()
    fx = tm.FIXTURES
    tmp = tempfile.mkdtemp(prefix="ckpt-e2e-archive-")
    try:
        for case in CASES:
            case_dir = os.path.join(fx, case)
            mpath = os.path.join(case_dir, "manifest.json")
            if not os.path.isfile(mpath):
                print("SKIP: fixture %s missing" % case)
                sys.exit(77)
            with open(mpath) as f:
                manifest = json.load(f)
            prefix = manifest["prefix"]
            for kind, path in pack(case_dir, prefix, os.path.join(tmp, case)).items():
                tm.os = _Os()
                try:
                    tm.check_fixture("%s.%s" % (case, kind), path + "//model/" + prefix,
                                     manifest)
                finally:
                    tm.os = os
        check_kept_index(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    sys.exit(tm.outcome())


if __name__ == "__main__":
    main()
