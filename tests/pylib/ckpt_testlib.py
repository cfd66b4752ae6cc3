"""Shared helpers for the Python test tiers (stdlib only).

Import with:  sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "pylib"))

What is here: where the binary and the test data are (env CKPTFS, CKPT_FIXTURES, CKPT_REALCKPT,
with defaults relative to the repository), skip(), skip_part(), and missing() / oracle() for
what CI requires (tests/README.md "Skips"), running `ckptfs` and parsing `ckptfs ls`,
the text form of string elements re-implemented from the spec in reader/format/tstring.h (not from the
C code), CRC-32C and the string-tensor encoding (defined in ckptwriter.py, re-exported here), and a
tiny check counter that ends with "N passed, N failed".
"""
import json
import os
import shutil
import subprocess
import tempfile
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
# The checksum rules live with the format writer; the tests reach them through this module too.
from ckptwriter import crc32c, crc_mask, string_tensor_encoding  # noqa: E402,F401

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

LS_HEADER = "name\tdtype\tshape\tbytes\tshard\toffset\tcrc32c"


# --------------------------------------------------------------------------------------------
# locations


def skip(msg):
    """Print "SKIP: msg" and exit 77 (ctest's SKIP_RETURN_CODE). scripts/skip_report.py lists
    it after the run; in CI it fails the run unless tests/skips-allowed.txt allows it."""
    print("SKIP: " + msg)
    sys.stdout.flush()
    sys.exit(77)


def in_ci():
    """True under CI (CI=true, which .ci/run sets): a required oracle or input that is missing
    fails there instead of skipping (tests/README.md "Skips")."""
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def missing(what, why, whole=True):
    """A required oracle or input (what: e.g. "tensorflow", "../shared/realckpt", "/dev/fuse")
    is absent. In CI: print "FAIL: ... required in CI" and exit 1. Elsewhere: skip the whole
    test (whole=True), or print "SKIP-PART: ..." and return so that the test goes on without
    the parts needing it."""
    if in_ci():
        print("FAIL: %s is required in CI (CI=%s) and is missing: %s"
              % (what, os.environ.get("CI"), why))
        sys.stdout.flush()
        sys.exit(1)
    if whole:
        skip("%s missing: %s" % (what, why))
    skip_part("%s missing: %s" % (what, why))


def skip_part(msg):
    """Leave out part of a test, visibly: "SKIP-PART: msg" on stdout, which
    scripts/skip_report.py lists with the skipped tests (and fails in CI unless allowed)."""
    print("SKIP-PART: " + msg)
    sys.stdout.flush()


# How each oracle is installed; scripts/deps.sh installs all of them and fails in CI when it
# cannot.
ORACLE_HINTS = {
    "tensorflow": "scripts/deps.sh --tf installs tensorflow-cpu",
    "numpy": "pip install numpy (scripts/deps.sh)",
    "moto": "pip install 'moto[server]' (scripts/deps.sh)",
    "boto3": "comes with moto[server] (scripts/deps.sh)",
    "safetensors": "pip install safetensors (scripts/deps.sh)",
    "tf_keras": "pip install tf-keras (scripts/deps.sh --tf)",
    "keras": "comes with TensorFlow (scripts/deps.sh --tf)",
    "ml_dtypes": "comes with TensorFlow (scripts/deps.sh --tf)",
    "crc32c": "pip install crc32c (scripts/deps.sh)",
}


def oracle(module, whole=True):
    """Import and return an oracle module (tensorflow, numpy, moto, safetensors, ...). When it
    does not import, or for tensorflow when CKPT_NO_TF=1: missing() (fails in CI; else skips
    the test, or with whole=False prints SKIP-PART and returns None)."""
    if module == "tensorflow" and os.environ.get("CKPT_NO_TF") == "1":
        missing(module, "CKPT_NO_TF=1", whole)
        return None
    try:
        return __import__(module)
    except Exception as e:  # noqa: BLE001 - TF raises more than ImportError when broken
        missing(module, "does not import (%s: %s); %s"
                % (type(e).__name__, str(e)[:200], ORACLE_HINTS.get(module, "pip install it")),
                whole)
        return None


def tf_importable():
    """Whether TensorFlow imports in a fresh python3 (for tests that run TF in a child process
    and stay light themselves). When not: missing("tensorflow", ..., whole=False), which fails
    in CI and elsewhere prints SKIP-PART, and False."""
    if os.environ.get("CKPT_NO_TF") == "1":
        missing("tensorflow", "CKPT_NO_TF=1", whole=False)
        return False
    r = subprocess.run([sys.executable, "-c", "import tensorflow"], stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=300)
    if r.returncode != 0:
        last = (r.stderr.decode("utf-8", "replace").strip().splitlines() or [""])[-1]
        missing("tensorflow", "does not import: %s; %s" % (last[:200], ORACLE_HINTS["tensorflow"]),
                whole=False)
        return False
    return True


def realckpt_required(root=None):
    """The real checkpoints' folder, or missing() when it is absent (fails in CI)."""
    root = root or realckpt_dir()
    if not os.path.isdir(root):
        missing("../shared/realckpt", "no real checkpoints at %s (set CKPT_REALCKPT)" % root)
    return root


def ckptfs_path():
    """The ckptfs binary: $CKPTFS, else build/ckptfs. Set but missing is a failure, not a skip."""
    env = os.environ.get("CKPTFS")
    path = env or os.path.join(REPO, "build", "ckptfs")
    if not os.access(path, os.X_OK):
        # Under ctest CKPTFS is always set, so a missing binary there is a failure.
        if env:
            print("FAIL: CKPTFS=%s is not an executable file" % env)
            sys.exit(1)
        skip("ckptfs binary not found at %s (set CKPTFS)" % path)
    return path


def fixtures_dir():
    return os.environ.get("CKPT_FIXTURES") or os.path.join(REPO, "tests", "fixtures")


def realckpt_dir():
    return os.environ.get("CKPT_REALCKPT") or os.path.join(os.path.dirname(REPO), "shared",
                                                           "realckpt")


def fixture_cases(root=None):
    """[(case_dir, manifest)] for every tests/fixtures/<case>/manifest.json, sorted by case."""
    root = root or fixtures_dir()
    out = []
    for case in sorted(os.listdir(root)):
        mpath = os.path.join(root, case, "manifest.json")
        if os.path.isfile(mpath):
            with open(mpath, encoding="utf-8") as f:
                m = json.load(f)
            # Other fixture kinds may keep their own manifest format: only checkpoint ones.
            if isinstance(m, dict) and "prefix" in m and "variables" in m:
                out.append((os.path.join(root, case), m))
    return out


def graph_fixture_cases(root=None):
    """[(case name, source to give ckptfs, case dir)] for every tests/fixtures/graphs/<case>/:
    the SavedModel directory `model/`, else the prefix `model.ckpt`, else `ckpt`."""
    root = os.path.join(root or fixtures_dir(), "graphs")
    out = []
    for name in sorted(os.listdir(root)):
        d = os.path.join(root, name)
        if not os.path.isdir(d):
            continue
        if os.path.exists(os.path.join(d, "model", "saved_model.pb")):
            src = os.path.join(d, "model")
        elif os.path.exists(os.path.join(d, "model.ckpt.index")):
            src = os.path.join(d, "model.ckpt")
        else:
            src = os.path.join(d, "ckpt")
        out.append((name, src, d))
    return out


# --------------------------------------------------------------------------------------------
# waiting and private mount namespaces


def wait_until(pred, timeout, what=None, interval=0.02):
    """Synchronisation on a condition, never on a fixed sleep: pred()'s first true value, polled
    every `interval` s until `timeout` s have passed; then pred()'s last value (false). With
    `what`, a timeout prints "note: waited N s for WHAT" (the caller's check says what failed).

    For a negative check (something must not happen) wait instead for a condition showing that
    it would have happened by now, e.g. a control that lacks only what should prevent it."""
    end = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() >= end:
            v = pred()
            if not v and what:
                print("note: waited %.1f s for %s: not reached" % (timeout, what))
                sys.stdout.flush()
            return v
        time.sleep(interval)


# The top of /dev rebuilt on a private tmpfs, every entry but sockets and log (the host's
# /dev/log, or a link to journald's) bound to the host's own, links copied; then the tmpfs
# moved over /dev. Run by sh inside the namespace.
_PRIVATE_DEV_SH = r"""
set -e
d="$1"
mount -t tmpfs -o mode=755,nosuid ckpt-test-dev "$d"
for f in /dev/* /dev/.[!.]*; do
    [ -e "$f" ] || [ -L "$f" ] || continue
    n="${f#/dev/}"
    [ "$n" = log ] && continue  # the host's logger (a socket, or a link to one): left out
    if [ -L "$f" ]; then cp -P "$f" "$d/$n"
    elif [ -S "$f" ]; then continue
    elif [ -d "$f" ]; then mkdir "$d/$n"; mount --rbind "$f" "$d/$n"
    else : > "$d/$n"; mount --bind "$f" "$d/$n"
    fi
done
mount --move "$d" /dev
"""


class MountNamespace:
    """A private mount namespace (`unshare --mount --propagation private`) held open by a
    sleeping child: what is mounted in it (a FUSE mount, a file bound over /dev/fuse or
    /dev/log) is seen only by the processes run in it with run(), through nsenter. Needs root
    and util-linux; `usable()` says why not. Entering resets the working directory to /: give
    absolute paths. close() detaches what was mounted in it (a FUSE daemon left there would
    keep the namespace alive), then ends the holder."""

    @staticmethod
    def usable():
        """None when a private mount namespace can be made here, else why not."""
        if os.geteuid() != 0:
            return "not root"
        for tool in ("unshare", "nsenter", "mount"):
            if not shutil.which(tool):
                return "no %s (util-linux)" % tool
        return None

    def __init__(self):
        self.proc = subprocess.Popen(
            ["unshare", "--mount", "--propagation", "private", "--",
             "sh", "-c", "echo ready; exec sleep 100000"],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        # unshare execs sh in the new namespace: once sh speaks, entering pid enters it.
        line = self.proc.stdout.readline()
        if line.strip() != b"ready":
            err = self.proc.stderr.read().decode("utf-8", "replace").strip()
            self.proc.wait()
            raise RuntimeError("unshare --mount failed: %s" % err[-300:])
        self.pid = self.proc.pid
        self.initial = {m[1] for m in self.mounts()}

    def argv(self, args, uid=None):
        """args as run inside the namespace (as uid, with that uid as its group, when given)."""
        pre = ["nsenter", "-t", str(self.pid), "-m", "--"]
        if uid is not None:
            pre += ["setpriv", "--reuid=%d" % uid, "--regid=%d" % uid, "--clear-groups"]
        return pre + list(args)

    def run(self, args, uid=None, timeout=60, **kw):
        """subprocess.run of args inside the namespace; stdout and stderr captured."""
        return subprocess.run(self.argv(args, uid), stdin=subprocess.DEVNULL,
                              capture_output=True, timeout=timeout, **kw)

    def must(self, args, what):
        r = self.run(args)
        if r.returncode != 0:
            raise RuntimeError("in the private namespace, %s: %s exit %d: %s" % (
                what, " ".join(args), r.returncode, r.stderr.decode("utf-8", "replace").strip()))
        return r

    def mounts(self):
        """[(source, mountpoint, fstype, options)] as the namespace sees them."""
        with open("/proc/%d/mounts" % self.pid) as f:
            return [tuple(line.split()[:4]) for line in f]

    def is_mounted(self, mnt):
        return any(m[1] == mnt for m in self.mounts())

    def private_dev(self, scratch):
        """Give the namespace its own /dev: a tmpfs (mounted at the empty directory `scratch`,
        then moved) holding the host's devices and directories bound in, without the host's
        sockets, so that /dev/log is free for bind_file()."""
        self.must(["sh", "-c", _PRIVATE_DEV_SH, "sh", scratch], "a private /dev")

    def bind_file(self, src, dst):
        """Bind src (a file, device node or socket) over dst, making an empty dst first when
        it is missing (on the namespace's private /dev: see private_dev)."""
        self.must(["sh", "-c", '[ -e "$2" ] || : > "$2"; mount --bind "$1" "$2"', "sh", src, dst],
                  "binding %s over %s" % (src, dst))

    def close(self):
        """Detach (umount -l, newest first) every FUSE mount made in the namespace, so that no
        daemon is left in it (it would keep the namespace alive), then end the holder; the
        namespace's other mounts go with it."""
        try:
            for m in reversed(self.mounts()):
                if m[2].startswith("fuse") and m[1] not in self.initial:
                    self.run(["umount", "-l", m[1]])
        except (OSError, subprocess.TimeoutExpired):
            pass
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.proc.stdout.close()
        self.proc.stderr.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


# --------------------------------------------------------------------------------------------
# running ckptfs


class Result:
    def __init__(self, argv, rc, out, err):
        self.argv, self.rc, self.out, self.err = argv, rc, out, err

    def describe(self):
        a = " ".join(repr(x) if isinstance(x, bytes) else str(x) for x in self.argv)
        return "`%s` exit %s; stderr: %s" % (a, self.rc, self.err.strip()[:500])


def flip_byte(path, offset, mask=0x5A):
    """XOR the byte at offset of path with mask (a second call undoes it): damage that no
    checksum can miss."""
    with open(path, "r+b") as f:
        f.seek(offset)
        b = f.read(1)
        f.seek(offset)
        f.write(bytes([b[0] ^ mask]))


def run(argv, timeout=120):
    """Run argv (items str or bytes); stdout as bytes, stderr decoded leniently."""
    try:
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        return Result(argv, "timeout", e.stdout or b"", (e.stderr or b"").decode("utf-8", "replace")
                      + " [timed out after %ss]" % timeout)
    return Result(argv, p.returncode, p.stdout, p.stderr.decode("utf-8", "replace"))


def ckptfs(*args, timeout=120):
    return run([ckptfs_path()] + list(args), timeout=timeout)


def ckptfs_on_pty(*args, timeout=120):
    """`ckptfs args` with its stderr on a pseudo-terminal (where progress bars are drawn) and
    stdout on a pipe: a Result, stderr as the terminal received it."""
    import pty
    import select
    argv = [ckptfs_path()] + list(args)
    master, slave = pty.openpty()
    with tempfile.TemporaryFile() as out:
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=slave)
        os.close(slave)
        err = b""
        while True:
            r, _, _ = select.select([master], [], [], timeout)
            if not r:
                break
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the slave side closed
                break
            if not chunk:
                break
            err += chunk
        os.close(master)
        try:
            rc = p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            rc = "timeout"
        out.seek(0)
        return Result(argv, rc, out.read(), err.decode("utf-8", "replace"))


def cat_variable(source, name, *opts):
    """`ckptfs cat [opts]` of variable name (bytes or str): as an argument when a shell can
    pass it, after `--` when it starts with '-', by --name-file (the raw bytes of the name)
    when it holds a NUL (docs: `ckptfs cat --help`)."""
    name = name if isinstance(name, bytes) else name.encode("utf-8", "surrogateescape")
    if b"\0" in name:
        with tempfile.NamedTemporaryFile() as f:
            f.write(name)
            f.flush()
            return ckptfs("cat", *opts, "--name-file", f.name, source)
    if name.startswith(b"-"):
        return ckptfs("cat", *opts, "--", source, name)
    return ckptfs("cat", *opts, source, name)


class LsRow:
    __slots__ = ("name", "dtype", "shape", "nbytes", "shard", "offset", "crc", "full_name")

    def __repr__(self):
        return "LsRow(%r, %s, %s, %d bytes, shard %s, offset %s, crc %s)" % (
            self.name, self.dtype, self.shape, self.nbytes, self.shard, self.offset,
            "-" if self.crc is None else "%08x" % self.crc)


def parse_shape(text):
    """"[784, 10]" -> [784, 10]; "[]" -> []."""
    if not (text.startswith("[") and text.endswith("]")):
        raise ValueError("bad shape %r" % text)
    inner = text[1:-1].strip()
    return [int(x) for x in inner.split(", ")] if inner else []


def parse_du(out):
    """Parse `ckptfs du` stdout (bytes): ({prefix: (bytes, variables)}, (bytes, variables,
    b"total")) from its rows and its last line; prefixes unescaped to bytes."""
    lines = out.split(b"\n")[:-1]
    rows = {}
    for ln in lines[:-1]:
        size, nvars, pfx = ln.split(b"\t", 2)
        rows[unescape(pfx)] = (int(size), int(nvars))
    size, nvars, word = lines[-1].split(b"\t")
    return rows, (int(size), int(nvars), word)


def parse_ls(out):
    """Parse `ckptfs ls` stdout (bytes) into [LsRow]; names are unescaped to bytes.

    Raises ValueError on any deviation from the documented format.
    """
    if not out.endswith(b"\n"):
        raise ValueError("ls output does not end with a newline")
    lines = out[:-1].split(b"\n")
    # A TF 2 checkpoint's table has an eighth column, full_name (docs/mount.md).
    tf2 = lines[0].decode("utf-8") == LS_HEADER + "\tfull_name"
    if lines[0].decode("utf-8") != LS_HEADER and not tf2:
        raise ValueError("ls header is %r" % lines[0])
    rows = []
    for ln in lines[1:]:
        f = ln.split(b"\t")
        if len(f) != (8 if tf2 else 7):
            raise ValueError("ls line with %d fields: %r" % (len(f), ln))
        r = LsRow()
        r.full_name = (None if f[7] == b"-" else unescape(f[7])) if tf2 else None
        r.name = unescape(f[0])
        r.dtype = f[1].decode("ascii")
        r.shape = parse_shape(f[2].decode("ascii"))
        r.nbytes = int(f[3])
        # A tensor stored as slices has no single location: "-" in all three columns.
        if f[4] == f[5] == f[6] == b"-":
            r.shard = r.offset = r.crc = None
        else:
            r.shard, r.offset = int(f[4]), int(f[5])
            if len(f[6]) != 8 or f[6] != f[6].lower():
                raise ValueError("crc32c field %r is not 8 lowercase hex digits" % f[6])
            r.crc = int(f[6], 16)
        rows.append(r)
    return rows


# --------------------------------------------------------------------------------------------
# text form of string elements (reader/format/tstring.h)


def _utf8_len(s, i):
    """Length of the valid UTF-8 sequence starting at s[i], or 0 if none starts there."""
    b = s[i]
    if 0xC2 <= b <= 0xDF:
        n = 2
    elif 0xE0 <= b <= 0xEF:
        n = 3
    elif 0xF0 <= b <= 0xF4:
        n = 4
    else:
        return 0
    try:
        s[i:i + n].decode("utf-8", "strict")  # strict: rejects overlongs, surrogates, > U+10FFFF
    except UnicodeDecodeError:
        return 0
    return n if i + n <= len(s) else 0


_SIMPLE = {0x5C: b"\\\\", 0x0A: b"\\n", 0x0D: b"\\r", 0x09: b"\\t"}


def escape(s):
    """One element (bytes) -> its escaped text form, without the trailing newline."""
    out = bytearray()
    i = 0
    while i < len(s):
        b = s[i]
        if b in _SIMPLE:
            out += _SIMPLE[b]
            i += 1
        elif b < 0x20 or b == 0x7F:
            out += b"\\x%02x" % b
            i += 1
        elif b < 0x80:
            out.append(b)
            i += 1
        else:
            n = _utf8_len(s, i)
            if n:
                out += s[i:i + n]
                i += n
            else:
                out += b"\\x%02x" % b
                i += 1
    return bytes(out)


def unescape(t):
    """Escaped text (bytes, one line without newline) -> element bytes; ValueError if malformed."""
    out = bytearray()
    i = 0
    while i < len(t):
        b = t[i]
        if b != 0x5C:
            out.append(b)
            i += 1
            continue
        if i + 1 >= len(t):
            raise ValueError("dangling backslash in %r" % t)
        c = t[i + 1:i + 2]
        if c in (b"\\", b"n", b"r", b"t"):
            out += {b"\\": b"\\", b"n": b"\n", b"r": b"\r", b"t": b"\t"}[c]
            i += 2
        elif c == b"x":
            hx = t[i + 2:i + 4]
            if len(hx) != 2 or any(h not in b"0123456789abcdef" for h in hx):
                raise ValueError("bad \\x escape in %r" % t)
            out.append(int(hx, 16))
            i += 4
        else:
            raise ValueError("unknown escape \\%s in %r" % (c.decode("latin-1"), t))
    return bytes(out)


def text_form(elements):
    """The whole `ckptfs cat` output expected for a string tensor's elements."""
    return b"".join(escape(e) + b"\n" for e in elements)


# --------------------------------------------------------------------------------------------
# checks


class Checks:
    """Counts checks; summary() prints failures, "N passed, N failed" and exits 0 or 1."""

    def __init__(self, max_report=60):
        self.passed = 0
        self.failed = 0
        self.max_report = max_report

    def ok(self, cond, msg):
        if cond:
            self.passed += 1
        else:
            self.failed += 1
            if self.failed <= self.max_report:
                print("FAIL: " + msg)
            elif self.failed == self.max_report + 1:
                print("FAIL: (further failures not shown)")
        return bool(cond)

    def eq(self, got, want, msg):
        return self.ok(got == want, "%s: got %s, want %s" % (msg, _short(got), _short(want)))

    def summary(self):
        print("%d passed, %d failed" % (self.passed, self.failed))
        sys.stdout.flush()
        sys.exit(1 if self.failed or not self.passed else 0)


def _short(v, n=300):
    r = repr(v)
    return r if len(r) <= n else r[:n] + "...(%d chars)" % len(r)
