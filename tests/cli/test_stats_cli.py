#!/usr/bin/env python3
"""`ckptfs stats`, `ckptfs du`, `ls -l --sort=size -h` and `diff --atol/--rtol/--equal-nan/
--summary`, end to end.

Truth: numpy, on the values TensorFlow reads back (tf.train.load_checkpoint(...).get_tensor)
from checkpoints TensorFlow 2.21 writes here (tf.raw_ops.SaveV2 of every float dtype holding
NaN, +-Inf, -0.0, subnormals and float16 overflow, integer extremes, complex, strings, empty
tensors; a tiny Keras 3 model trained two steps, saved after each with tf.train.Checkpoint) and
from the committed fixtures (every dtype, partitioned variables); GNU du's own -h on files of
the same sizes; numpy.isclose for tolerances; the rows of `ckptfs ls -l` for du's sums (the
issue's rule: du totals equal the sum of ls -l bytes).

Without TensorFlow only the parts that need none run (du, ls, --nonfinite on a committed
fixture with no NaN, error exits, the progress bar on a pseudo-terminal).
"""
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import ckpt_testlib as tl  # noqa: E402
import stats_oracle as so  # noqa: E402
from stats_oracle import HEADER, want_row  # noqa: E402

T = tl.Checks()
FIX = tl.fixtures_dir()


def load_tf():
    """tensorflow, or None with a SKIP-PART line (a failure in CI: tests/README.md "Skips")
    when it or numpy is missing: the TF-checked parts are then left out."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if tl.oracle("numpy", whole=False) is None:
        return None
    return tl.oracle("tensorflow", whole=False)


TF = load_tf()


def stats_of(source, *opts):
    r = tl.ckptfs("stats", *opts, source)
    return r


def json_rows(out):
    rows = {}
    for ln in out.decode("utf-8").splitlines():
        o = json.loads(ln)
        rows[o["name"].encode("utf-8", "surrogateescape")] = o
    return rows


# ------------------------------------------------------------------------------------------
# stats against numpy


def write_specials(prefix):
    """Every float dtype with NaN, +-Inf, -0.0, subnormals, float16 overflow; integer
    extremes; complex; strings; empty tensors; one tensor over several read chunks. Returns
    the names TF wrote."""
    import ml_dtypes
    import numpy as np
    tf = TF
    rng = np.random.default_rng(26)
    sp = [np.nan, np.inf, -np.inf, -0.0, 0.0, 1.5, -2.25]
    t = [
        ("f32/specials", np.array(sp + [1e-45, 1.17e-38, 3.4028235e38, -3.4028235e38], np.float32)),
        ("f32/all_nan", np.array([np.nan, np.nan], np.float32)),
        ("f32/empty", np.zeros([0, 3], np.float32)),
        ("f32/constant", np.full([1000], 0.1, np.float32)),
        # 1.5M values (6 MB): several 4 MiB read chunks; a large offset, a small spread
        ("f32/big", (1000.0 + rng.standard_normal(1_500_000) * 1e-3).astype(np.float32)),
        ("f64/specials", np.array(sp + [5e-324, 2.2e-308, 1.7976931348623157e308], np.float64)),
        ("f64/random", rng.standard_normal((40, 50))),
        # 70000 and -1e5 overflow float16 to +-inf; 6e-8 is a subnormal, 65504 the largest
        ("f16/overflow", np.array([70000, -1e5, 65504, -65504, 6e-8, np.nan, -0.0, 1.0],
                                  np.float32).astype(np.float16)),
        ("bf16/specials", np.array(sp + [1e-40, 3e38], np.float32).astype(ml_dtypes.bfloat16)),
        ("i8", np.array([-128, 127, 0, -1], np.int8)),
        ("i64", np.array([-2 ** 63, 2 ** 63 - 1, 0, 12345], np.int64)),
        ("u64", np.array([0, 2 ** 64 - 1, 7], np.uint64)),
        ("u8", np.array([[0, 255], [3, 0]], np.uint8)),
        ("i32/empty", np.zeros([0], np.int32)),
        ("bool", np.array([True, False, False, True, True])),
        ("c64", np.array([0, 1 + 1j, complex(np.nan, 1), complex(1, np.inf), complex(-0.0, 0)],
                         np.complex64)),
        ("c128", (rng.standard_normal(6) + 1j * rng.standard_normal(6))),
        ("str", np.array([b"a", b"", b"ccc"], dtype=object)),
    ]
    for kind in ("float8_e4m3fn", "float8_e5m2", "float8_e4m3fnuz", "float8_e5m2fnuz",
                 "float8_e4m3b11fnuz"):
        vals = np.array([0.0, -0.0, 1.0, -3.5, 0.001, 448.0, np.nan, np.inf], np.float32)
        t.append(("f8/" + kind, vals.astype(getattr(ml_dtypes, kind))))
    names = [n for n, _ in t]
    tensors = [tf.constant(v) for _, v in t]
    tf.raw_ops.SaveV2(prefix=prefix, tensor_names=names, shape_and_slices=[""] * len(names),
                      tensors=tensors)
    return names


def truths_of(prefix, names=None):
    import numpy as np
    r = TF.train.load_checkpoint(prefix)
    dt = {}
    out = {}
    for n, d in r.get_variable_to_dtype_map().items():
        if names is not None and n not in names:
            continue
        if d.name in ("variant", "resource"):
            continue
        try:
            x = r.get_tensor(n)
        except Exception:  # noqa: BLE001
            # Partitioned strings only: TF's get_tensor refuses those (restore reads them);
            # any other failure of the oracle is a failure of the test.
            if d.name == "string":
                continue
            raise
        if isinstance(x, bytes):
            x = np.array(x, dtype=object)
        key = n.encode("utf-8", "surrogateescape")
        out[key] = np.asarray(x)
        dt[key] = "string" if d.name == "string" else d.name
    return out, dt


def case_stats_specials(tmp):
    if TF is None:
        return
    prefix = os.path.join(tmp, "specials", "ckpt")
    os.makedirs(os.path.dirname(prefix))
    write_specials(prefix)
    truths, dtypes = truths_of(prefix)
    r = stats_of(prefix)
    T.ok(r.rc == 0, "stats of the specials: " + r.describe())
    rows = so.parse_tsv(T, r.out)
    rj = stats_of(prefix, "--json")
    T.ok(rj.rc == 0, "stats --json: " + rj.describe())
    so.check_rows(T, "specials", rows, truths, dtypes, json_rows(rj.out))
    # a pattern selects by name, as ls's
    r = tl.ckptfs("stats", prefix, "f32/*")
    got = sorted(so.parse_tsv(T, r.out))
    T.eq(got, sorted(n for n in truths if n.startswith(b"f32/")), "stats PATTERN")
    # --nonfinite: exactly the numeric variables holding a NaN or an infinity, exit 1
    want = set()
    for n, x in truths.items():
        w = want_row(x)
        if (w["nan"] or 0) + (w["inf"] or 0):
            want.add(n)
    r = tl.ckptfs("stats", "--nonfinite", prefix)
    T.eq(r.rc, 1, "stats --nonfinite with NaN present: exit status")
    T.eq(set(so.parse_tsv(T, r.out)), want, "stats --nonfinite: the variables numpy finds NaN/Inf in")
    r = tl.ckptfs("stats", "--nonfinite", prefix, "f64/random")
    T.ok(r.rc == 0 and so.parse_tsv(T, r.out) == {}, "--nonfinite of finite values: exit 0, no rows: "
         + r.describe())


def case_stats_progress():
    """A progress bar on a terminal (stderr), none off it; the rows on stdout the same."""
    src = os.path.join(FIX, "sample", "model.ckpt")
    r = tl.ckptfs("stats", src)
    T.ok(r.rc == 0 and r.err == "", "stats off a terminal: no progress bar: " + r.describe())
    p = tl.ckptfs_on_pty("stats", src)
    T.ok(p.rc == 0 and "\r" in p.err and "%" in p.err and "/s" in p.err,
         "stats on a terminal draws a progress bar (percent, rate): %r" % p.err[-300:])
    T.eq(p.out, r.out, "stats on a terminal: the same rows on stdout")


def case_stats_fixtures():
    """Every committed fixture TF reads, partitioned variables whole."""
    if TF is None:
        return
    for case, m in tl.fixture_cases():
        if m.get("format") == "v1":
            continue
        src = os.path.join(case, m["prefix"])
        if not os.path.exists(src + ".index"):
            continue
        label = os.path.basename(case)
        truths, dtypes = truths_of(src)
        r = stats_of(src)
        T.ok(r.rc == 0, "%s: stats: %s" % (label, r.describe()))
        rows = so.parse_tsv(T, r.out)
        names = [v["name"].encode("utf-8", "surrogateescape") for v in m["variables"]]
        T.eq(sorted(rows), sorted(names), label + ": a row for every variable of the manifest")
        # variants, resources and partitioned strings (which get_tensor refuses) have rows
        # that TF cannot check here: the count of those is checked by the shape alone
        for n in names:
            if n not in truths and n in rows:
                v = next(v for v in m["variables"] if v["name"].encode("utf-8", "surrogateescape") == n)
                T.eq(int(rows[n][2]), math.prod(v["shape"]), "%s %r: count" % (label, n))
        so.check_rows(T, label, {n: f for n, f in rows.items() if n in truths}, truths, dtypes)


def case_stats_missing_shard(tmp):
    """A missing shard is reported, not fatal: the other variables' rows, exit 4."""
    src = os.path.join(FIX, "sharded")
    if not os.path.isdir(src):
        return
    d = os.path.join(tmp, "sharded_missing")
    shutil.copytree(src, d)
    gone = os.path.join(d, "model.ckpt.data-00001-of-00002")
    os.unlink(gone)
    m = json.load(open(os.path.join(src, "manifest.json")))
    names = sorted(v["name"].encode() for v in m["variables"])
    r = tl.ckptfs("stats", os.path.join(d, "model.ckpt"))
    T.eq(r.rc, 4, "stats with a data shard missing: exit status")
    rows = so.parse_tsv(T, r.out)
    missing = [n for n in names if n not in rows]
    T.ok(missing and len(rows) > 0, "some rows printed, some left out: %d / %d" % (len(rows), len(names)))
    for n in missing:
        T.ok(n.decode() in r.err and "data-00001-of-00002" in r.err,
             "the left-out %r is named on stderr with its shard: %r" % (n, r.err[:300]))


# ------------------------------------------------------------------------------------------
# du and ls -l --sort=size -h


def gnu_du_h(nbytes, tmp):
    """GNU du's own -h of a file of nbytes (sparse; apparent size)."""
    p = os.path.join(tmp, "du_probe")
    with open(p, "wb") as f:
        f.truncate(nbytes)
    out = subprocess.run(["du", "-h", "--apparent-size", p], stdout=subprocess.PIPE,
                         check=True).stdout.decode()
    os.unlink(p)
    return out.split("\t")[0]


def case_du(tmp):
    for case in ("sample", "partitioned", "many", "names", "keras_tf2"):
        d = os.path.join(FIX, case)
        m = json.load(open(os.path.join(d, "manifest.json")))
        src = os.path.join(d, m["prefix"])
        rows = tl.parse_ls(tl.ckptfs("ls", "-l", src).out)
        total = sum(r.nbytes for r in rows)
        for depth in (0, 1, 2, 3):
            r = tl.ckptfs("du", "--depth", str(depth), src)
            if not T.ok(r.rc == 0, "du %s --depth %d: %s" % (case, depth, r.describe())):
                continue
            got, last = tl.parse_du(r.out)
            T.eq(last, (total, len(rows), b"total"),
                 "du %s: total = the sum of ls -l bytes" % case)
            want = {}
            for row in rows:
                name = row.name
                pfx = b"/".join(name.split(b"/")[:depth]) if depth else None
                if pfx is None:
                    continue
                s, c = want.get(pfx, (0, 0))
                want[pfx] = (s + row.nbytes, c + 1)
            T.eq(got, want, "du %s --depth %d: sums by prefix" % (case, depth))
            if depth == 1:
                lines = r.out.split(b"\n")[:-2]  # the rows, in output order (no total)
                T.eq([tl.unescape(ln.split(b"\t", 2)[2]) for ln in lines], sorted(want),
                     "du %s: bytewise name order" % case)
        r = tl.ckptfs("du", "--sort=size", "--depth", "2", src)
        sizes = [int(ln.split(b"\t")[0]) for ln in r.out.split(b"\n")[:-2]]
        T.ok(r.rc == 0 and sizes == sorted(sizes, reverse=True), "du --sort=size: largest first")
        r = tl.ckptfs("du", "-h", src)
        last = r.out.split(b"\n")[-2].split(b"\t")
        T.eq(last[0].decode(), gnu_du_h(total, tmp), "du -h %s total as GNU du -h prints it" % case)
    # --by-name: the full_names TF wrote in the object graph (tests/pylib/tf2names.py reads
    # them from the manifest's copy of its bytes), the key where it gives none
    import tf2names
    d = os.path.join(FIX, "keras_tf2")
    m = json.load(open(os.path.join(d, "manifest.json")))
    src = os.path.join(d, m["prefix"])
    full, _ = tf2names.object_graph(tf2names.graph_bytes_of(m["variables"]))
    rows = tl.parse_ls(tl.ckptfs("ls", "-l", src).out)
    for depth in (1, 2):
        want = {}
        for row in rows:
            key = full.get(row.name, row.name)
            pfx = b"/".join(key.split(b"/")[:depth])
            s_, c_ = want.get(pfx, (0, 0))
            want[pfx] = (s_ + row.nbytes, c_ + 1)
        r = tl.ckptfs("du", "--by-name", "--depth", str(depth), src)
        got = {}
        for ln in r.out.split(b"\n")[:-2]:
            size, nvars, pfx = ln.split(b"\t", 2)
            got[tl.unescape(pfx)] = (int(size), int(nvars))
        T.ok(r.rc == 0 and len(full) > 0, "du --by-name: " + r.describe())
        T.eq(got, want, "du --by-name --depth %d: sums by full_name prefix" % depth)
    # -h against GNU du on sizes around every boundary: an index (by ckptwriter.py) of uint8
    # variables of those sizes whose data file is absent, which ls and du need not read
    import ckptwriter as cw
    sizes = [0, 1, 1023, 1024, 1025, 1536, 10 * 1024 - 1, 10 * 1024, 10 * 1024 + 1,
             1024 * 1024 - 1, 1024 * 1024, 1024 * 1024 + 1, 5 * 2 ** 30 + 1, 2 ** 40 * 3]
    entries = [(b"", cw.bundle_header())]
    for k, n in enumerate(sizes):
        entries.append((b"s%02d" % k, cw.bundle_entry(4, [n], offset=0, size=n)))
    big = os.path.join(tmp, "sizes.ckpt")
    cw.write(big + ".index", cw.table(entries))
    r = tl.ckptfs("du", "-h", big)
    got = [ln.split(b"\t")[0].decode() for ln in r.out.split(b"\n")[:-2]]
    T.eq(got, [gnu_du_h(n, tmp) for n in sizes], "du -h at unit boundaries = GNU du -h")
    r = tl.ckptfs("ls", "-l", "-h", big)
    got = [ln.split("\t")[3] for ln in r.out.decode().split("\n")[1:-1]]
    T.eq(got, [gnu_du_h(n, tmp) for n in sizes], "ls -lh at unit boundaries = GNU du -h")
    src = os.path.join(FIX, "dtypes", "dtypes")
    rows = tl.parse_ls(tl.ckptfs("ls", "-l", src).out)
    r = tl.ckptfs("ls", "-l", "-h", "--sort=size", src)
    lines = r.out.decode().split("\n")[:-1]
    T.eq(lines[0], tl.LS_HEADER, "ls -l -h: the header unchanged")
    want_order = sorted(range(len(rows)), key=lambda i: (-rows[i].nbytes, i))
    T.eq([tl.unescape(ln.split("\t")[0].encode()) for ln in lines[1:]],
         [rows[i].name for i in want_order], "ls -l --sort=size: largest first, ties by name")
    by_name = {r.name: r for r in rows}
    for ln in lines[1:]:
        f = ln.split("\t")
        row = by_name[tl.unescape(f[0].encode())]
        T.eq(f[3], gnu_du_h(row.nbytes, tmp), "ls -lh %r: bytes as GNU du -h" % row.name)
    r = tl.ckptfs("ls", "-h", src)
    T.ok(r.rc == 0 and r.out.startswith(b"usage: ckptfs ls"), "ls -h without -l is still help")
    r = tl.ckptfs("du", "--depth", "x", src)
    T.eq(r.rc, 1, "du --depth x: usage error")
    r = tl.ckptfs("du", "--sort=weight", src)
    T.eq(r.rc, 1, "du --sort=weight: usage error")


# ------------------------------------------------------------------------------------------
# diff with tolerances on two steps of a real training run


def train_two_steps(d):
    """A tiny Keras 3 model trained by TF 2.21, saved after step 1 and step 2."""
    import numpy as np
    tf = TF
    import keras
    keras.utils.set_random_seed(3)
    model = keras.Sequential([keras.Input((6,)),
                              keras.layers.Dense(8, activation="relu", name="hidden"),
                              keras.layers.Dense(3, name="out")])
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse")
    x = np.random.default_rng(1).standard_normal((16, 6)).astype(np.float32)
    y = np.random.default_rng(2).standard_normal((16, 3)).astype(np.float32)
    ckpt = tf.train.Checkpoint(model=model, optimizer=model.optimizer)
    paths = []
    for step in (1, 2):
        model.train_on_batch(x, y)
        paths.append(ckpt.write(os.path.join(d, "step%d" % step)))
    return paths


def elements_differ(x, y):
    """Per element: are the stored bytes different (a view as unsigned of the same width)."""
    import numpy as np
    x, y = np.ascontiguousarray(x), np.ascontiguousarray(y)
    u = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}[x.dtype.itemsize]
    return x.view(u) != y.view(u)


def case_diff_tolerance(tmp):
    if TF is None:
        return
    import numpy as np
    d = os.path.join(tmp, "run")
    os.makedirs(d)
    a, b = train_two_steps(d)
    ra, rb = TF.train.load_checkpoint(a), TF.train.load_checkpoint(b)
    names = sorted(n for n, dt in ra.get_variable_to_dtype_map().items() if dt.name != "string")
    strings = sorted(n for n, dt in ra.get_variable_to_dtype_map().items() if dt.name == "string")
    vals = {n: (ra.get_tensor(n), rb.get_tensor(n)) for n in names}
    maxabs = {n: float(np.max(np.abs(y.astype(np.float64) - x.astype(np.float64))))
              if np.size(x) else 0.0 for n, (x, y) in vals.items()}
    moved = sorted(v for v in maxabs.values() if v > 0)
    T.ok(len(moved) >= 4, "the second step changed several tensors: %d" % len(moved))
    atol = moved[len(moved) // 2]  # half of the changed tensors within, half not
    for opts, rtol in ((["--atol", repr(atol)], 0.0), (["--rtol", "0.01"], 0.01),
                       (["--atol", repr(atol / 2), "--rtol", "0.001"], 0.001)):
        at = float(opts[opts.index("--atol") + 1]) if "--atol" in opts else 0.0
        r = tl.ckptfs("diff", *opts, "--summary", "2", a, b)
        label = "diff " + " ".join(opts)
        out = r.out.decode()
        lines = out.split("\n")[:-1]
        changed = {}
        summary = {}
        for ln in lines[:-1]:
            if ln.startswith("# "):
                f = ln[2:].split("\t")
                summary[f[0]] = f[1:]
                continue
            mark, rest = ln[0], ln[2:]
            name, _, what = rest.partition("\t")
            changed[name] = what
        want_changed = {}
        for n, (x, y) in vals.items():
            # numpy decides for the elements whose bytes differ (docs: ckptfs diff --help)
            nc = ~np.isclose(y.astype(np.float64), x.astype(np.float64), rtol=rtol, atol=at) \
                & elements_differ(x, y)
            if nc.any():
                want_changed[n] = int(nc.sum())
        T.eq(sorted(changed), sorted(want_changed), label + ": changed = not numpy.isclose")
        T.eq(r.rc, 1 if want_changed else 0, label + ": exit status")
        for n, k in want_changed.items():
            m = re.search(r"not_close (\d+)$", changed.get(n, ""))
            T.ok(m and int(m.group(1)) == k, "%s %s: not_close %s, numpy %d"
                 % (label, n, m and m.group(1), k))
        m = re.search(r"; (\d+) of the same within tolerance$", lines[-1])
        within = sum(1 for n in names if maxabs[n] > 0 and n not in want_changed)
        T.ok(m and int(m.group(1)) == within, "%s: %r says %d within tolerance" % (label, lines[-1], within))
        # --summary 2: per prefix of two components
        want_sum = {}
        for n in names:
            p = "/".join(n.split("/")[:2])
            s = want_sum.setdefault(p, [0, 0, 0, 0, None])
            if n in want_changed:
                s[1] += 1
            else:
                s[0] += 1
            if vals[n][0].tobytes() != vals[n][1].tobytes():
                s[4] = maxabs[n] if s[4] is None else max(s[4], maxabs[n])
        for n in strings:  # compared as bytes: same or changed, no max_abs_diff
            s = want_sum.setdefault("/".join(n.split("/")[:2]), [0, 0, 0, 0, None])
            s[0 if ra.get_tensor(n) == rb.get_tensor(n) else 1] += 1
        got_sum = {}
        for p, f in summary.items():
            kv = dict(x.split(" ", 1) for x in f)
            got_sum[p] = [int(kv["same"]), int(kv["changed"]), int(kv["added"]), int(kv["removed"]),
                          None if kv["max_abs_diff"] == "-" else float(kv["max_abs_diff"])]
        T.eq(got_sum, want_sum, label + ": --summary 2 against numpy")


def case_diff_equal_nan(tmp):
    """NaN against a NaN of other bits: changed without --equal-nan, same with it; a NaN that
    stayed the same bits is unchanged either way (numpy.isclose decides only where bytes
    differ)."""
    if TF is None:
        return
    import numpy as np
    p1, p2 = os.path.join(tmp, "nan1", "c"), os.path.join(tmp, "nan2", "c")
    qnan = np.array([0x7fc00000], np.uint32).view(np.float32)[0]
    other = np.array([0x7fc00001], np.uint32).view(np.float32)[0]
    old = np.array([qnan, 1.0, qnan, 2.0], np.float32)
    new = np.array([other, 1.0 + 1e-6, qnan, 2.0], np.float32)
    for p, v in ((p1, old), (p2, new)):
        os.makedirs(os.path.dirname(p))
        TF.raw_ops.SaveV2(prefix=p, tensor_names=["w"], shape_and_slices=[""],
                          tensors=[TF.constant(v)])
    x = TF.train.load_checkpoint(p1).get_tensor("w")
    y = TF.train.load_checkpoint(p2).get_tensor("w")
    T.ok(x.view(np.uint32)[0] != y.view(np.uint32)[0], "TF kept the two NaNs' bits apart")
    differ = elements_differ(x, y)
    for opts, eqn in ((["--atol", "1e-5"], False), (["--atol", "1e-5", "--equal-nan"], True)):
        want = int((~np.isclose(y, x, atol=1e-5, rtol=0, equal_nan=eqn) & differ).sum())
        r = tl.ckptfs("diff", *opts, p1, p2)
        label = "diff " + " ".join(opts)
        if want:
            T.ok(r.rc == 1 and re.search(rb"\tnot_close %d\n" % want, r.out) is not None,
                 "%s: changed, not_close %d: %r" % (label, want, r.out))
        else:
            T.ok(r.rc == 0 and b"1 of the same within tolerance" in r.out,
                 "%s: the same within tolerance: %r" % (label, r.out))
    r = tl.ckptfs("diff", "--atol", "-1", p1, p2)
    T.eq(r.rc, 1, "diff --atol -1: usage error")
    r = tl.ckptfs("diff", "--summary", "0", p1, p2)
    T.eq(r.rc, 1, "diff --summary 0: usage error")


def case_diff_summary_added_removed(tmp):
    """--summary counts added and removed variables per prefix (the Keras steps have the same
    variables, so only here): two checkpoints written by tests/pylib/ckptwriter.py, the truth
    the sets of names and values written."""
    import struct
    import ckptwriter as cw

    def f32(*v):
        return struct.pack("<%df" % len(v), *v)
    old = {b"a/x": f32(1, 2), b"a/y": f32(3), b"b/z": f32(4, 5), b"c/w": f32(6)}
    new = {b"a/x": f32(1, 2.5), b"a/new": f32(7), b"b/z": f32(4, 5), b"d/v": f32(8)}
    paths = []
    for label, tensors in (("old", old), ("new", new)):
        p = os.path.join(tmp, "summary_" + label, "c")
        os.makedirs(os.path.dirname(p))
        w = cw.V2Writer(p)
        for name, data in tensors.items():
            w.add(name, cw.DT_FLOAT, [len(data) // 4], data)
        w.close()
        paths.append(p)
    # prefix: same, changed, added, removed, max_abs_diff (a/x moved by 0.5)
    for opts, ax_same in (([], False), (["--atol", "1"], True)):
        want = {"a": [int(ax_same), int(not ax_same), 1, 1, 0.5], "b": [1, 0, 0, 0, None],
                "c": [0, 0, 0, 1, None], "d": [0, 0, 1, 0, None]}
        r = tl.ckptfs("diff", *opts, "--summary", "1", *paths)
        got = {}
        for ln in r.out.decode().split("\n"):
            if ln.startswith("# "):
                f = ln[2:].split("\t")
                kv = dict(x.split(" ", 1) for x in f[1:])
                got[f[0]] = [int(kv["same"]), int(kv["changed"]), int(kv["added"]), int(kv["removed"]),
                             None if kv["max_abs_diff"] == "-" else float(kv["max_abs_diff"])]
        label = "diff %s--summary 1 with variables added and removed" % " ".join(opts + [""])
        T.eq(got, want, label + ": per-prefix counts")
        T.eq(r.rc, 1, label + ": exit status (added, removed)")
        last = r.out.decode().split("\n")[-2]
        T.ok(re.search(r"= %d same .*, %d changed, 2 added, 2 removed"
                       % (1 + ax_same, int(not ax_same)), last)
             is not None, "%s: the = line: %r" % (label, last))


def case_stats_trained(tmp):
    """stats of the Keras checkpoint: every variable, against numpy."""
    if TF is None:
        return
    d = os.path.join(tmp, "run2")
    os.makedirs(d)
    _, b = train_two_steps(d)
    truths, dtypes = truths_of(b)
    r = stats_of(b)
    T.ok(r.rc == 0, "stats of a trained Keras checkpoint: " + r.describe())
    so.check_rows(T, "keras step 2", so.parse_tsv(T, r.out), truths, dtypes)


def main():
    tl.ckptfs_path()
    with tempfile.TemporaryDirectory() as tmp:
        case_du(tmp)
        case_stats_missing_shard(tmp)
        case_stats_progress()
        case_stats_specials(tmp)
        case_stats_fixtures()
        case_stats_trained(tmp)
        case_diff_tolerance(tmp)
        case_diff_equal_nan(tmp)
        case_diff_summary_added_removed(tmp)
    T.summary()


if __name__ == "__main__":
    main()
