#!/usr/bin/env python3
"""File handles that outlive caches and remounts (what NFS re-export needs).

A handle taken with name_to_handle_at(2) for a tensor file, a sidecar and a directory of a
mount must open again with open_by_handle_at(2) and give the same bytes:
- after `echo 3 > /proc/sys/vm/drop_caches` (the kernel forgot every dentry and inode, so it
  must ask the daemon to turn the handle's node id back into a node);
- after unmount and a new mount of the same checkpoint (a new daemon: node ids must derive
  from the checkpoint, not from the order of lookups).
Truth: the fixture's manifest (TensorFlow's sha256, dtypes and shapes, names), against which
the bytes read through the path before are checked first (check_truth).

Needs root (open_by_handle_at needs CAP_DAC_READ_SEARCH). Exit 0 pass, 1 fail, 77 skip.
"""
import ctypes
import ctypes.util
import errno
import hashlib
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_mount as tm  # noqa: E402

check = tm.check
FIX = os.environ.get("CKPT_FIXTURES") or os.path.join(os.path.dirname(__file__), "..", "fixtures")
MAX_HANDLE_SZ = 128
AT_FDCWD = -100

libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)


class FileHandle(ctypes.Structure):
    _fields_ = [("handle_bytes", ctypes.c_uint), ("handle_type", ctypes.c_int),
                ("f_handle", ctypes.c_ubyte * MAX_HANDLE_SZ)]


def to_handle(path):
    fh = FileHandle()
    fh.handle_bytes = MAX_HANDLE_SZ
    mount_id = ctypes.c_int()
    if libc.name_to_handle_at(AT_FDCWD, os.fsencode(path), ctypes.byref(fh), ctypes.byref(mount_id), 0):
        e = ctypes.get_errno()
        raise OSError(e, "name_to_handle_at %s: %s" % (path, os.strerror(e)))
    return fh


def open_handle(mnt, fh, flags):
    mfd = os.open(mnt, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fd = libc.open_by_handle_at(mfd, ctypes.byref(fh), flags)
        if fd < 0:
            e = ctypes.get_errno()
            raise OSError(e, "open_by_handle_at: %s" % os.strerror(e))
        return fd
    finally:
        os.close(mfd)


def read_fd(fd):
    out = b""
    while True:
        b = os.read(fd, 1 << 20)
        if not b:
            return out
        out += b


def drop_caches():
    os.sync()
    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write("3\n")


def check_handles(m, handles, truth, when):
    for rel, fh in handles.items():
        is_dir = truth[rel] is None
        try:
            fd = open_handle(m.mnt, fh, os.O_RDONLY | (os.O_DIRECTORY if is_dir else 0))
        except OSError as e:
            check(False, "%s: %r: %s" % (when, rel, e))
            continue
        try:
            if is_dir:
                got = sorted(os.listdir(fd))
                want = sorted(os.listdir(os.path.join(m.mnt, rel)))
                check(got == want, "%s: directory %r lists %r, want %r" % (when, rel, got[:5], want[:5]))
            else:
                got = read_fd(fd)
                check(got == truth[rel], "%s: %r gives %d bytes, want %d" % (when, rel, len(got), len(truth[rel])))
        finally:
            os.close(fd)


def check_truth(m, truth, manifest):
    """The bytes and listings read through paths, which the handles must give again, checked
    against TensorFlow's manifest: files by their user.ckpt.name, variables.tsv by its rows,
    directories by the names below them."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
    import ckpt_testlib as tl
    byname = {v["name"]: v for v in manifest["variables"]}
    for rel, data in truth.items():
        p = os.path.join(m.mnt, rel)
        if rel == "variables.tsv":
            rows = tl.parse_ls(data)
            check([(r.name.decode(), r.dtype, r.shape) for r in rows] ==
                  [(v["name"], v["dtype"], v["shape"]) for v in sorted(
                      manifest["variables"], key=lambda v: v["name"].encode())],
                  "export: variables.tsv rows differ from the manifest")
        elif data is None:
            # Below a directory: its variables' next components (the manifest's names).
            below = {n[len(rel) + 1:].split("/")[0] for n in byname if n.startswith(rel + "/")}
            got = set(os.listdir(p))
            check(below and all(b in got or b + ".raw" in got for b in below),
                  "export: %r lists %r, manifest has %r below it" % (rel, sorted(got),
                                                                      sorted(below)))
        else:
            v = byname.get(os.getxattr(p, "user.ckpt.name").decode())
            if not check(v is not None, "export: %r names no manifest variable" % rel):
                continue
            if rel.endswith(".shape"):
                check(data == (tm.shape_text(v["shape"]) + "\n").encode(), "export: %r" % rel)
            else:
                check(hashlib.sha256(data).hexdigest() == v["sha256"],
                      "export: %r differs from TF's sha256" % rel)


def main():
    tm.require_fuse()
    if os.geteuid() != 0:
        print("SKIP: open_by_handle_at needs root (CAP_DAC_READ_SEARCH)")
        return 77
    with open(os.path.join(FIX, "sample", "manifest.json")) as f:
        manifest = json.load(f)
    source = os.path.join(FIX, "sample", "model.ckpt")
    rels = ["dense/kernel.raw", "dense/kernel.shape", "variables.tsv", "dense", "dense/kernel"]
    with tm.Mount(source, what="export") as m:
        truth, handles = {}, {}
        for rel in rels:
            p = os.path.join(m.mnt, rel)
            if not os.path.exists(p):
                continue
            if os.path.isdir(p):
                truth[rel] = None
            else:
                with open(p, "rb") as f:
                    truth[rel] = f.read()
            handles[rel] = to_handle(p)
        check(len(handles) >= 4, "export: sample fixture lacks the expected files: %r" % sorted(handles))
        check_truth(m, truth, manifest)
        check_handles(m, handles, truth, "same mount")
        drop_caches()
        check_handles(m, handles, truth, "after drop_caches")
    # A new daemon (on a new mountpoint: the handle names a node id, not a place): the old
    # handles still open.
    with tm.Mount(source, what="export") as m2:
        check_handles(m2, handles, truth, "after remount")
    print("export: %d handles checked three ways" % len(handles))
    return tm.outcome()


if __name__ == "__main__":
    sys.exit(main())
