#!/usr/bin/env python3
"""Real FUSE mounts of every fixture and of the real checkpoints.

Truth comes from outside the daemon: the fixtures' manifest.json (written by TensorFlow: names,
dtypes, shapes, sha256 of each tensor's bytes, string elements in hex), the rules of
docs/mount.md re-implemented here (escapes, .raw, hidden generated files), the shard files read
directly, and for ../shared/realckpt their shard files read here and the CRC-32C their
writers stored.

Exit 0 pass, 1 fail, 77 skip (no usable FUSE; in CI that fails: tests/README.md "Skips").
"""
import errno
import hashlib
import json
import os
import random
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import tf2names  # noqa: E402

CKPTFS = os.environ.get("CKPTFS", "")
MOUNT = os.environ.get("MOUNT_CKPTFS") or (CKPTFS and os.path.join(os.path.dirname(CKPTFS), "mount.ckptfs"))
FIXTURES = os.environ.get("CKPT_FIXTURES", os.path.join(os.path.dirname(__file__), "..", "fixtures"))
REALCKPT = os.environ.get("CKPT_REALCKPT", "")
STRESS_SECONDS = float(os.environ.get("CKPT_STRESS_SECONDS", "10"))

EXIT_USAGE, EXIT_SOURCE, EXIT_CORRUPT, EXIT_SHARD, EXIT_MOUNTPOINT, EXIT_FUSE = 1, 2, 3, 4, 5, 6

failures = []


def outcome():
    """The exit code of a test program that used check(): 0 (printing "all passed") or 1."""
    if failures:
        print("%d failure(s)" % len(failures))
        return 1
    print("all passed")
    return 0


def check(cond, msg):
    if not cond:
        failures.append(msg)
        print("FAIL:", msg, flush=True)
    return cond


# --- the documented view, re-implemented ------------------------------------------------------

def fnv1a64(b):
    h = 0xCBF29CE484222325
    for x in b:
        h ^= x
        h = (h * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


GENERATED_SUFFIXES = (b".raw", b".shape", b".dtype", b".npy", b".stats")
ROOT_FILES = (b"variables.tsv", b"graph.pbtxt", b"meta_graph.pbtxt", b"graph.dot",
              b"object_graph.pbtxt", b"saved_model.pbtxt", b"signatures.txt", b"stats.tsv",
              b"model.safetensors")


# Directories every view's root holds (by_name only a TF 2 checkpoint's): no variable takes
# their names.
TOP_DIRS = (b"by_name", b"tf")
TF_FILES = (b"checkpoint", b"model.data-00000-of-00001", b"model.index")


def esc_component(c, top=False, dots=False):
    """docs/format.md, "Names in a mount": a name component as a file name (top: a component
    directly under the checkpoint's root, beside its generated root files, by_name and tf; dots: a
    TF 2 checkpoint, where every component starting with '.' is escaped too)."""
    if len(c) > 240 or b"\0" in c:
        keep = len(c)
        if keep > 200:
            keep = 200
            while keep > 0 and (c[keep] & 0xC0) == 0x80:
                keep -= 1
        return b"%%~%016x~" % fnv1a64(c) + c[:keep].replace(b"\0", b"?")
    lead = c in (b"", b".", b"..") or c.startswith(b"%") or (dots and c.startswith(b"."))
    trail = c != b"" and (c.endswith(b"%") or c.endswith(GENERATED_SUFFIXES)
                          or (top and (c in ROOT_FILES or c in TOP_DIRS)))
    return (b"%" if lead else b"") + c + (b"%" if trail else b"")


def unesc_component(d):
    """The inverse of esc_component for every form but the hashed one (None)."""
    if d.startswith(b"%~"):
        return None
    if d == b"%":
        return b""
    if d.endswith(b"%"):
        d = d[:-1]
    return d[1:] if d.startswith(b"%") else d


def text_escape(s):
    """tstring.h's escaped text form of one element (or one name in variables.tsv)."""
    out = bytearray()
    i = 0
    while i < len(s):
        b = s[i]
        if b == 0x5C:
            out += b"\\\\"
        elif b == 0x0A:
            out += b"\\n"
        elif b == 0x0D:
            out += b"\\r"
        elif b == 0x09:
            out += b"\\t"
        elif b < 0x20 or b == 0x7F:
            out += b"\\x%02x" % b
        elif b < 0x80:
            out.append(b)
        else:
            n = 2 if 0xC2 <= b <= 0xDF else 3 if 0xE0 <= b <= 0xEF else 4 if 0xF0 <= b <= 0xF4 else 0
            try:
                if n == 0:
                    raise UnicodeDecodeError("utf-8", b"", 0, 1, "lead")
                s[i:i + n].decode("utf-8")
                out += s[i:i + n]
                i += n
                continue
            except UnicodeDecodeError:
                out += b"\\x%02x" % b
        i += 1
    return bytes(out)


def shape_text(shape):
    return "[" + ", ".join(str(d) for d in shape) + "]"


OBJECT_GRAPH_KEY = "_CHECKPOINTABLE_OBJECT_GRAPH"


def generated_names(source, variables, saved_model=False):
    """docs/mount.md: the generated root files a checkpoint has (besides variables.tsv)."""
    out = [b"model.safetensors"]
    # A V1 shard "P-00000-of-00002" belongs to prefix P (PREFIX.meta is P.meta).
    base = re.sub(r"-\d{5}-of-\d{5}$", "", source)
    if saved_model or os.path.exists(source + ".meta") or os.path.exists(base + ".meta"):
        out += [b"graph.pbtxt", b"meta_graph.pbtxt", b"graph.dot"]
    if any(v["name"] == OBJECT_GRAPH_KEY for v in variables):
        out.append(b"object_graph.pbtxt")
    if saved_model:
        out += [b"saved_model.pbtxt", b"signatures.txt"]
    return out


def expected_view(variables, generated=(), npy=False):
    """Map mount-relative path (bytes) -> ('dir',) | ('data'|'shape'|'dtype'|'npy', var) |
    ('tsv',) | ('gen', name) | ('link', var): a TF 2 checkpoint's variables at their visible
    paths, and by_name/ (tests/pylib/tf2names.py)."""
    keys = [v["name"].encode("utf-8", "surrogateescape") for v in variables]
    graph = tf2names.graph_bytes_of(variables)
    dots = graph is not None
    vis = tf2names.visible_paths(keys, dots)
    names = [vis[k] for k in keys]
    nameset = set(names)
    prefixes = set()
    for n in names:
        parts = n.split(b"/")
        for k in range(1, len(parts)):
            prefixes.add(b"/".join(parts[:k]))
    cands = {}  # path -> list of (prio, entry)

    def add(path, prio, entry):
        cands.setdefault(path, []).append((prio, entry))

    for n, v in zip(names, variables):
        parts = n.split(b"/")
        disp = [esc_component(p, k == 0, dots) for k, p in enumerate(parts)]
        for k in range(1, len(parts)):
            add(b"/".join(disp[:k]), 0, ("dir",))
        base = b"/".join(disp)
        v["_path"] = base + b".raw" if n in prefixes else base
        if n in prefixes:
            add(base + b".raw", 1, ("data", v))
        else:
            add(base, 0, ("data", v))
        add(base + b".shape", 1, ("shape", v))
        add(base + b".dtype", 1, ("dtype", v))
        if npy and v["dtype"] not in ("string", "variant", "resource"):
            add(base + b".npy", 1, ("npy", v))
    add(b"variables.tsv", 2, ("tsv",))
    # tf/: the variables as a V2 bundle (docs/mount.md, "tf/"; tests/e2e/test_mount_tfdir.py)
    add(b"tf", 0, ("dir",))
    for f in TF_FILES:
        add(b"tf/" + f, 0, ("tf", f))
    for g in generated:
        add(g, 2, ("gen", g))
    if graph is not None:
        full, _ = tf2names.object_graph(graph)
        full = {k: f for k, f in full.items() if k in vis}
        byvar = dict(zip(keys, variables))
        links = tf2names.by_name_links(full)
        lprefixes = set()
        for ln in links:
            parts = ln.split(b"/")
            for k in range(1, len(parts)):
                lprefixes.add(b"/".join(parts[:k]))
        add(b"by_name", 0, ("dir",))
        for ln, key in links.items():
            parts = ln.split(b"/")
            disp = [b"by_name"] + [esc_component(p, False, dots) for p in parts]
            for k in range(2, len(disp)):
                add(b"/".join(disp[:k]), 0, ("dir",))
            base = b"/".join(disp)
            add(base + b".raw" if ln in lprefixes else base, 0, ("link", byvar[key]))
    view = {}
    for path, lst in cands.items():
        # The rule is total: no two entries ever want one path (directories are added once
        # per variable below them, hence the set).
        kinds = set(e[0] if e[0] != "dir" else "dir" for _, e in lst)
        owners = {(e[0], e[1]["name"]) if len(e) > 1 and isinstance(e[1], dict) else e
                  for _, e in lst}
        if path in (b"by_name", b"tf") or path.startswith((b"by_name/", b"tf/")):
            assert len(owners) == 1 or kinds == {"dir"}, (path, owners)
            view[path] = lst[0][1]
            continue
        assert len(owners) == 1 or kinds == {"dir"}, (path, owners)
        view[path] = lst[0][1]
        # Every variable's path maps back to its name (hashed components aside).
        e = view[path]
        if e[0] == "data":
            comps = path[:-4].split(b"/") if path.endswith(b".raw") and \
                vis[e[1]["name"].encode("utf-8", "surrogateescape")] in prefixes else path.split(b"/")
            back = [unesc_component(d) for d in comps]
            if None not in back:
                assert b"/".join(back) == vis[e[1]["name"].encode("utf-8", "surrogateescape")], path
    assert nameset
    return view


def numeric(v):
    return v["dtype"] not in ("string", "variant")


def string_text(v):
    """The text a string or variant file shows: TF's elements escaped, or TF's text of each
    variant element (the manifest's variant_text)."""
    if "variant_text" in v:
        return v["variant_text"].encode("utf-8")
    return b"".join(text_escape(bytes.fromhex(h)) + b"\n" for h in v["strings_hex"])


# --- mounting ---------------------------------------------------------------------------------

def daemon_pids(mnt):
    """Processes whose command line names the mountpoint (the daemon keeps its argv)."""
    pids = []
    key = os.fsencode(mnt)
    for p in os.listdir("/proc"):
        if not p.isdigit() or int(p) == os.getpid():
            continue
        try:
            with open("/proc/%s/cmdline" % p, "rb") as f:
                args = f.read().split(b"\0")
            with open("/proc/%s/stat" % p) as f:
                st = f.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if key in args and st != "Z":
            pids.append(int(p))
    return pids


def is_mounted(mnt):
    with open("/proc/mounts") as f:
        return any(line.split()[1] == mnt for line in f)


def unmount(mnt):
    if not is_mounted(mnt):
        return
    r = subprocess.run(["fusermount3", "-u", mnt], capture_output=True)
    if r.returncode != 0:
        subprocess.run(["umount", mnt], capture_output=True)
    if is_mounted(mnt):
        subprocess.run(["umount", "-l", mnt], capture_output=True)


def wait_no_daemon(mnt, what):
    deadline = time.time() + 5
    while daemon_pids(mnt) and time.time() < deadline:
        time.sleep(0.05)
    check(not daemon_pids(mnt), "%s: daemon still running after unmount: %s" % (what, daemon_pids(mnt)))


class Mount:
    def __init__(self, source, opts=(), what=None):
        self.source, self.opts = source, list(opts)
        self.what = what or source
        self.mnt = None

    def __enter__(self):
        self.mnt = tempfile.mkdtemp(prefix="ckptfs-mnt-")
        r = subprocess.run([MOUNT, self.source, self.mnt] + self.opts, capture_output=True, timeout=60)
        self.stderr = r.stderr.decode(errors="replace")
        if r.returncode != 0:
            os.rmdir(self.mnt)
            raise RuntimeError("mount %s failed (exit %d): %s" % (self.source, r.returncode, self.stderr))
        return self

    def __exit__(self, *exc):
        try:
            unmount(self.mnt)
            wait_no_daemon(self.mnt, self.what)
        finally:
            if not is_mounted(self.mnt):
                os.rmdir(self.mnt)
        return False

    def path(self, rel):
        return os.path.join(os.fsencode(self.mnt), rel)

    def data_reads(self):
        return int(os.getxattr(self.mnt, "user.ckpt.data_reads"))


def fuse_usable():
    if not os.path.exists("/dev/fuse"):
        return "no /dev/fuse"
    if not MOUNT or not os.path.exists(MOUNT):
        return "mount.ckptfs not built (MOUNT_CKPTFS=%r)" % MOUNT
    if os.geteuid() != 0 and not shutil.which("fusermount3"):
        return "not root and no fusermount3"
    return None


def require_fuse():
    """Skip (exit 77), saying why, when real mounts cannot be made here; fail in CI, where
    /dev/fuse and the daemon are required (tests/README.md "Skips")."""
    env = os.environ.get("MOUNT_CKPTFS") or os.environ.get("CKPTFS")
    if env and not os.access(MOUNT or "", os.X_OK):
        # Set but not built: ctest sets both, so this is a broken build, not a missing tool.
        print("FAIL: %s is not an executable file (MOUNT_CKPTFS / CKPTFS)" % MOUNT)
        sys.exit(1)
    why = fuse_usable()
    if why:
        testlib().missing("FUSE", why)


def require_numpy():
    """numpy, or skip (exit 77) when it does not import; fail in CI."""
    return testlib().oracle("numpy")


def fixtures():
    out = []
    if not os.path.isdir(FIXTURES):
        return out
    for d in sorted(os.listdir(FIXTURES)):
        mf = os.path.join(FIXTURES, d, "manifest.json")
        if os.path.isfile(mf):
            with open(mf) as f:
                m = json.load(f)
            out.append((d, os.path.join(FIXTURES, d, m["prefix"]), m))
    return out


# --- the checks -------------------------------------------------------------------------------

def walk(root):
    """All paths under root (bytes, relative) -> 'dir' | 'file'."""
    out = {}
    rootb = os.fsencode(root)
    for dirpath, dirnames, filenames in os.walk(rootb):
        rel = os.path.relpath(dirpath, rootb)
        for d in dirnames:
            out[os.path.normpath(os.path.join(rel, d))] = "dir"
        for f in filenames:
            out[os.path.normpath(os.path.join(rel, f))] = "file"
    return out


def write_attempts(mnt, some, somedir=None):
    """Every call that would change a mount, as (what, fn): mnt its root, some a file and
    somedir (if any) a directory in it."""
    mnt, some = os.fsencode(mnt), os.fsencode(some)
    somedir = somedir and os.fsencode(somedir)
    new = os.path.join(mnt, b"newfile")
    out = [("rmdir", lambda: os.rmdir(somedir))] if somedir else []
    return out + [("open O_WRONLY", lambda: os.open(some, os.O_WRONLY)),
            ("open O_RDWR", lambda: os.open(some, os.O_RDWR)),
            ("open O_TRUNC", lambda: os.open(some, os.O_RDONLY | os.O_TRUNC)),
            ("create", lambda: os.open(new, os.O_CREAT | os.O_WRONLY, 0o644)),
            ("create O_EXCL", lambda: os.open(new, os.O_CREAT | os.O_EXCL | os.O_RDONLY, 0o444)),
            ("truncate", lambda: os.truncate(some, 0)),
            ("utime", lambda: os.utime(some, (1, 1))),
            ("chmod", lambda: os.chmod(some, 0o644)),
            ("chown", lambda: os.chown(some, 1, 1)),
            ("mkdir", lambda: os.mkdir(os.path.join(mnt, b"newdir"))),
            ("unlink", lambda: os.unlink(some)),
            ("rename", lambda: os.rename(some, some + b".x")),
            ("symlink", lambda: os.symlink(b"x", new)),
            ("link", lambda: os.link(some, new)),
            ("mknod", lambda: os.mknod(new, 0o600 | stat.S_IFIFO)),
            ("setxattr", lambda: os.setxattr(some, "user.x", b"1")),
            ("removexattr", lambda: os.removexattr(some, "user.ckpt.dtype"))]


def check_read_only(what, mnt, some, somedir=None):
    """Every write_attempts call fails with EROFS, and changes nothing."""
    for call, fn in write_attempts(mnt, some, somedir):
        try:
            fn()
            check(False, "%s: %s succeeded" % (what, call))
        except OSError as e:
            check(e.errno == errno.EROFS, "%s: %s gave %s, want EROFS" % (what, call, e.strerror))
    check(not os.path.lexists(os.path.join(os.fsencode(mnt), b"newfile")), "%s: newfile appeared" % what)


def check_fixture(name, source, manifest):
    variables = manifest["variables"]
    view = expected_view(variables, generated_names(source, variables))
    with Mount(source, what=name) as m:
        # Listing, stat, sidecars, xattrs and variables.tsv read no data shard for numeric
        # tensors. Files whose size is their rendered text (string tensors, and
        # object_graph.pbtxt) read their tensor at their first stat, so that the size is true
        # from the start (tar, rsync, mmap trust it): stat those first, check the size against
        # TF's values, and count reads from there.
        og = m.path(b"object_graph.pbtxt")
        if b"object_graph.pbtxt" in view:
            os.stat(og)
            check(m.data_reads() > 0, "%s: sizing object_graph.pbtxt read no data" % name)
        for p, e in view.items():
            if e[0] == "data" and not numeric(e[1]):
                size = os.stat(m.path(p)).st_size
                if "strings_hex" in e[1] or "variant_text" in e[1]:
                    want = len(string_text(e[1]))
                    check(size == want, "%s: %r first stat says %d bytes, TF's text has %d" % (name, p, size, want))
        # A TF 2 checkpoint reads its object graph once, for by_name/ and variables.tsv's
        # full_name column (docs/mount.md): look at both first.
        if b"by_name" in view:
            os.listdir(m.path(b"by_name"))
            os.stat(m.path(b"variables.tsv"))
            check(m.data_reads() > 0, "%s: by_name/ built without reading the object graph" % name)
        # tf/'s bundle is laid out at its files' first stat (string tensors, partitioned and V1
        # ones are read then): do that before counting.
        if b"tf" in view:
            os.stat(m.path(b"tf/model.index"))
        base_reads = m.data_reads()
        got = walk(m.mnt)
        exp = {p: ("dir" if e[0] == "dir" else "file") for p, e in view.items()}
        missing = sorted(set(exp) - set(got))
        extra = sorted(set(got) - set(exp))
        check(not missing and not extra, "%s: tree differs: missing %r extra %r" % (name, missing[:5], extra[:5]))
        for p, e in view.items():
            if p not in got:
                continue
            full = m.path(p)
            st = os.lstat(full)
            # A symbolic link's bits are 0777 on Linux and never consulted (as `latest`'s).
            check(stat.S_ISLNK(st.st_mode) or st.st_mode & 0o222 == 0, "%s: %r has write bits" % (name, p))
            if e[0] == "shape":
                with open(full, "rb") as f:
                    check(f.read() == (shape_text(e[1]["shape"]) + "\n").encode(), "%s: %r wrong" % (name, p))
            elif e[0] == "dtype":
                with open(full, "rb") as f:
                    check(f.read() == (e[1]["dtype"] + "\n").encode(), "%s: %r wrong" % (name, p))
            elif e[0] == "data":
                v = e[1]
                xa = lambda k: os.getxattr(full, "user.ckpt." + k)
                check(xa("name") == v["name"].encode("utf-8", "surrogateescape"), "%s: %r xattr name" % (name, p))
                check(xa("dtype") == v["dtype"].encode(), "%s: %r xattr dtype" % (name, p))
                check(xa("shape") == shape_text(v["shape"]).encode(), "%s: %r xattr shape" % (name, p))
                listed = set(os.listxattr(full))
                # A partitioned variable has no single shard/offset (docs/mount.md).
                if "user.ckpt.shard" in listed:
                    check(xa("shard").isdigit() and xa("offset").isdigit(), "%s: %r xattr shard/offset" % (name, p))
                if "user.ckpt.crc32c" in listed:
                    check(re.fullmatch(rb"[0-9a-f]{8}", xa("crc32c")), "%s: %r xattr crc32c" % (name, p))
                if numeric(v):
                    check(st.st_size == v["nbytes"], "%s: %r size %d != %d" % (name, p, st.st_size, v["nbytes"]))
                    check(int(xa("nbytes")) == v["nbytes"], "%s: %r xattr nbytes" % (name, p))
            elif e[0] == "link":
                target = os.readlink(full)
                where = os.path.normpath(os.path.join(os.path.dirname(p), os.fsencode(target)))
                check(where == e[1]["_path"], "%s: %r links to %r, want %r" % (name, p, where, e[1]["_path"]))
            elif e[0] == "tsv":
                with open(full, "rb") as f:
                    lines = f.read().split(b"\n")
                tf2 = tf2names.graph_bytes_of(variables) is not None
                head = b"name\tdtype\tshape\tbytes\tshard\toffset\tcrc32c" + (b"\tfull_name" if tf2 else b"")
                check(lines[0] == head, "%s: tsv header" % name)
                full_names = tf2names.object_graph(tf2names.graph_bytes_of(variables))[0] if tf2 else {}
                rows = [l.split(b"\t") for l in lines[1:] if l]
                check(len(rows) == len(variables), "%s: tsv has %d rows" % (name, len(rows)))
                byname = {text_escape(v["name"].encode("utf-8", "surrogateescape")): v for v in variables}
                for r in rows:
                    v = byname.get(r[0])
                    if check(v is not None and len(r) == (8 if tf2 else 7), "%s: tsv row %r" % (name, r[:1])):
                        if tf2:
                            fn = full_names.get(v["name"].encode("utf-8", "surrogateescape"))
                            check(r[7] == (text_escape(fn) if fn else b"-"), "%s: tsv row %r full_name" % (name, r[0]))
                        check(r[1] == v["dtype"].encode() and r[2] == shape_text(v["shape"]).encode(),
                              "%s: tsv row %r dtype/shape" % (name, r[0]))
                        if numeric(v):
                            check(int(r[3]) == v["nbytes"], "%s: tsv row %r bytes" % (name, r[0]))
        subprocess.run(["ls", "-lR", m.mnt], capture_output=True, check=True)
        subprocess.run(["find", m.mnt, "-type", "f", "-size", "+0"], capture_output=True, check=True)
        check(m.data_reads() == base_reads, "%s: listing/sidecars/xattrs read %d times from data shards" % (name, m.data_reads() - base_reads))

        # String files: TF's values as text, and the size stat gave before any open.
        for p, e in view.items():
            if e[0] == "data" and not numeric(e[1]) and p in got:
                full = m.path(p)
                want = string_text(e[1])
                with open(full, "rb") as f:
                    data = f.read()
                check(data == want, "%s: string file %r = %r, want %r" % (name, p, data[:80], want[:80]))
                check(os.stat(full).st_size == len(want), "%s: %r size after open" % (name, p))

        # Every numeric variable's bytes equal TF's (sha256 from the manifest).
        truth = {}
        for p, e in view.items():
            if e[0] == "data" and numeric(e[1]) and p in got:
                with open(m.path(p), "rb") as f:
                    data = f.read()
                if check(hashlib.sha256(data).hexdigest() == e[1]["sha256"], "%s: bytes of %r differ from TF" % (name, p)):
                    truth[p] = data

        # find -inum finds the file; grep -r sees the sidecars.
        if truth:
            p = sorted(truth)[0]
            ino = os.stat(m.path(p)).st_ino
            r = subprocess.run(["find", m.mnt, "-inum", str(ino)], capture_output=True)
            check(r.stdout.strip() == m.path(p), "%s: find -inum %d gave %r" % (name, ino, r.stdout))
        dtypes = {v["dtype"] for v in variables}
        for dt in sorted(dtypes)[:3]:
            r = subprocess.run(["grep", "-rlxZ", "--include=*.dtype", dt, m.mnt], capture_output=True)
            found = set(os.path.relpath(x, os.fsencode(m.mnt)) for x in r.stdout.split(b"\0") if x)
            want = {p for p, e in view.items() if e[0] == "dtype" and e[1]["dtype"] == dt and p in got}
            check(found == want, "%s: grep -r %s found %d files, want %d" % (name, dt, len(found), len(want)))

        # cp -r gives the same tree, byte for byte.
        # The copy's side is not what is measured: keep it in memory when possible.
        dst = tempfile.mkdtemp(prefix="ckptfs-cp-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
        try:
            r = subprocess.run(["cp", "-r", m.mnt + "/.", dst], capture_output=True)
            check(r.returncode == 0, "%s: cp -r failed: %s" % (name, r.stderr[:300]))
            copied = walk(dst)
            check(copied == got, "%s: cp -r tree differs" % name)
            for p, kind in got.items():
                if kind == "file" and p in copied:
                    with open(os.path.join(os.fsencode(dst), p), "rb") as a, open(m.path(p), "rb") as b:
                        check(a.read() == b.read(), "%s: cp -r copy of %r differs" % (name, p))
        finally:
            shutil.rmtree(dst, ignore_errors=True)

        # Nothing can be changed.
        some = m.path(sorted(p for p in got if got[p] == "file")[0])
        dirs = sorted(p for p in got if got[p] == "dir")
        check_read_only(name, m.mnt, some, m.path(dirs[0]) if dirs else None)
        sv = os.statvfs(m.mnt)
        check(sv.f_flag & os.ST_RDONLY, "%s: statfs not read-only" % name)
        check(sv.f_files >= len(got), "%s: statfs files %d < %d" % (name, sv.f_files, len(got)))
        total = sum(v.get("nbytes", 0) for v in variables)
        check(sv.f_blocks * sv.f_frsize >= total, "%s: statfs size too small" % name)

        # /proc/mounts: type fuse.ckptfs and the source path.
        with open("/proc/mounts") as f:
            line = [l.split() for l in f if l.split()[1] == m.mnt][0]
        check(line[2] == "fuse.ckptfs", "%s: /proc/mounts type %s" % (name, line[2]))
        check(line[0] == os.path.realpath(source), "%s: /proc/mounts source %s" % (name, line[0]))
        ino_map = {p: os.lstat(m.path(p)).st_ino for p in got}
    # Inode numbers are the same on the next mount.
    with Mount(source, what=name) as m:
        again = {p: os.lstat(m.path(p)).st_ino for p in got}
        check(again == ino_map, "%s: inode numbers changed between mounts" % name)
        check(len(set(again.values())) == len(again), "%s: duplicate inode numbers" % name)
    return truth


def stress(name, source, truth, seconds):
    """8 threads, random ranges of random variables, page cache dropped as they go."""
    items = sorted((p, d) for p, d in truth.items() if d)
    if not items:
        return
    errors = []
    counts = [0] * 8
    with Mount(source, what=name + " stress") as m:
        deadline = time.time() + seconds

        def worker(k):
            rnd = random.Random(k)
            while time.time() < deadline and not errors:
                p, data = rnd.choice(items)
                fd = os.open(m.path(p), os.O_RDONLY)
                try:
                    for _ in range(8):
                        off = rnd.randrange(len(data))
                        n = rnd.randrange(1, min(len(data) - off, 1 << 20) + 1)
                        got = os.pread(fd, n, off)
                        if got != data[off:off + n]:
                            errors.append("%r [%d:+%d]" % (p, off, n))
                            return
                        counts[k] += 1
                    # Forget the cached pages so the next reads reach the daemon again.
                    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
                finally:
                    os.close(fd)

        threads = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        check(not errors, "%s: concurrent reads returned wrong bytes: %s" % (name, errors[:3]))
        check(m.data_reads() > 0, "%s: stress reads never reached the daemon" % name)
        print("stress %s: %d range reads in %.0f s, %d daemon reads" % (name, sum(counts), seconds, m.data_reads()))


def check_errors(tmp):
    def run(*args):
        return subprocess.run([MOUNT] + list(args), capture_output=True, timeout=60)

    sample = [f for f in fixtures() if f[0] == "sharded"] or fixtures()
    _, source, manifest = sample[0]
    mnt = tempfile.mkdtemp(prefix="ckptfs-mnt-")
    try:
        r = run(os.path.join(tmp, "nope.ckpt"), mnt)
        check(r.returncode == EXIT_SOURCE and b"nope.ckpt" in r.stderr,
              "missing source: exit %d %r" % (r.returncode, r.stderr))
        bad = os.path.join(tmp, "garbage")
        with open(bad + ".index", "wb") as f:
            f.write(os.urandom(300))
        r = run(bad, mnt)
        check(r.returncode == EXIT_CORRUPT and b"garbage" in r.stderr,
              "garbage index: exit %d %r" % (r.returncode, r.stderr))
        r = run(source, os.path.join(tmp, "no-such-dir"))
        check(r.returncode == EXIT_MOUNTPOINT and b"no-such-dir" in r.stderr,
              "missing mountpoint: exit %d %r" % (r.returncode, r.stderr))
        r = run(source, bad + ".index")
        check(r.returncode == EXIT_MOUNTPOINT and b"not a directory" in r.stderr,
              "file as mountpoint: exit %d %r" % (r.returncode, r.stderr))
        r = run(source, mnt, "-o", "frobnicate")
        check(r.returncode == EXIT_USAGE and b"frobnicate" in r.stderr, "bad option: exit %d" % r.returncode)
        r = run(source, mnt, "-o", "uid=abc")
        check(r.returncode == EXIT_USAGE and b"uid" in r.stderr, "bad uid: exit %d" % r.returncode)
        r = run(source)
        check(r.returncode == EXIT_USAGE, "missing mountpoint argument: exit %d" % r.returncode)
        check(not is_mounted(mnt), "a failed mount left a mount behind")

        # A missing shard: mounted all the same with a warning naming it (as TF lists such a
        # checkpoint); -o force is still accepted, and changes nothing.
        copy = os.path.join(tmp, "partial")
        os.mkdir(copy)
        base = os.path.basename(source)
        for f in os.listdir(os.path.dirname(source)):
            if f.startswith(base + "."):
                shutil.copy(os.path.join(os.path.dirname(source), f), copy)
        shards = sorted(f for f in os.listdir(copy) if ".data-" in f)
        gone = shards[-1]
        os.unlink(os.path.join(copy, gone))
        with Mount(os.path.join(copy, base), what="missing shard") as m:
            check(gone in m.stderr and "warning" in m.stderr,
                  "missing shard: the mount warns naming it: %r" % m.stderr)
        with Mount(os.path.join(copy, base), ["-o", "force"], what="force") as m:
            view = expected_view(manifest["variables"])
            eio = ok = 0
            for p, e in view.items():
                if e[0] != "data" or not numeric(e[1]) or e[1]["nbytes"] == 0:
                    continue
                shard = int(os.getxattr(m.path(p), "user.ckpt.shard"))
                try:
                    with open(m.path(p), "rb") as f:
                        data = f.read()
                    check(shard != len(shards) - 1, "force: %r of the missing shard read %d bytes" % (p, len(data)))
                    check(hashlib.sha256(data).hexdigest() == e[1]["sha256"], "force: %r wrong bytes" % p)
                    ok += 1
                except OSError as ex:
                    check(ex.errno == errno.EIO and shard == len(shards) - 1, "force: %r gave %s" % (p, ex))
                    eio += 1
            check(eio > 0 and (ok > 0 or len(shards) == 1), "force: %d EIO, %d read" % (eio, ok))

        # A damaged byte: the whole-file read fails with EIO and the log names the variable.
        damaged = os.path.join(tmp, "damaged")
        os.mkdir(damaged)
        for f in os.listdir(os.path.dirname(source)):
            if f.startswith(base + "."):
                shutil.copy(os.path.join(os.path.dirname(source), f), damaged)
        view = expected_view(manifest["variables"])
        victim = max((p for p, e in view.items() if e[0] == "data" and numeric(e[1])),
                     key=lambda p: view[p][1]["nbytes"])
        with Mount(os.path.join(damaged, base), what="damaged-probe") as m:
            shard = int(os.getxattr(m.path(victim), "user.ckpt.shard"))
            off = int(os.getxattr(m.path(victim), "user.ckpt.offset"))
        shard_file = os.path.join(damaged, [f for f in sorted(os.listdir(damaged)) if ".data-%05d-" % shard in f][0])
        with open(shard_file, "r+b") as f:
            f.seek(off + view[victim][1]["nbytes"] // 2)
            b = f.read(1)
            f.seek(-1, 1)
            f.write(bytes([b[0] ^ 0xFF]))
        mnt2 = tempfile.mkdtemp(prefix="ckptfs-mnt-")
        proc = subprocess.Popen([MOUNT, os.path.join(damaged, base), mnt2, "-f"], stderr=subprocess.PIPE)
        try:
            deadline = time.time() + 10
            while not is_mounted(mnt2) and time.time() < deadline:
                time.sleep(0.05)
            try:
                with open(os.path.join(os.fsencode(mnt2), victim), "rb") as f:
                    f.read()
                check(False, "damaged %r read without error" % victim)
            except OSError as ex:
                check(ex.errno == errno.EIO, "damaged %r gave %s" % (victim, ex))
        finally:
            unmount(mnt2)
            try:
                _, err = proc.communicate(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                _, err = proc.communicate()
            os.rmdir(mnt2)
        check(proc.returncode == 0, "foreground daemon exit %s" % proc.returncode)
        check(view[victim][1]["name"].encode() in err and b"read of variable" in err,
              "damaged: log does not name the variable: %r" % err[-300:])
    finally:
        unmount(mnt)
        os.rmdir(mnt)


def check_options(source):
    with Mount(source, ["-o", "uid=1234,gid=4321,umask=077"], what="options") as m:
        st = os.stat(m.mnt)
        check(st.st_uid == 1234 and st.st_gid == 4321, "uid/gid options: %d/%d" % (st.st_uid, st.st_gid))
        check(stat.S_IMODE(st.st_mode) == 0o500, "umask=077 dir mode %o" % stat.S_IMODE(st.st_mode))
        with open("/proc/mounts") as f:
            line = [l.split() for l in f if l.split()[1] == m.mnt][0]
        opts = line[3].split(",")
        check("allow_other" not in opts, "allow_other set without being asked")
        check("ro" in opts and "default_permissions" in opts,
              "the mount lacks ro or default_permissions: %s" % line[3])
    with Mount(source, ["-o", "allow_other"], what="allow_other") as m:
        with open("/proc/mounts") as f:
            line = [l.split() for l in f if l.split()[1] == m.mnt][0]
        opts = line[3].split(",")
        check("allow_other" in opts and "ro" in opts and "default_permissions" in opts,
              "allow_other not passed on (or ro, default_permissions lost): %s" % line[3])


def real_v2_sources():
    out = []
    if not REALCKPT or not os.path.isdir(REALCKPT):
        return out
    for dirpath, _, files in os.walk(REALCKPT):
        for f in sorted(files):
            if f.endswith(".index"):
                out.append(os.path.join(dirpath, f[:-len(".index")]))
    return sorted(out)


def testlib():
    """tests/pylib/ckpt_testlib.py (the real-checkpoint check and the skip rules use it)."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
    import ckpt_testlib
    return ckpt_testlib


def decode_strings(raw, n):
    """The n elements of a DT_STRING tensor's stored bytes (docs/format.md: varint lengths, a
    masked CRC of them, the elements), or None when raw is not that encoding."""
    lens, i = [], 0
    for _ in range(n):
        v = shift = 0
        while True:
            if i >= len(raw) or shift > 63:
                return None
            b = raw[i]
            i += 1
            v |= (b & 0x7F) << shift
            shift += 7
            if b < 0x80:
                break
        lens.append(v)
    i += 4
    if i + sum(lens) != len(raw):
        return None
    out = []
    for ln in lens:
        out.append(raw[i:i + ln])
        i += ln
    return out


def check_real(source):
    """A real third-party checkpoint mounted. The truth is its shard files, read here: each
    variable's file holds the bytes its shard holds where the index places it (decoded into
    elements and their text form for strings), and those bytes carry the CRC-32C the original
    writer stored, recomputed here; so a wrong name, offset or size in `ckptfs ls` (which
    only says where to look) cannot go unnoticed. A variable whose shard is missing must fail
    with EIO; a sliced one (no single location) is checked for its size, its values being
    the TF-checked fixtures' job."""
    tl = testlib()
    ls = subprocess.run([CKPTFS, "ls", "-l", "--index-only", source], capture_output=True)
    if not check(ls.returncode == 0, "ckptfs ls %s failed: %r" % (source, ls.stderr[-200:])):
        return
    rows = {r.name: r for r in tl.parse_ls(ls.stdout)}
    shards = {}
    for f in os.listdir(os.path.dirname(source)):
        m = re.fullmatch(re.escape(os.path.basename(source)) + r"\.data-(\d{5})-of-\d{5}", f)
        if m:
            shards[int(m.group(1))] = os.path.join(os.path.dirname(source), f)
    # Missing data shards never refuse a mount (docs/mount.md "Missing data shards").
    with Mount(source, [], what=source) as m:
        view = {}
        for p, kind in walk(m.mnt).items():
            if kind != "file" or p.endswith((b".shape", b".dtype")) or p.startswith(b"by_name/"):
                continue  # sidecars, and by_name's links to the files walked here anyway
            try:
                view[os.getxattr(m.path(p), "user.ckpt.name")] = p
            except OSError as ex:
                # Only the generated files (variables.tsv, graph text, model.safetensors,
                # tf/'s bundle) carry no name; those of a damaged .meta fail with EIO
                # (docs/mount.md).
                check(ex.errno in (errno.ENODATA, errno.EIO)
                      and ((b"/" not in p and p.endswith((b".tsv", b".pbtxt", b".dot",
                                                          b".safetensors")))
                           or (ex.errno == errno.ENODATA and p.startswith(b"tf/")))
                      and (ex.errno == errno.ENODATA or p != b"variables.tsv"),
                      "%s: %r: user.ckpt.name: %s" % (source, p, ex))
        check(sorted(view) == sorted(rows), "%s: named files %d, index variables %d; only in "
              "the mount %r, only in the index %r" % (
                  source, len(view), len(rows), sorted(set(view) - set(rows))[:5],
                  sorted(set(rows) - set(view))[:5]))
        read_ok = 0
        for vname, p in sorted(view.items()):
            row = rows.get(vname)
            if row is None:
                continue
            try:
                with open(m.path(p), "rb") as f:
                    data = f.read()
            except OSError as ex:
                check(ex.errno == errno.EIO and row.shard is not None and row.shard not in shards,
                      "%s: %r: %s (shard %s present: %s)" % (source, vname, ex, row.shard,
                                                           row.shard in shards))
                continue
            read_ok += len(data) > 0
            if row.shard is None:
                if row.dtype != "string":
                    check(len(data) == row.nbytes, "%s: %r (sliced): %d bytes, want %d"
                          % (source, vname, len(data), row.nbytes))
                continue
            if not check(row.shard in shards, "%s: %r read although shard %d is missing"
                         % (source, vname, row.shard)):
                continue
            with open(shards[row.shard], "rb") as f:
                f.seek(row.offset)
                raw = f.read(row.nbytes)
            if row.dtype == "string":
                n = 1
                for d in row.shape:
                    n *= d
                els = decode_strings(raw, n)
                # A string tensor's CRC covers its lengths as fixed-width integers: re-encode.
                check(els is not None and tl.string_tensor_encoding(els) == (raw, row.crc),
                      "%s: %r: shard bytes at %d+%d are no string tensor with the stored CRC"
                      % (source, vname, row.offset, row.nbytes))
                check(els is not None and data == tl.text_form(els),
                      "%s: %r: text differs from the shard's elements" % (source, vname))
                continue
            check(len(raw) == row.nbytes and tl.crc32c(raw) == row.crc,
                  "%s: %r: shard bytes at %d+%d do not carry the stored CRC"
                  % (source, vname, row.offset, row.nbytes))
            check(data == raw, "%s: %r: %d bytes differ from the shard's"
                      % (source, vname, len(data)))
        if read_ok:
            check(m.data_reads() > 0, "%s: no data reads counted" % source)


def main():
    require_fuse()
    fx = fixtures()
    if not fx:
        print("SKIP: no fixtures with manifest.json in %s" % FIXTURES)
        return 77
    # One probe mount: if the kernel refuses FUSE mounts here, skip rather than fail; in CI
    # FUSE is required, so exit 6 fails there (it could be the daemon's bug, not the kernel).
    probe = tempfile.mkdtemp(prefix="ckptfs-probe-")
    r = subprocess.run([MOUNT, fx[0][1], probe], capture_output=True, timeout=60)
    unmount(probe)
    os.rmdir(probe)
    if r.returncode == EXIT_FUSE:
        testlib().missing("FUSE", "the probe mount exit %d: %s" % (
            EXIT_FUSE, r.stderr.decode(errors="replace").strip()))
    check(r.returncode == 0, "probe mount of %s exit %d: %s" % (
        fx[0][1], r.returncode, r.stderr.decode(errors="replace").strip()))
    only = os.environ.get("CKPT_ONLY")
    truths = {}
    for name, source, manifest in fx:
        if only and name != only:
            continue
        t0 = time.time()
        try:
            truths[name] = (source, check_fixture(name, source, manifest))
        except Exception as ex:  # a crash in one fixture must not hide the others
            check(False, "%s: %s: %s" % (name, type(ex).__name__, ex))
        print("fixture %s: checked in %.1f s" % (name, time.time() - t0), flush=True)
    if truths:
        big = max(truths, key=lambda k: sum(len(d) for d in truths[k][1].values()))
        stress(big, truths[big][0], truths[big][1], STRESS_SECONDS)
    with tempfile.TemporaryDirectory(prefix="ckptfs-err-") as tmp:
        check_errors(tmp)
    check_options(fx[0][1])
    real = real_v2_sources()
    if not real:
        testlib().missing("../shared/realckpt", "no real checkpoints at %r (CKPT_REALCKPT)"
                          % REALCKPT, whole=False)
    elif not check(CKPTFS and os.access(CKPTFS, os.X_OK), "CKPTFS=%r is no executable" % CKPTFS):
        real = []
    for source in real:
        try:
            check_real(source)
        except Exception as ex:
            check(False, "%s: %s: %s" % (source, type(ex).__name__, ex))
        print("real %s: checked" % source, flush=True)
    if failures:
        print("%d failure(s)" % len(failures))
        return 1
    print("all mount checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
