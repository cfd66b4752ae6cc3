#!/usr/bin/env python3
"""valgrind memcheck on the command over every fixture (issue 11).

Every fixture (checkpoints, the training folder, SavedModels, graph fixtures) goes through
`ckptfs ls -l`, `ckptfs verify` (which reads every tensor and checks every stored checksum),
`ckptfs stats` (every tensor's values), `ckptfs graph` where the fixture has a graph, `cat`
and `cat --text` of its first variables, `du --by-name`, `ls -l -h --sort=size` and `diff`
(plain, and with tolerances and --summary) of two steps of the folder, each under memcheck. The truth is valgrind's own
report: no invalid read or write, no use of uninitialised memory, nothing definitely or
indirectly lost at exit. (The sanitizer builds catch most of this too; memcheck needs no
rebuild and checks the plain, optimised binary that is shipped.)

Each command's exit status is checked too (README "Exit codes"). Exit 0 pass, 1 fail, 77 skip
(no valgrind; in CI that fails).
"""
import concurrent.futures
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import ckpt_testlib as T  # noqa: E402

VALGRIND = ["valgrind", "--tool=memcheck", "--error-exitcode=99", "--leak-check=full",
            "--errors-for-leak-kinds=definite,indirect", "--show-leak-kinds=definite,indirect",
            "--track-origins=no", "--quiet"]
# Variables cat'ed (with and without --text) per checkpoint, besides one with an odd name;
# verify and stats read them all. (Three took a minute more of CI's 20.)
CAT_PER_FIXTURE = 1


# Runs are independent: two at a time (ckpt_testlib's Checks is only touched by the main
# thread), which halves this test, the longest of the plain tier.
POOL = concurrent.futures.ThreadPoolExecutor(max_workers=2)
PENDING = []


def run_valgrind(argv):
    p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, timeout=600)
    return p.returncode, p.stderr.decode("utf-8", "replace")


def memcheck(checks, *args, status=0, cleanup=None):
    """Queue ckptfs args under memcheck; settle() checks that valgrind reports nothing and
    ckptfs exits with status (the README's exit codes: every fixture is intact, so 0, or 1 for
    a `diff` of two steps; a tuple: any of those). cleanup runs once the run is done."""
    argv = VALGRIND + [T.ckptfs_path()] + list(args)
    PENDING.append((POOL.submit(run_valgrind, argv), args, status, cleanup))


def settle(checks):
    for fut, args, status, cleanup in PENDING:
        rc, err = fut.result()
        if cleanup:
            cleanup()
        check_one(checks, args, status, rc, err)
    PENDING.clear()


def check_one(checks, args, status, returncode, err):
    clean = returncode != 99 and "Invalid" not in err and "uninitialised" not in err
    checks.ok(clean, "memcheck clean: ckptfs %s" % " ".join(args)
                 + ("" if clean else "\n" + err[-3000:]))
    want = status if isinstance(status, tuple) else (status,)
    checks.ok(returncode == 99 or returncode in want, "ckptfs %s under memcheck exit %d, "
              "want %s: %s" % (" ".join(args), returncode, want, err[-500:]))


def sources():
    """(source, graph?, first variable names) of every fixture."""
    out = []
    for case_dir, m in T.fixture_cases():
        prefix = os.path.join(case_dir, m["prefix"])
        # The text renderers are the risky readers: a string or variant tensor where there is
        # one, and a name with control or non-ASCII bytes (a NUL: --name-file) where there is.
        vs = m["variables"]
        text = [v["name"] for v in vs if v.get("dtype") in ("string", "variant")]
        odd = [v["name"] for v in vs if any(ord(c) < 32 or ord(c) > 126 for c in v["name"])]
        names = (text or [v["name"] for v in vs])[:CAT_PER_FIXTURE]
        names += [n for n in odd[:1] if n not in names]
        out.append((prefix, os.path.exists(prefix + ".meta"), names))
    folder = os.path.join(T.fixtures_dir(), "folder")
    out.append((folder, False, []))
    for sm in ("tf1", "tf2", "const"):
        out.append((os.path.join(T.fixtures_dir(), "savedmodel", sm), True, []))
    for _, src, _ in T.graph_fixture_cases():
        out.append((src, True, []))
    return out


def main():
    T.ckptfs_path()
    if not shutil.which("valgrind"):
        T.missing("valgrind", "not installed (scripts/deps.sh installs it)")
    checks = T.Checks()
    for src, graph, names in sources():
        memcheck(checks, "ls", "-l", src)
        memcheck(checks, "verify", src)
        memcheck(checks, "stats", src)
        if graph:
            # A checkpoint with an object graph and no .meta has only the objects format; the
            # default format refuses it with exit 2 ("the checkpoint has no graph").
            if os.path.exists(src + ".index") and not os.path.exists(src + ".meta"):
                memcheck(checks, "graph", "--format", "objects", src)
            else:
                memcheck(checks, "graph", src)
        for n in names:
            # Names may hold any byte (a NUL too): given through --name-file.
            with tempfile.NamedTemporaryFile("wb", delete=False) as f:
                f.write(n.encode("utf-8", "surrogateescape"))
            memcheck(checks, "cat", "--name-file", f.name, src)
            memcheck(checks, "cat", "--text", "--name-file", f.name, src,
                     cleanup=lambda path=f.name: os.unlink(path))
    folder = os.path.join(T.fixtures_dir(), "folder")
    # Two steps of a training run differ: diff's exit 1 (README "Exit codes").
    memcheck(checks, "diff", os.path.join(folder, "model.ckpt-10"),
             os.path.join(folder, "model.ckpt-30"), status=1)
    # With tolerances the steps may or may not count as equal: either documented status.
    memcheck(checks, "diff", "--atol", "0.1", "--rtol", "0.01", "--equal-nan", "--summary", "2",
             os.path.join(folder, "model.ckpt-10"), os.path.join(folder, "model.ckpt-30"),
             status=(0, 1))
    cases = dict(T.fixture_cases())
    keras = os.path.join(T.fixtures_dir(), "keras_tf2")
    for src in [os.path.join(keras, cases[keras]["prefix"])] * (keras in cases) + [folder]:
        memcheck(checks, "du", "--by-name", "--depth", "2", "-h", "--sort=size", src)
        memcheck(checks, "ls", "-l", "-h", "--sort=size", src)
    settle(checks)
    checks.summary()


if __name__ == "__main__":
    sys.exit(main())
