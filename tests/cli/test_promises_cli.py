#!/usr/bin/env python3
"""Promises of README.md and the man page that no other test held to (tests/README.md,
"Promises and their tests"):

- `ckptfs verify` exits 7 when a file of the checkpoint may not be read (README "Exit codes"),
  tried as uid 65534 on a copy whose data shard is mode 0000, and whose index is;
- a big-endian checkpoint (BundleHeaderProto.endianness = BIG) is refused with exit 3 and a
  message saying so, by `ls`, `cat` and `verify`;
- `cat --name-file -` reads the name from standard input, byte for byte (a name with a newline
  and a NUL, which no shell can pass).

Truth: files written here by tests/pylib/ckptwriter.py from the format rules (values chosen
here), the README's exit codes. Exit 0 pass, 1 fail, 77 skip (the uid part needs root and
setpriv: a SKIP-PART line; CI runs as root).
"""
import os
import shutil
import struct
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import ckpt_testlib as tl  # noqa: E402
import ckptwriter as cw  # noqa: E402

T = tl.Checks()
NOBODY = 65534
DT_FLOAT = 1


def write_ckpt(prefix, tensors, header=None):
    """A one-shard V2 checkpoint of float32 tensors {name (bytes): [values]}; header: the
    BundleHeaderProto to store (default: ckptwriter's little-endian one)."""
    data, ents = b"", [(b"", header if header is not None else cw.bundle_header(1))]
    for name, vals in tensors.items():
        b = struct.pack("<%df" % len(vals), *vals)
        ents.append((name, cw.bundle_entry(DT_FLOAT, [len(vals)], 0, len(data), len(b),
                                           cw.crc32c(b))))
        data += b
    cw.write(prefix + ".index", cw.table(sorted(ents)))
    cw.write(prefix + ".data-00000-of-00001", data)


def as_nobody(argv):
    return subprocess.run(["setpriv", "--reuid=%d" % NOBODY, "--regid=%d" % NOBODY,
                           "--clear-groups"] + argv, stdin=subprocess.DEVNULL,
                          capture_output=True, timeout=120)


def case_verify_unreadable(tmp):
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        tl.skip_part("verify exit 7: needs root and setpriv to act as uid %d" % NOBODY)
        return
    d = os.path.join(tmp, "unreadable")
    os.mkdir(d)
    os.chmod(tmp, 0o755)
    os.chmod(d, 0o755)
    prefix = os.path.join(d, "ck")
    write_ckpt(prefix, {b"a": [1.0, 2.0], b"b": [3.0]})
    os.chmod(prefix + ".index", 0o444)
    exe = tl.ckptfs_path()
    # First readable by uid 65534: exit 0, so the 7 below is the permission's doing.
    os.chmod(prefix + ".data-00000-of-00001", 0o444)
    r = as_nobody([exe, "verify", prefix])
    T.eq(r.returncode, 0, "verify as uid %d of a readable copy (%s)" % (NOBODY, r.stderr[-300:]))
    os.chmod(prefix + ".data-00000-of-00001", 0o000)
    r = as_nobody([exe, "verify", prefix])
    err = r.stderr.decode("utf-8", "replace")
    T.eq(r.returncode, 7, "verify with an unreadable data shard: exit (%s)" % err.strip())
    T.ok("data-00000-of-00001" in err and "Permission denied" in err,
         "verify names the unreadable shard and the reason: %r" % err)
    os.chmod(prefix + ".data-00000-of-00001", 0o444)
    os.chmod(prefix + ".index", 0o000)
    r = as_nobody([exe, "verify", prefix])
    err = r.stderr.decode("utf-8", "replace")
    T.eq(r.returncode, 7, "verify with an unreadable index: exit (%s)" % err.strip())
    T.ok("ck.index" in err and "Permission denied" in err,
         "verify names the unreadable index: %r" % err)


def case_big_endian(tmp):
    prefix = os.path.join(tmp, "big")
    # BundleHeaderProto: num_shards 1, endianness (field 2) BIG = 1, version {producer 1}.
    header = cw.field_varint(1, 1) + cw.field_varint(2, 1) + cw.field_bytes(3, cw.field_varint(1, 1))
    write_ckpt(prefix, {b"x": [1.0]}, header=header)
    for args in (["ls", "-l", prefix], ["cat", prefix, "x"], ["verify", prefix]):
        r = tl.ckptfs(*args)
        what = "big-endian: ckptfs %s" % args[0]
        T.eq(r.rc, 3, what + " exit")
        T.eq(r.out, b"", what + ": nothing on stdout")
        T.ok("big-endian" in r.err and "big.index" in r.err,
             "%s: the message names the file and says big-endian: %r" % (what, r.err))
    # The same file little-endian reads: the header's field is what is refused.
    write_ckpt(prefix, {b"x": [1.0]})
    r = tl.ckptfs("cat", prefix, "x")
    T.ok(r.rc == 0 and r.out == struct.pack("<f", 1.0), "little-endian twin reads: " + r.describe())


def case_name_file_stdin(tmp):
    prefix = os.path.join(tmp, "names")
    odd = b"line\nbreak\x00nul"
    write_ckpt(prefix, {odd: [4.0, 5.0], b"line": [6.0]})
    for opts in ([], ["--text"]):
        p = subprocess.run([tl.ckptfs_path(), "cat"] + opts + ["--name-file", "-", prefix],
                           input=odd, capture_output=True, timeout=60)
        # --text is numpy's own printing (README: `cat --text`); [4. 5.] is what
        # np.array2string(np.float32([4, 5]), floatmode='unique') gives.
        want = struct.pack("<2f", 4.0, 5.0) if not opts else b"[4. 5.]\n"
        what = "cat %s--name-file - (a name with a newline and a NUL)" % (
            "--text " if opts else "")
        T.eq(p.returncode, 0, what + ": exit (%s)" % p.stderr[-200:])
        T.eq(p.stdout, want, what + ": the variable's value")
    # Nothing stripped: the name with a trailing newline is another (absent) name.
    p = subprocess.run([tl.ckptfs_path(), "cat", "--name-file", "-", prefix],
                       input=b"line\n", capture_output=True, timeout=60)
    T.eq(p.returncode, 2, "cat --name-file - of 'line\\n' (no such variable): exit")


def main():
    tl.ckptfs_path()
    tmp = tempfile.mkdtemp(prefix="ckptfs-promises-")
    try:
        case_verify_unreadable(tmp)
        case_big_endian(tmp)
        case_name_file_stdin(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    T.summary()


if __name__ == "__main__":
    main()
