"""What `ckptfs stats` (and a mount's stats.tsv) must print for an array, computed by numpy:
the rules of docs/format.md "Statistics of a tensor", re-implemented here from that text.
Shared by tests/cli/test_stats_cli.py and tests/e2e/test_mount_stats.py. T is a check
counter with ok(cond, msg) and eq(got, want, msg) (ckpt_testlib.Checks)."""
import math

import ckpt_testlib as tl

HEADER = ["name", "dtype", "count", "nan", "inf", "zeros", "min", "max", "mean", "std"]


def want_row(x):
    """The stats row of array x as numpy computes it: a dict of the issue's columns (None where
    the dtype has no value), numbers as Python ints or float64."""
    import numpy as np
    name = str(x.dtype)
    row = {"count": int(x.size)}
    if x.dtype.kind in ("O", "S", "U"):
        return dict(row, nan=None, inf=None, zeros=None, min=None, max=None, mean=None, std=None)
    if x.dtype.kind == "c":
        f = x.ravel()
        nan = np.isnan(f.real) | np.isnan(f.imag)
        inf = ~nan & (np.isinf(f.real) | np.isinf(f.imag))
        return dict(row, nan=int(nan.sum()), inf=int(inf.sum()), zeros=int((f == 0).sum()),
                    min=None, max=None, mean=None, std=None)
    if x.dtype.kind in ("i", "u", "b") or name in ("int4", "uint4", "int2", "uint2"):
        wide = x.astype(np.int64 if x.dtype.kind in ("i", "b") or name in ("int4", "int2")
                        else np.uint64).ravel()
        if x.dtype.kind == "b":
            wide = x.ravel().astype(np.int64)
        f = wide.astype(np.float64)
        row.update(nan=0, inf=0, zeros=int((wide == 0).sum()))
        if wide.size == 0:
            return dict(row, min=None, max=None, mean=None, std=None)
        return dict(row, min=int(wide.min()), max=int(wide.max()), mean=float(f.mean()),
                    std=float(f.std()))
    f = x.astype(np.float64).ravel()  # bfloat16, float8 (ml_dtypes) convert exactly
    nan, inf = np.isnan(f), np.isinf(f)
    fin = f[~nan & ~inf]
    row.update(nan=int(nan.sum()), inf=int(inf.sum()), zeros=int((fin == 0).sum()))
    if fin.size == 0:
        return dict(row, min=None, max=None, mean=None, std=None)
    return dict(row, min=float(fin.min()), max=float(fin.max()), mean=float(fin.mean()),
                std=float(fin.std()), scale=float(np.abs(fin).max()))


def close(got, want, scale):
    """1e-9 relative, as the issue asks; a value that is 0 (a symmetric mean, a constant's std)
    has no relative error, so there the floor is a few ulps of the data's magnitude. Values
    near the float64 limit overflow in both (numpy's std of 1.79e308 is inf): equal then."""
    if math.isinf(want):
        return got == want
    return abs(got - want) <= 1e-9 * abs(want) + 4e-16 * scale * 8


def parse_tsv(T, out):
    lines = out.decode("utf-8").split("\n")
    T.ok(lines and lines[-1] == "", "stats output ends with a newline")
    T.eq(lines[0].split("\t"), HEADER, "stats header")
    rows = {}
    for ln in lines[1:-1]:
        f = ln.split("\t")
        T.ok(len(f) == 10, "stats row has 10 columns: %r" % ln)
        rows[tl.unescape(f[0].encode())] = f
    return rows


def tsv_value(field, kind):
    if field == "-":
        return None
    if kind == "int":
        return int(field)
    return float(field)


def check_rows(T, label, rows, truths, dtypes, jrows=None, names=None):
    """rows: name -> TSV fields; truths: name -> numpy array; jrows: name -> JSON object;
    names: every variable (default: those of truths)."""
    T.eq(sorted(rows), sorted(names if names is not None else truths),
         label + ": one row per variable")
    for n, x in truths.items():
        f = rows.get(n)
        if f is None:
            continue
        w = want_row(x)
        T.eq(f[1], dtypes[n], "%s %r: dtype" % (label, n))
        for col in ("count", "nan", "inf", "zeros"):
            T.eq(tsv_value(f[HEADER.index(col)], "int"), w[col], "%s %r: %s" % (label, n, col))
        intlike = isinstance(w["min"], int)
        for col in ("min", "max"):
            got = tsv_value(f[HEADER.index(col)], "int" if intlike else "float")
            T.ok(got == w[col] and (got is None) == (w[col] is None),
                 "%s %r: %s %r, numpy %r" % (label, n, col, f[HEADER.index(col)], w[col]))
        for col in ("mean", "std"):
            got = tsv_value(f[HEADER.index(col)], "float")
            if w[col] is None:
                T.ok(got is None, "%s %r: %s absent, got %r" % (label, n, col, got))
                continue
            scale = w.get("scale", abs(w[col]))
            T.ok(got is not None and close(got, w[col], scale),
                 "%s %r: %s %r, numpy %r" % (label, n, col, got, w[col]))
        if jrows is not None:
            j = jrows.get(n)
            if not T.ok(j is not None, "%s %r: a JSON row" % (label, n)):
                continue
            T.eq(list(j), HEADER, "%s %r: JSON keys" % (label, n))
            for col in HEADER[2:]:
                tv = tsv_value(f[HEADER.index(col)], "int" if col in ("count", "nan", "inf", "zeros")
                               or (col in ("min", "max") and intlike) else "float")
                if isinstance(tv, float) and not math.isfinite(tv):
                    tv = None  # JSON has no inf: null
                T.ok(j[col] == tv, "%s %r: JSON %s %r = TSV %r" % (label, n, col, j[col], tv))
