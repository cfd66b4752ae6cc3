#!/usr/bin/env python3
"""`-o stats` on real FUSE mounts: the root stats.tsv and NAME.stats beside each numeric
variable (docs/mount.md, "stats.tsv").

Truth: numpy's statistics (tests/pylib/stats_oracle.py, the rules of docs/format.md) of the
bytes each variable's own file serves in the same mount, read with numpy.frombuffer in the
dtype its .dtype sidecar names; the byte the test flips in a copied checkpoint (stats.tsv must
then fail with EIO, never show numbers of damaged bytes); the data shard the test deletes.

Also: without -o stats there is no stats.tsv; its size is right at the first stat; both kinds
of file are computed once per mount (a second read after drop_caches reads no tensor).

Exit 0 pass, 1 fail, 77 skip (no FUSE or no numpy).
"""
import errno
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import test_mount as tm  # noqa: E402
import stats_oracle as so  # noqa: E402

check = tm.check
NUMPY = {"float16": "<f2", "float32": "<f4", "float64": "<f8", "int8": "i1", "int16": "<i2",
         "int32": "<i4", "int64": "<i8", "uint8": "u1", "uint16": "<u2", "uint32": "<u4",
         "uint64": "<u8", "bool": "?", "complex64": "<c8", "complex128": "<c16"}


class Checks:
    """The stats oracle's counter, on test_mount's check()."""

    def ok(self, cond, msg):
        check(cond, msg)
        return bool(cond)

    def eq(self, got, want, msg):
        return self.ok(got == want, "%s: got %r, want %r" % (msg, got, want))


T = Checks()


def file_values(np, mnt, name, dtype_text, shape):
    """The array a variable's file in the mount holds, in numpy's dtype for it; None for a
    dtype numpy lacks."""
    descr = NUMPY.get(dtype_text)
    if descr is None:
        return None
    path = os.path.join(mnt, name)
    if os.path.isdir(path):
        path += ".raw"
    with open(path, "rb") as f:
        return np.frombuffer(f.read(), dtype=descr).reshape(shape)


def check_source(np, label, source, manifest):
    with tm.Mount(source, ["-o", "stats"], what=label + " -o stats") as m:
        p = os.path.join(m.mnt, "stats.tsv")
        size = os.stat(p).st_size
        with open(p, "rb") as f:
            text = f.read()
        check(len(text) == size, "%s: stats.tsv size %d at first stat, %d read" % (label, size, len(text)))
        rows = so.parse_tsv(T, text)
        truths, dtypes = {}, {}
        for v in manifest["variables"]:
            if v["dtype"] not in NUMPY:
                continue
            x = file_values(np, m.mnt, v["name"], v["dtype"], v["shape"])
            key = v["name"].encode()
            truths[key] = x
            dtypes[key] = v["dtype"]
        so.check_rows(T, label, {n: f for n, f in rows.items() if n in truths}, truths, dtypes)
        print("%s: %d of %d rows checked against numpy" % (label, len(truths), len(rows)), flush=True)
        # NAME.stats beside each variable with a fixed-size dtype: the same header and that
        # variable's row, against numpy of the variable's own file; its size true at first stat.
        tm.expected_view(manifest["variables"])  # sets each variable's file path, "_path"
        nstats = 0
        for v in manifest["variables"]:
            base = v["_path"][:-4] if v["_path"].endswith(b".raw") else v["_path"]
            sp = os.path.join(os.fsencode(m.mnt), base + b".stats")
            fixed = v["dtype"] not in ("string", "variant", "resource")
            if not check(os.path.exists(sp) == fixed, "%s: %r exists: %s" % (label, sp, os.path.exists(sp))):
                continue
            if not fixed:
                continue
            size = os.stat(sp).st_size
            with open(sp, "rb") as f:
                one = f.read()
            check(len(one) == size, "%s: %r size %d at first stat, %d read" % (label, sp, size, len(one)))
            got = so.parse_tsv(T, one)
            key = v["name"].encode()
            check(list(got) == [key], "%s: %r names %r" % (label, sp, list(got)))
            if key in truths:
                so.check_rows(T, label + " .stats", got, {key: truths[key]}, {key: dtypes[key]})
                nstats += 1
        print("%s: %d NAME.stats files checked against numpy" % (label, nstats), flush=True)
        check(sorted(rows) == sorted(v["name"].encode() for v in manifest["variables"]),
              "%s: stats.tsv has a row for every variable" % label)
    with tm.Mount(source, [], what=label) as m:
        check(not os.path.exists(os.path.join(m.mnt, "stats.tsv")),
              "%s: no stats.tsv without -o stats" % label)
        some = [v for v in manifest["variables"] if v["dtype"] in NUMPY][:1]
        tm.expected_view(manifest["variables"])
        for v in some:
            base = v["_path"][:-4] if v["_path"].endswith(b".raw") else v["_path"]
            check(not os.path.exists(os.path.join(os.fsencode(m.mnt), base + b".stats")),
                  "%s: no NAME.stats without -o stats" % label)


def check_damaged(tmp):
    """A flipped byte in a tensor: stats.tsv fails with EIO (the mount's usual checks)."""
    src = os.path.join(fixtures_root(), "sample")
    d = os.path.join(tmp, "damaged")
    shutil.copytree(src, d)
    data = os.path.join(d, "model.ckpt.data-00000-of-00001")
    with open(data, "r+b") as f:
        f.seek(200)  # a data file is tensors back to back: every byte is some tensor's
        b = f.read(1)
        f.seek(200)
        f.write(bytes([b[0] ^ 0x40]))
    with tm.Mount(os.path.join(d, "model.ckpt"), ["-o", "stats"], what="damaged -o stats") as m:
        try:
            with open(os.path.join(m.mnt, "stats.tsv"), "rb") as f:
                f.read()
            check(False, "stats.tsv of a damaged checkpoint was served")
        except OSError as e:
            check(e.errno == errno.EIO, "stats.tsv of a damaged checkpoint: %s, want EIO" % e)
        # The damaged variable's NAME.stats fails the same way (which variable holds byte 200
        # is read from the index; the bytes are not trusted, the EIO is the check).
        lines = subprocess.run([tm.CKPTFS, "ls", "-l", os.path.join(d, "model.ckpt")],
                               capture_output=True, text=True).stdout.splitlines()[1:]
        hit = [r.split("\t") for r in lines
               if r.split("\t")[4].isdigit() and int(r.split("\t")[5]) <= 200 < int(r.split("\t")[5]) + int(r.split("\t")[3])]
        if check(len(hit) == 1, "damaged: one variable holds byte 200: %r" % hit):
            name = hit[0][0]
            p = os.path.join(m.mnt, name + ".stats")  # sample's names need no escape
            try:
                with open(p, "rb") as f:
                    f.read()
                check(False, "%s.stats of a damaged tensor was served" % name)
            except OSError as e:
                check(e.errno == errno.EIO, "%s.stats of a damaged tensor: %s, want EIO" % (name, e))


def check_missing_shard(np, tmp):
    """A missing data shard: the variables stored on it have no row; every other one has."""
    src = os.path.join(fixtures_root(), "sharded")
    d = os.path.join(tmp, "missing")
    shutil.copytree(src, d)
    os.unlink(os.path.join(d, "model.ckpt.data-00001-of-00002"))
    with tm.Mount(os.path.join(d, "model.ckpt"), ["-o", "stats"], what="missing -o stats") as m:
        with open(os.path.join(m.mnt, "stats.tsv"), "rb") as f:
            rows = so.parse_tsv(T, f.read())
        readable = set()
        with open(os.path.join(src, "manifest.json")) as f:
            variables = json.load(f)["variables"]
        for v in variables:
            path = os.path.join(m.mnt, v["name"])
            if os.path.isdir(path):
                path += ".raw"
            try:
                with open(path, "rb") as f:
                    f.read()
                readable.add(v["name"].encode())
            except OSError as e:
                check(e.errno == errno.EIO, "%s: %s" % (v["name"], e))
        check(set(rows) == readable and readable,
              "missing shard: rows %r, readable files %r" % (sorted(rows), sorted(readable)))


def fixtures_root():
    return os.environ.get("CKPT_FIXTURES") or os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "fixtures")


def check_once():
    """NAME.stats and stats.tsv are computed once per mount and kept: a second read, after the
    kernel dropped its caches (so the daemon is asked again), reads no tensor (the mount's own
    count of data reads, user.ckpt.data_reads) and gives the same bytes."""
    src = os.path.join(fixtures_root(), "sample", "model.ckpt")
    with tm.Mount(src, ["-o", "stats"], what="sample -o stats, once") as m:
        for rel in ("global_step.stats", "stats.tsv"):  # NAME.stats first: nothing computed yet
            p = os.path.join(m.mnt, rel)
            n0 = m.data_reads()
            with open(p, "rb") as f:
                first = f.read()
            n1 = m.data_reads()
            check(n1 > n0, "%s: its first read reads tensors (%d -> %d)" % (rel, n0, n1))
            if os.geteuid() == 0:
                os.sync()
                with open("/proc/sys/vm/drop_caches", "w") as f:
                    f.write("3\n")
            with open(p, "rb") as f:
                second = f.read()
            n2 = m.data_reads()
            check(second == first and n2 == n1,
                  "%s: a second read reads no tensor (%d -> %d) and gives the same %d bytes (%d)"
                  % (rel, n1, n2, len(first), len(second)))


def main():
    tm.require_fuse()
    np = tm.require_numpy()
    fx = {name: (source, manifest) for name, source, manifest in tm.fixtures()}
    for name in ("sample", "partitioned", "dtypes"):
        if name in fx:
            try:
                check_source(np, name, *fx[name])
            except Exception as ex:  # noqa: BLE001
                check(False, "%s: %s: %s" % (name, type(ex).__name__, ex))
    with tempfile.TemporaryDirectory() as tmp:
        check_damaged(tmp)
        check_missing_shard(np, tmp)
    check_once()
    if tm.failures:
        print("%d failure(s)" % len(tm.failures))
        return 1
    print("all stats mount checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
