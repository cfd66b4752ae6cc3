#!/usr/bin/env python3
"""`ckptfs stats`, `du` and `diff --atol` on real third-party checkpoints ($CKPT_REALCKPT), the
three commands the README shows on them (issue 26).

Truth: numpy's statistics (tests/pylib/stats_oracle.py, the rules of docs/format.md) and
numpy.isclose of the values TensorFlow reads (tf.train.load_checkpoint(...).get_tensor); the
rows of `ckptfs ls -l` for du's sums (the issue's rule: du totals equal the sum of ls -l bytes);
the folder's README for which shards are missing (t5x's shard 1, swift's data files).
"""
import os
import re
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import ckpt_testlib as tl  # noqa: E402
import stats_oracle as so  # noqa: E402

T = tl.Checks()
ROOT = tl.realckpt_dir()

# Checkpoints whose every data shard is here: (folder, prefix within it)
COMPLETE = [
    ("estimator_dnn_iris_train_2017", "model.ckpt-1"),
    ("estimator_dnn_iris_train_2017", "model.ckpt-2000"),
    ("estimator_linear_partitioned1_tf15", "model.ckpt-5160"),
    ("little_ruan_tf2_2shard", "model.ckpt"),
    ("t2t_transformer_2shard", "model.ckpt-1"),
    ("rust_sm_regression_tf121", "variables/variables"),
    ("serving_sm_half_plus_two_tf214", "variables/variables"),
    ("serving_v2_half_plus_two_tf012", "export"),
]


def truths_of(tf, prefix):
    import numpy as np
    r = tf.train.load_checkpoint(prefix)
    out, dtypes = {}, {}
    for n, d in r.get_variable_to_dtype_map().items():
        x = r.get_tensor(n)
        if isinstance(x, bytes):
            x = np.array(x, dtype=object)
        key = n.encode("utf-8", "surrogateescape")
        out[key] = np.asarray(x)
        dtypes[key] = d.name
    return out, dtypes


def case_stats(tf, folder, prefix):
    src = os.path.join(ROOT, folder, prefix)
    label = "%s/%s" % (folder, prefix)
    truths, dtypes = truths_of(tf, src)
    r = tl.ckptfs("stats", src)
    if not T.ok(r.rc == 0, "%s: stats: %s" % (label, r.describe())):
        return
    so.check_rows(T, label, so.parse_tsv(T, r.out), truths, dtypes)
    r = tl.ckptfs("stats", "--nonfinite", src)
    nonfinite = sorted(n for n, x in truths.items()
                       if (so.want_row(x)["nan"] or 0) + (so.want_row(x)["inf"] or 0))
    T.eq(sorted(so.parse_tsv(T, r.out)), nonfinite, label + ": stats --nonfinite rows")
    T.eq(r.rc, 1 if nonfinite else 0, label + ": stats --nonfinite exit status")


def case_du(folder, prefix):
    src = os.path.join(ROOT, folder, prefix)
    label = "%s/%s" % (folder, prefix)
    rows = tl.parse_ls(tl.ckptfs("ls", "-l", src).out)
    for depth in (1, 2, 3):
        r = tl.ckptfs("du", "--depth", str(depth), src)
        if not T.ok(r.rc == 0, "%s: du --depth %d: %s" % (label, depth, r.describe())):
            continue
        got, total = tl.parse_du(r.out)
        want = {}
        for row in rows:
            pfx = b"/".join(row.name.split(b"/")[:depth])
            s, c = want.get(pfx, (0, 0))
            want[pfx] = (s + row.nbytes, c + 1)
        T.eq(got, want, "%s: du --depth %d: sums of ls -l bytes by prefix" % (label, depth))
        T.eq(total, (sum(x.nbytes for x in rows), len(rows), b"total"),
             "%s: du total = the sum of ls -l bytes" % label)


def case_diff(tf, folder, old, new):
    """diff with tolerances between two steps of the same training run, against numpy."""
    import numpy as np
    a, b = (os.path.join(ROOT, folder, p) for p in (old, new))
    ra, rb = tf.train.load_checkpoint(a), tf.train.load_checkpoint(b)
    names = sorted(ra.get_variable_to_dtype_map())
    for atol, rtol in ((0.25, 0.0), (0.0, 0.01), (1e-3, 1e-3)):
        label = "%s: diff --atol %r --rtol %r %s %s" % (folder, atol, rtol, old, new)
        r = tl.ckptfs("diff", "--atol", repr(atol), "--rtol", repr(rtol), "--summary", "2", a, b)
        changed = {}
        for ln in r.out.decode().split("\n")[:-1]:
            if ln.startswith("~ "):
                name, _, what = ln[2:].partition("\t")
                m = re.search(r"not_close (\d+)$", what)
                changed[name] = int(m.group(1)) if m else None
        want = {}
        for n in names:
            x, y = ra.get_tensor(n), rb.get_tensor(n)
            differ = np.ascontiguousarray(x).tobytes() != np.ascontiguousarray(y).tobytes()
            nc = ~np.isclose(y.astype(np.float64), x.astype(np.float64), rtol=rtol, atol=atol)
            if differ and nc.any():
                want[n] = int(nc.sum())
        T.eq(changed, want, label + ": changed tensors and not_close counts = numpy.isclose")
        T.eq(r.rc, 1 if want else 0, label + ": exit status")


def case_missing():
    """Missing data shards are reported, not fatal: exit 4, the others' rows printed."""
    src = os.path.join(ROOT, "t5x_mtf_tiny_bf16_partial", "model.ckpt-0")
    r = tl.ckptfs("stats", src)
    rows = so.parse_tsv(T, r.out)
    T.eq(r.rc, 4, "t5x (shard 1 missing): stats exit status")
    T.ok(list(rows) == [b"global_step"] and "00001-of-00002" in r.err,
         "t5x: only global_step (shard 0) has a row, the rest named on stderr: %r, %r"
         % (list(rows), r.err[:200]))
    T.ok(rows.get(b"global_step", [None] * 10)[6:8] == ["0", "0"], "t5x: global_step 0")


def main():
    tl.realckpt_required(ROOT)
    tl.ckptfs_path()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if tl.oracle("numpy", whole=False) is None:
        tf = None
    else:
        tf = tl.oracle("tensorflow", whole=False)
    for folder, prefix in COMPLETE:
        if not T.ok(os.path.isdir(os.path.join(ROOT, folder)), "%s: absent from %s" % (folder, ROOT)):
            continue
        case_du(folder, prefix)
        if tf is not None:
            case_stats(tf, folder, prefix)
    if tf is not None:
        case_diff(tf, "estimator_dnn_iris_train_2017", "model.ckpt-1001", "model.ckpt-2000")
        case_diff(tf, "estimator_dnn_iris_train_2017", "model.ckpt-1000", "model.ckpt-1001")
    case_missing()
    T.summary()


if __name__ == "__main__":
    main()
