#!/usr/bin/env python3
"""`ckptfs ls` / `ckptfs cat` on the layout fixtures: partitioned V2, V1 (single file and
sharded set), a training folder, SavedModels; plus the real 2016 V1 export in $CKPT_REALCKPT.

The truth is each case's manifest.json, written by scripts/make_fixtures_layouts.py from
TensorFlow's own reading (tf.train.load_checkpoint, or for what that refuses in V1 files, the checkpoint
restored by Saver.restore and read back with Session.run), and "tf_latest_checkpoint", what
tf.train.latest_checkpoint returns for a folder. For every variable of every case: ls lists the
manifest's names (bytewise order), dtypes, shapes and numeric byte sizes; cat's bytes hash to the
manifest's sha256 (numeric) or print the escaped elements (strings, V1 ones included).
Range reads of partitioned tensors are the mount tests' job. Skips (77) only when none of the
fixtures exists.
"""
import hashlib
import json
import os
import shutil
import struct
import sys
import tempfile

sys.dont_write_bytecode = True  # keep the source tree free of __pycache__
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import ckpt_testlib as tl  # noqa: E402

T = tl.Checks()
CASES = ["partitioned", "v1", "v1_sharded", "folder", "savedmodel/tf2", "savedmodel/tf1"]


def load_manifest(case_dir):
    path = os.path.join(case_dir, "manifest.json")
    if not os.path.isfile(path):
        return None
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def ls_rows(label, source):
    r = tl.ckptfs("ls", "-l", source)
    if not T.ok(r.rc == 0, "%s: %s" % (label, r.describe())):
        return None
    try:
        return tl.parse_ls(r.out)
    except ValueError as e:
        T.ok(False, "%s: unparsable ls output: %s" % (label, e))
        return None


def compare_ls(label, rows, want, v1=False, sliced=()):
    """ls rows against manifest variables: names/order, dtype, shape, numeric byte size."""
    got_names = [r.name for r in rows]
    want_names = [v["name"].encode("utf-8") for v in want]
    if not T.eq(got_names, want_names, "%s: names in bytewise order" % label):
        return
    for r, v in zip(rows, want):
        what = "%s: %r" % (label, v["name"])
        T.eq(r.dtype, v["dtype"], what + " dtype")
        T.eq(r.shape, v["shape"], what + " shape")
        if "nbytes" in v:
            T.eq(r.nbytes, v["nbytes"], what + " bytes")
        elif not v1:
            # V2 strings: the stored size and CRC follow from the elements (format rules).
            enc, crc = tl.string_tensor_encoding([bytes.fromhex(h) for h in v["strings_hex"]])
            T.eq(r.nbytes, len(enc), what + " stored size of the string tensor")
            T.eq(r.crc, crc, what + " crc32c of the string tensor")
        if v["name"] in sliced:
            T.ok(r.shard is None and r.offset is None and r.crc is None,
                 "%s is stored as slices: expected '-' location, got %r" % (what, r))


def check_cat(label, source, v, v1=False):
    r = tl.ckptfs("cat", source, v["name"].encode("utf-8"))
    what = "%s: cat %r" % (label, v["name"])
    if "strings_hex" in v:
        want = tl.text_form([bytes.fromhex(h) for h in v["strings_hex"]])
        if T.ok(r.rc == 0, what + ": " + r.describe()):
            T.eq(r.out, want, what + " text form")
        return
    if not T.ok(r.rc == 0, what + ": " + r.describe()):
        return
    T.eq(len(r.out), v["nbytes"], what + " length")
    T.eq(hashlib.sha256(r.out).hexdigest(), v["sha256"], what + " sha256 vs TensorFlow")


def check_variables(label, source, want, v1=False, sliced=()):
    """ls SOURCE equals `want`, and cat SOURCE NAME of every variable matches."""
    rows = ls_rows("%s (ls %s)" % (label, source), source)
    if rows is not None:
        compare_ls("%s (ls %s)" % (label, os.path.basename(source)), rows, want, v1, sliced)
    for v in want:
        check_cat(label, source, v, v1)


# --------------------------------------------------------------------------------------------
# cases


def case_partitioned(d, m):
    prefix = os.path.join(d, m["prefix"])
    sliced = m.get("sliced", [])
    T.ok(len(sliced) >= 10, "partitioned: the manifest lists %d sliced tensors, expected >= 10 "
         "(partitioned variables and their Adam slots)" % len(sliced))
    for src in (prefix, prefix + ".index", d):
        check_variables("partitioned", src, m["variables"], sliced=sliced)


def case_v1(d, m):
    """A V1 file or set: every member names the whole checkpoint; so does the folder."""
    label = os.path.basename(d)
    T.eq(m.get("format"), "v1", label + ": manifest format")
    oracles = {v.get("oracle") for v in m["variables"]}
    T.ok(oracles == {"load_checkpoint", "saver_restore"},
         "%s: manifest oracles %s (expected both kinds)" % (label, sorted(map(str, oracles))))
    members = sorted(f for f in os.listdir(d) if f == m["prefix"] or "-of-" in f)
    sources = [os.path.join(d, f) for f in members]
    pattern = m.get("tf_latest_checkpoint")
    if pattern and "?" in pattern:
        sources.append(os.path.join(d, pattern))  # TF's own name for the set
    for src in sources:
        check_variables(label, src, m["variables"], v1=True)
    # The folder: its state file names the V1 checkpoint, and TF resolves it.
    if pattern:
        check_variables(label + " (folder)", d, m["variables"], v1=True)


def case_folder(d, m):
    steps = m["steps"]
    latest = m["tf_latest_checkpoint"]
    T.eq(latest, m["prefix"], "folder: manifest prefix is TF's latest checkpoint")
    T.ok(len(steps) == 3, "folder: 3 steps in the manifest")
    # The folder itself resolves to what tf.train.latest_checkpoint returns.
    check_variables("folder (dir)", d, steps[latest])
    check_variables("folder (dir/)", d + "/", steps[latest])
    for p, want in sorted(steps.items()):
        prefix = os.path.join(d, p)
        check_variables("folder " + p, prefix, want)
        rows = ls_rows("folder %s.index" % p, prefix + ".index")
        if rows is not None:
            compare_ls("folder (ls %s.index)" % p, rows, want)
    # The steps differ (global_step), so resolving to the wrong one cannot pass unnoticed.
    gs = [next(v["sha256"] for v in w if v["name"] == "global_step") for w in steps.values()]
    T.eq(len(set(gs)), len(gs), "folder: global_step differs between steps")

    with tempfile.TemporaryDirectory(prefix="ckptfs_layouts_") as tmp:
        files = [f for f in os.listdir(d) if f.startswith("model.ckpt-")]
        names = sorted(steps, key=lambda p: int(p.rsplit("-", 1)[1]))

        def variant(sub, latest_name, absolute):
            dst = os.path.join(tmp, sub)
            os.makedirs(dst)
            for f in files:
                shutil.copy(os.path.join(d, f), dst)
            base = "/nonexistent/machine/path/" if absolute else ""
            with open(os.path.join(dst, "checkpoint"), "w") as f:
                f.write('model_checkpoint_path: "%s%s"\n' % (base, latest_name))
                for n in names:
                    f.write('all_model_checkpoint_paths: "%s%s"\n' % (base, n))
            return dst

        # State file written on another machine: absolute paths fall back to the folder's files.
        dst = variant("abs", latest, True)
        check_variables("folder with absolute state paths", dst, steps[latest])
        # The state file decides, not the highest step number (relative and absolute).
        older = names[1]
        check_variables("folder whose state names %s" % older, variant("rel_older", older, False),
                        steps[older])
        check_variables("folder whose absolute state names %s" % older,
                        variant("abs_older", older, True), steps[older])


def case_savedmodel(d, m):
    label = "savedmodel/" + os.path.basename(d)
    T.eq(m["prefix"], "variables/variables", label + ": manifest prefix")
    for src in (d, d + "/", os.path.join(d, "variables", "variables")):
        check_variables("%s (%s)" % (label, os.path.relpath(src, d)), src, m["variables"],
                        sliced=m.get("sliced", []))


# --------------------------------------------------------------------------------------------
# the real V1 export (tensorflow/serving, 2016)


def real_v1():
    root = tl.realckpt_dir()
    src = os.path.join(root, "serving_v1_half_plus_two_2016", "export")
    if not os.path.isfile(src):
        tl.missing("../shared/realckpt", "%s absent; real V1 case left out" % src, whole=False)
        return
    # Facts from realckpt/README.md: float scalars Variable = 0.5, Variable_1 = 2.0.
    want = [{"name": "Variable", "dtype": "float32", "shape": [], "nbytes": 4,
             "sha256": hashlib.sha256(struct.pack("<f", 0.5)).hexdigest()},
            {"name": "Variable_1", "dtype": "float32", "shape": [], "nbytes": 4,
             "sha256": hashlib.sha256(struct.pack("<f", 2.0)).hexdigest()}]
    check_variables("real serving_v1_half_plus_two_2016", src, want, v1=True)


def main():
    root = tl.fixtures_dir()
    tl.ckptfs_path()
    present = []
    for c in CASES:
        m = load_manifest(os.path.join(root, c))
        if m is None:
            tl.skip_part("fixture %s absent (scripts/make_fixtures_layouts.py)" % c)
        else:
            present.append((c, m))
    if not present:
        tl.skip("none of the layout fixtures exists under %s" % root)
    for c, m in present:
        d = os.path.join(root, c)
        before = T.failed
        if c == "partitioned":
            case_partitioned(d, m)
        elif c.startswith("v1"):
            case_v1(d, m)
        elif c == "folder":
            case_folder(d, m)
        else:
            case_savedmodel(d, m)
        print("%s: %d variables, %s" % (c, len(m["variables"]), "ok" if T.failed == before
                                        else "%d failures" % (T.failed - before)))
    before = T.failed
    real_v1()
    print("real V1: %s" % ("ok" if T.failed == before else "%d failures" % (T.failed - before)))
    T.summary()


if __name__ == "__main__":
    main()
