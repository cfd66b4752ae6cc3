#!/usr/bin/env python3
"""The benchmark's tools work, untimed (the benchmark itself is run by hand: docs/PERFORMANCE.md).

- scripts/bench/run.py parses its arguments (--quick, --only with commas or spaces, unknown
  cases refused) without running anything;
- scripts/bench/minfuse.c compiles as C11 with -Wall -Wextra -Werror (when cc and fuse3's
  pkg-config are here);
- scripts/synthckpt.py --scalar --shards --tensor writes what was asked: truth is the request
  itself (names, shapes [], sizes, shard k mod N), read back with `ckptfs ls -l`, and the
  tensor bytes recomputed here (0..255 repeating) against `ckptfs cat`.
"""
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "pylib"))
import ckpt_testlib as tl  # noqa: E402

T = tl.Checks()
SRC = os.environ.get("CKPT_SOURCE_DIR") or os.path.join(HERE, "..", "..")


def load_run():
    spec = importlib.util.spec_from_file_location("bench_run", os.path.join(
        SRC, "scripts", "bench", "run.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def check_args():
    run = load_run()
    a = run.parse_args(["--quick", "--only", "read,fio", "--rounds", "4"])
    T.ok(a.quick, "--quick parsed")
    T.eq(a.cases, ["read", "fio"], "--only with a comma")
    T.eq(a.rounds, 4, "--rounds")
    T.eq(run.parse_args([]).cases, list(run.CASES), "no --only: every case")
    T.eq(set(run.RUNNERS), set(run.CASES), "every case has a runner")
    T.eq(set(run.TITLES), set(run.CASES), "every case has a title")
    with open(os.devnull, "w") as null:
        err, sys.stderr = sys.stderr, null
        try:
            run.parse_args(["--only", "nosuchcase"])
            refused = False
        except SystemExit as e:
            refused = e.code == 2
        finally:
            sys.stderr = err
    T.ok(refused, "an unknown case is a usage error")


def check_minfuse():
    cc = shutil.which(os.environ.get("CC", "cc"))
    pc = subprocess.run(["pkg-config", "--cflags", "--libs", "fuse3"], capture_output=True,
                        text=True) if shutil.which("pkg-config") else None
    if not cc or not pc or pc.returncode:
        print("minfuse not compiled: no cc or no fuse3 pkg-config")
        return
    with tempfile.TemporaryDirectory(prefix="minfuse_") as d:
        r = subprocess.run([cc, "-std=c11", "-O2", "-Wall", "-Wextra", "-Werror", "-o",
                            os.path.join(d, "minfuse"),
                            os.path.join(SRC, "scripts", "bench", "minfuse.c")]
                           + pc.stdout.split(), capture_output=True, text=True)
        T.ok(r.returncode == 0, "minfuse.c compiles warning-free: " + r.stderr[-2000:])


def check_synth():
    with tempfile.TemporaryDirectory(prefix="synth_") as d:
        prefix = os.path.join(d, "m")
        r = subprocess.run([sys.executable, os.path.join(SRC, "scripts", "synthckpt.py"), prefix,
                            "--vars", "7", "--scalar", "--shards", "3", "--tensor", "t/a=1",
                            "--tensor", "b=2", "--tensor", "c=1"], capture_output=True)
        if not T.ok(r.returncode == 0, "synthckpt runs: %r" % r.stderr[-500:]):
            return
        for k in range(3):
            T.ok(os.path.isfile("%s.data-%05d-of-00003" % (prefix, k)), "shard %d written" % k)
        rows = {x.name: x for x in tl.parse_ls(tl.ckptfs("ls", "-l", prefix).out)}
        T.eq(len(rows), 10, "7 scalars and 3 tensors")
        scalars = [x for x in rows.values() if x.name.startswith(b"model/")]
        T.eq(len(scalars), 7, "the scalars")
        T.ok(all(x.shape == [] and x.dtype == "float32" and x.nbytes == 4 for x in scalars),
             "every --scalar variable is a float32 of shape []")
        for j, (name, mib) in enumerate(((b"t/a", 1), (b"b", 2), (b"c", 1))):
            x = rows.get(name)
            if not T.ok(x is not None, "tensor %r listed" % name):
                continue
            T.eq((x.dtype, x.shape, x.shard), ("uint8", [mib << 20], j % 3),
                 "tensor %r: dtype, shape, shard k mod 3" % name)
        got = tl.ckptfs("cat", prefix, "b").out
        T.eq(got == bytes(range(256)) * (2 << 12), True, "tensor b is 0..255 repeating")


def main():
    check_args()
    check_minfuse()
    check_synth()  # tl.ckptfs_path() skips the test when there is no binary
    T.summary()


if __name__ == "__main__":
    main()
