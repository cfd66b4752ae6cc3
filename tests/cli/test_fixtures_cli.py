#!/usr/bin/env python3
"""`ckptfs ls` / `ckptfs cat` against the TensorFlow-written fixtures and their manifests.

The truth is tests/fixtures/<case>/manifest.json, written by scripts/make_fixtures.py from
TensorFlow's own reader (tf.train.load_checkpoint). Checked for every case: ls given the prefix,
the .index, every .data-* and the .meta lists exactly the manifest's names, dtypes and shapes
(byte sizes for numeric tensors; for strings the stored size and CRC computed here from the
elements by the format's rules); cat of every variable matches the manifest's sha256 (numeric,
plus a CRC-32C computed here against ls's crc32c column) or the escaped text form of its
elements (strings). Then error paths on damaged copies in a temp dir.
"""
import glob
import hashlib
import os
import shutil
import sys
import tempfile

sys.dont_write_bytecode = True  # keep the source tree free of __pycache__
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import ckpt_testlib as tl  # noqa: E402

T = tl.Checks()


def data_files(prefix):
    return sorted(glob.glob(glob.escape(prefix) + ".data-?????-of-?????"))


def compare_ls(label, rows, want, prefix, sliced=()):
    """rows (parsed ls) against the manifest variables `want`; `sliced` names are stored as
    slices, so their shard/offset columns describe no single byte range."""
    got_names = [r.name for r in rows]
    want_names = [v["name"].encode("utf-8") for v in want]
    if not T.eq(len(got_names), len(want_names), "%s: number of variables" % label):
        missing = sorted(set(want_names) - set(got_names))[:5]
        extra = sorted(set(got_names) - set(want_names))[:5]
        print("   missing (first 5): %r; extra (first 5): %r" % (missing, extra))
    first = next((i for i, (a, b) in enumerate(zip(got_names, want_names)) if a != b),
                 min(len(got_names), len(want_names)))
    T.ok(got_names == want_names, "%s: names/order differ from TF first at row %d: got %r, want %r"
         % (label, first, got_names[first:first + 1], want_names[first:first + 1]))
    files = data_files(prefix)
    nshards = len(files)
    sizes = [os.path.getsize(f) for f in files]
    by_name = {r.name: r for r in rows}
    bad = 0
    for v in want:
        r = by_name.get(v["name"].encode("utf-8"))
        if r is None:
            continue
        what = "%s: %r" % (label, v["name"])
        good = T.eq(r.dtype, v["dtype"], what + " dtype")
        good &= T.eq(r.shape, v["shape"], what + " shape")
        if "strings_hex" in v:
            enc, crc = tl.string_tensor_encoding([bytes.fromhex(h) for h in v["strings_hex"]])
            good &= T.eq(r.nbytes, len(enc), what + " stored size of the string tensor")
            if v["name"] not in sliced:  # pieces have checksums, the whole has none
                good &= T.eq("%08x" % r.crc, "%08x" % crc, what + " crc32c of the string tensor")
        elif "variant_text" in v:
            pass  # stored size: the protos' bytes, which only TF's text of them is known of
        else:
            good &= T.eq(r.nbytes, v["nbytes"], what + " bytes")
        if v["name"] in sliced:
            good &= T.ok(r.shard is None and r.offset is None and r.crc is None,
                         "%s is stored as slices: ls should print '-' for shard, offset and "
                         "crc32c, got %r" % (what, r))
        elif r.shard is None:
            good &= T.ok(False, "%s: '-' location for a tensor not stored as slices" % what)
        elif T.ok(0 <= r.shard < nshards, "%s shard %d not in [0, %d)" % (what, r.shard, nshards)):
            good &= T.ok(r.offset + r.nbytes <= sizes[r.shard],
                         "%s offset %d + %d bytes beyond %s (%d bytes)"
                         % (what, r.offset, r.nbytes, files[r.shard], sizes[r.shard]))
        bad += not good
    return by_name


def check_cat(label, source, v, row, sliced=False):
    name = v["name"].encode("utf-8")
    r = tl.cat_variable(source, name)
    what = "%s: cat %r" % (label, v["name"])
    if not T.ok(r.rc == 0, what + ": " + r.describe()):
        return
    if "strings_hex" in v:
        want = tl.text_form([bytes.fromhex(h) for h in v["strings_hex"]])
        T.eq(r.out, want, what + " text form")
    elif "variant_text" in v:
        T.eq(r.out, v["variant_text"].encode("utf-8"), what + " text vs TensorFlow's")
    else:
        T.eq(len(r.out), v["nbytes"], what + " length")
        T.eq(hashlib.sha256(r.out).hexdigest(), v["sha256"], what + " sha256 vs TensorFlow")
        if row is not None and not sliced:
            c = tl.crc32c(r.out)
            T.ok(c == row.crc, "%s: crc32c of the bytes is %08x, ls says %08x%s" % (
                what, c, row.crc, " (ls printed the MASKED value)" if tl.crc_mask(c) == row.crc
                else ""))


def check_case(case_dir, m):
    case = os.path.basename(case_dir)
    prefix = os.path.join(case_dir, m["prefix"])
    want = m["variables"]
    sources = [prefix, prefix + ".index"] + data_files(prefix)
    if os.path.exists(prefix + ".meta"):
        sources.append(prefix + ".meta")
    T.ok(len(sources) >= 3, "%s: expected index and data files next to %s" % (case, prefix))
    rows_by_name = {}
    for src in sources:
        label = "%s (ls %s)" % (case, os.path.basename(src))
        r = tl.ckptfs("ls", "-l", src)
        if not T.ok(r.rc == 0, label + ": " + r.describe()):
            continue
        try:
            rows = tl.parse_ls(r.out)
        except ValueError as e:
            T.ok(False, "%s: unparsable output: %s" % (label, e))
            continue
        got = compare_ls(label, rows, want, prefix, m.get("sliced", ()))
        if src == prefix:
            rows_by_name = got
    # One process per cat re-reads the index: on the 9,600-variable case that is minutes, so
    # big cases cat every 8th variable plus every short name (CKPT_TEST_FULL=1: all of them).
    full = os.environ.get("CKPT_TEST_FULL") == "1" or len(want) <= 1000
    for i, v in enumerate(want):
        if not (full or i % 8 == 0 or len(v["name"]) < 8 or i == len(want) - 1):
            continue
        check_cat(case, prefix, v, rows_by_name.get(v["name"].encode("utf-8")),
                  v["name"] in m.get("sliced", ()))
    # Any of the file names works for cat as well (first and last variable).
    for src in sources[1:]:
        for v in (want[0], want[-1]):
            check_cat("%s via %s" % (case, os.path.basename(src)), src, v, None,
                      v["name"] in m.get("sliced", ()))


# --------------------------------------------------------------------------------------------
# error paths


def copy_case(case_dir, dst):
    shutil.copytree(case_dir, dst)
    return dst


def expect_failure(label, r, must_name):
    """Non-zero exit, stderr naming must_name (a path or a variable)."""
    T.ok(r.rc not in (0, "timeout"), "%s: expected a non-zero exit: %s" % (label, r.describe()))
    T.ok(must_name in r.err, "%s: message should name %r: %s" % (label, must_name, r.describe()))


def error_cases(root, tmp):
    sample = os.path.join(root, "sample")
    if not os.path.isfile(os.path.join(sample, "manifest.json")):
        T.ok(False, "fixture 'sample' is missing")
        return
    m = tl.fixture_cases(root)
    man = dict((os.path.basename(d), mm) for d, mm in m)["sample"]

    # A source that does not exist.
    ghost = os.path.join(tmp, "no_such_dir", "ghost.ckpt")
    expect_failure("ls of a missing source", tl.ckptfs("ls", "-l", ghost), "ghost.ckpt")
    expect_failure("cat of a missing source", tl.ckptfs("cat", ghost, "x"), "ghost.ckpt")
    # A variable that does not exist.
    expect_failure("cat of a missing variable",
                   tl.ckptfs("cat", os.path.join(sample, man["prefix"]), "dense/no_such_var"),
                   "dense/no_such_var")

    # Truncated .index files: cut the footer, half of it, all of it.
    idx_size = os.path.getsize(os.path.join(sample, "model.ckpt.index"))
    for cut in (idx_size - 1, idx_size - 10, idx_size // 2, 10, 0):
        d = copy_case(sample, os.path.join(tmp, "trunc_%d" % cut))
        idx = os.path.join(d, "model.ckpt.index")
        with open(idx, "r+b") as f:
            f.truncate(cut)
        expect_failure("ls of an .index truncated to %d of %d bytes" % (cut, idx_size),
                       tl.ckptfs("ls", "-l", os.path.join(d, "model.ckpt")), "model.ckpt.index")

    # One flipped byte inside the index's first data block (block CRC must catch it), at a few
    # positions: in the header entry, in a key, in an entry value.
    for off in (3, 40, 120):
        d = copy_case(sample, os.path.join(tmp, "flip_index_%d" % off))
        idx = os.path.join(d, "model.ckpt.index")
        tl.flip_byte(idx, off)
        expect_failure("ls of an .index with byte %d flipped" % off,
                       tl.ckptfs("ls", "-l", os.path.join(d, "model.ckpt")), "model.ckpt.index")

    # Flipped tensor bytes: cat must fail naming the variable and not print the bad bytes.
    r = tl.ckptfs("ls", "-l", os.path.join(sample, "model.ckpt"))
    try:
        rows = {x.name: x for x in tl.parse_ls(r.out)} if r.rc == 0 else {}
    except ValueError:
        rows = {}
    if T.ok(b"dense/kernel" in rows and b"dense/bias" in rows,
            "sample: ls lists dense/kernel and dense/bias (needed for the corruption test)"):
        k = rows[b"dense/kernel"]
        d = copy_case(sample, os.path.join(tmp, "flip_data"))
        shard = os.path.join(d, "model.ckpt.data-%05d-of-00001" % k.shard)
        tl.flip_byte(shard, k.offset + k.nbytes // 2)
        r = tl.ckptfs("cat", os.path.join(d, "model.ckpt"), "dense/kernel")
        expect_failure("cat of dense/kernel with a flipped byte", r, "dense/kernel")
        T.ok(len(r.out) < k.nbytes, "cat of a corrupt dense/kernel wrote all %d bytes to stdout"
             % len(r.out))
        rl = tl.ckptfs("ls", "-l", os.path.join(d, "model.ckpt"))
        T.ok(rl.rc == 0, "ls still works when only tensor bytes are damaged: " + rl.describe())
        want = {v["name"]: v for v in man["variables"]}["dense/bias"]
        rb = tl.ckptfs("cat", os.path.join(d, "model.ckpt"), "dense/bias")
        T.ok(rb.rc == 0 and hashlib.sha256(rb.out).hexdigest() == want["sha256"],
             "an undamaged variable next to a damaged one still reads: " + rb.describe())

    # Same for a string tensor (the dtypes case): flip the last byte of string_1d.
    dt = os.path.join(root, "dtypes")
    if os.path.isdir(dt):
        r = tl.ckptfs("ls", "-l", os.path.join(dt, "dtypes"))
        try:
            rows = {x.name: x for x in tl.parse_ls(r.out)} if r.rc == 0 else {}
        except ValueError:
            rows = {}
        if T.ok(b"string_1d" in rows, "dtypes: ls lists string_1d"):
            s = rows[b"string_1d"]
            d = copy_case(dt, os.path.join(tmp, "flip_string"))
            tl.flip_byte(os.path.join(d, "dtypes.data-00000-of-00001"), s.offset + s.nbytes - 1)
            r = tl.ckptfs("cat", os.path.join(d, "dtypes"), "string_1d")
            expect_failure("cat of string_1d with a flipped byte", r, "string_1d")
            # The lengths region too (first byte: a varint length).
            d = copy_case(dt, os.path.join(tmp, "flip_string_len"))
            tl.flip_byte(os.path.join(d, "dtypes.data-00000-of-00001"), s.offset)
            r = tl.ckptfs("cat", os.path.join(d, "dtypes"), "string_1d")
            expect_failure("cat of string_1d with a flipped length byte", r, "string_1d")

    # A missing data shard (sharded case): ls lists with a warning naming it (as TF's
    # list_variables); cat of a variable on the present shard works, on the missing one exits 4.
    sh = os.path.join(root, "sharded")
    if os.path.isdir(sh):
        man_sh = dict((os.path.basename(dd), mm) for dd, mm in m)["sharded"]
        d = copy_case(sh, os.path.join(tmp, "missing_shard"))
        gone = "model.ckpt.data-00001-of-00002"
        os.remove(os.path.join(d, gone))
        r = tl.ckptfs("ls", "-l", os.path.join(d, "model.ckpt"))
        T.ok(r.rc == 0 and gone in r.err and "warning" in r.err,
             "ls with shard 1 missing lists and warns: " + r.describe())
        r = tl.ckptfs("ls", "-l", "--index-only", os.path.join(d, "model.ckpt"))
        rows = None
        if T.ok(r.rc == 0, "ls --index-only with shard 1 missing: " + r.describe()):
            try:
                rows = tl.parse_ls(r.out)
            except ValueError as e:
                T.ok(False, "ls --index-only with shard 1 missing: unparsable: %s" % e)
        if rows is not None:
            T.eq([x.name for x in rows], [v["name"].encode() for v in man_sh["variables"]],
                 "ls --index-only with shard 1 missing: names")
            on1 = [x.name for x in rows if x.shard == 1]
            T.ok(on1, "sharded: some variable is on shard 1")
            for n in on1[:2]:
                r = tl.ckptfs("cat", os.path.join(d, "model.ckpt"), n)
                expect_failure("cat %r with its shard missing" % n, r, gone)
                T.eq(r.rc, 4, "cat %r with its shard missing: exit status" % n)
            want = dict((v["name"].encode(), v) for v in man_sh["variables"])
            numeric0 = [x.name for x in rows if x.shard == 0 and "strings_hex" not in want[x.name]]
            for n in numeric0[:2]:
                r = tl.ckptfs("cat", os.path.join(d, "model.ckpt"), n)
                T.ok(r.rc == 0 and hashlib.sha256(r.out).hexdigest() == want[n]["sha256"],
                     "cat %r from the present shard: %s" % (n, r.describe()))


def main():
    root = tl.fixtures_dir()
    tl.ckptfs_path()
    # V1 fixtures have no .index, byte locations or CRCs: tests/cli/test_layouts_cli.py checks them.
    cases = [(d, m) for d, m in tl.fixture_cases(root) if m.get("format") != "v1"]
    if not cases:
        T.ok(False, "no fixture manifests under %s (run scripts/make_fixtures.py)" % root)
        T.summary()
    for case_dir, m in cases:
        before = T.failed
        check_case(case_dir, m)
        print("%s: %d variables, %s" % (os.path.basename(case_dir), len(m["variables"]),
                                       "ok" if T.failed == before else
                                       "%d failures" % (T.failed - before)))
    with tempfile.TemporaryDirectory(prefix="ckptfs_cli_") as tmp:
        before = T.failed
        error_cases(root, tmp)
        print("error cases: %s" % ("ok" if T.failed == before else
                                   "%d failures" % (T.failed - before)))
    T.summary()


if __name__ == "__main__":
    main()
