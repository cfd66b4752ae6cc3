#!/usr/bin/env python3
"""Lost output is a failure (issue 23, finding 5).

Every command that prints (`ls`, `ls -l`, `ls --json`, `cat`, `cat --text`, `diff`, `verify`,
`graph` in each format, `--help`, `--version`) run with stdout on /dev/full (every write fails
with ENOSPC) must exit 7 with a message on stderr, where the same command with stdout on a pipe
succeeds (exit 0, or 1 for a `diff` that finds changes) and prints something: the truth is the
command's own exit status when its output can be written, and the kernel's ENOSPC.

Exit 0 pass, 1 fail, 77 skip (no ckptfs, no /dev/full, no fixtures).
"""
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import ckpt_testlib as T  # noqa: E402


def main():
    exe = T.ckptfs_path()
    if not os.path.exists("/dev/full"):
        T.skip("no /dev/full")
    fx = T.fixtures_dir()
    sample = os.path.join(fx, "sample", "model.ckpt")
    folder = os.path.join(fx, "folder")
    if not os.path.isdir(folder) or not os.path.exists(sample + ".index"):
        T.skip("fixtures missing under %s" % fx)
    cases = [
        ["ls", sample], ["ls", "-l", sample], ["ls", "--json", sample],
        ["cat", sample, "dense/bias"], ["cat", "--text", sample, "dense/bias"],
        ["diff", os.path.join(folder, "model.ckpt-10"), os.path.join(folder, "model.ckpt-20")],
        ["diff", sample, sample],
        ["verify", sample], ["verify", folder],
        ["graph", sample], ["graph", sample, "--format", "dot"],
        ["graph", sample, "--format", "meta"],
        ["ls", "--help"], ["--help"], ["--version"],
    ]
    c = T.Checks()
    for args in cases:
        what = "ckptfs " + " ".join(os.path.relpath(a, fx) if a.startswith(fx) else a for a in args)
        ok = subprocess.run([exe] + args, stdin=subprocess.DEVNULL, capture_output=True, timeout=120)
        c.ok(ok.returncode in (0, 1) and ok.stdout,
             "%s to a pipe: exit %d, %d bytes (the reference run)" % (what, ok.returncode,
                                                                      len(ok.stdout)))
        with open("/dev/full", "wb") as full:
            r = subprocess.run([exe] + args, stdin=subprocess.DEVNULL, stdout=full,
                               stderr=subprocess.PIPE, timeout=120)
        err = r.stderr.decode("utf-8", "replace").strip()
        c.ok(r.returncode == 7 and err.startswith("ckptfs: "),
             "%s >/dev/full: exit %d (want 7) with a message: %r" % (what, r.returncode, err[-200:]))
    c.summary()


if __name__ == "__main__":
    main()
