#!/usr/bin/env python3
"""`ckptfs ls` / `ckptfs cat` on real third-party checkpoints ($CKPT_REALCKPT).

The truth here is /work/shared/realckpt/README.md (facts recorded by whoever collected the files:
key counts, values, shards, which files are missing), written down below as FACTS, plus what
any V2 checkpoint must satisfy: every byte range lies inside its shard file and the stored
CRC-32C (ls's crc32c column) matches a CRC computed here over what `cat` printed. The V1 case
(serving_v1_half_plus_two_2016) is not tested here.

Key counts: the README counts table keys, and every V2 index has one more key than variables,
the header "" (TF 2.21's tf.train.load_checkpoint lists 250 for t2t's "251 keys", 333 for
minigo's 334, ...). So the expected variable count is README keys - 1. little_ruan: the README
says 19 keys, shard 0 = the object graph and "all 18 numeric tensors" on shard 1; TF lists 18
variables, i.e. 17 numeric tensors - the README's "18" counted the header too.
"""
import os
import re
import struct
import sys

sys.dont_write_bytecode = True  # keep the source tree free of __pycache__
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import ckpt_testlib as tl  # noqa: E402

T = tl.Checks()
ROOT = tl.realckpt_dir()

ELEM = {"float32": 4, "float64": 8, "int32": 4, "int64": 8, "bfloat16": 2, "float16": 2,
        "int8": 1, "uint8": 1, "int16": 2, "uint16": 2, "bool": 1, "complex64": 8,
        "complex128": 16, "uint32": 4, "uint64": 8}


def nelem(shape):
    n = 1
    for d in shape:
        n *= d
    return n


def ls(source, index_only=False):
    args = ["ls", "-l"] + (["--index-only"] if index_only else []) + [source]
    r = tl.ckptfs(*args)
    if r.rc != 0:
        return r, None
    try:
        return r, tl.parse_ls(r.out)
    except ValueError as e:
        T.ok(False, "%s: unparsable ls output: %s" % (source, e))
        return r, None


def shard_file(prefix, shard, nshards):
    return "%s.data-%05d-of-%05d" % (prefix, shard, nshards)


def generic(label, prefix, rows, nshards, index_only=False):
    """Order, ranges and CRCs; cat every variable whose shard exists. Returns {name: bytes}."""
    names = [r.name for r in rows]
    T.ok(names == sorted(names) and len(set(names)) == len(names),
         "%s: names not strictly increasing bytewise" % label)
    values = {}
    for r in rows:
        what = "%s: %r" % (label, r.name)
        T.ok(0 <= r.shard < nshards, "%s: shard %d of %d" % (what, r.shard, nshards))
        path = shard_file(prefix, r.shard, nshards)
        if not os.path.exists(path):
            continue
        size = os.path.getsize(path)
        T.ok(r.offset + r.nbytes <= size, "%s: [%d, +%d) beyond %s (%d bytes)"
             % (what, r.offset, r.nbytes, path, size))
        if r.dtype in ELEM:
            T.eq(r.nbytes, nelem(r.shape) * ELEM[r.dtype], what + " bytes vs dtype x shape")
        args = ["cat"] + (["--index-only"] if index_only else []) + [prefix, r.name]
        c = tl.ckptfs(*args)
        if not T.ok(c.rc == 0, what + ": " + c.describe()):
            continue
        if r.dtype == "string":
            lines = c.out.split(b"\n")
            ok = T.ok(c.out.endswith(b"\n") or nelem(r.shape) == 0,
                      what + ": string text form must end with a newline")
            lines = lines[:-1] if c.out.endswith(b"\n") else []
            if T.eq(len(lines), nelem(r.shape), what + " string lines") and ok:
                try:
                    elems = [tl.unescape(x) for x in lines]
                except ValueError as e:
                    T.ok(False, "%s: %s" % (what, e))
                    continue
                enc, crc = tl.string_tensor_encoding(elems)
                T.eq(len(enc), r.nbytes, what + " re-encoded string size")
                T.eq("%08x" % crc, "%08x" % r.crc, what + " CRC of the re-encoded string tensor")
                values[r.name] = elems
        else:
            if T.eq(len(c.out), r.nbytes, what + " cat length"):
                crc = tl.crc32c(c.out)
                T.ok(crc == r.crc, "%s: CRC-32C of cat output %08x != stored %08x"
                     % (what, crc, r.crc))
            values[r.name] = c.out
    return values


def by_name(rows):
    return {r.name: r for r in rows}


def f32(b):
    return struct.unpack("<%df" % (len(b) // 4), b)


def i64(b):
    return struct.unpack("<%dq" % (len(b) // 8), b)


def near(a, b, tol=1e-6):
    return abs(a - b) <= tol


# --------------------------------------------------------------------------------------------
# cases (facts from realckpt/README.md)


def case_serving_v2(d):
    prefix = os.path.join(d, "export")
    r, rows = ls(prefix)
    if not T.ok(rows is not None, "serving_v2: ls: " + r.describe()):
        return
    T.eq([x.name for x in rows], [b"Variable", b"Variable_1"], "serving_v2 names")
    T.eq([(x.dtype, x.shape) for x in rows], [("float32", [])] * 2, "serving_v2 dtypes/shapes")
    T.eq(os.path.getsize(prefix + ".data-00000-of-00001"), 8, "serving_v2 data file size")
    v = generic("serving_v2", prefix, rows, 1)
    T.eq([f32(v.get(b"Variable", b"")), f32(v.get(b"Variable_1", b""))], [(0.5,), (2.0,)],
         "serving_v2 values")


def case_sm_half_plus_two(d):
    prefix = os.path.join(d, "variables", "variables")
    r, rows = ls(prefix)
    if not T.ok(rows is not None, "sm_half_plus_two: ls: " + r.describe()):
        return
    want = [b"_CHECKPOINTABLE_OBJECT_GRAPH", b"a/.ATTRIBUTES/VARIABLE_VALUE",
            b"b/.ATTRIBUTES/VARIABLE_VALUE", b"c/.ATTRIBUTES/VARIABLE_VALUE"]
    T.eq([x.name for x in rows], want, "sm_half_plus_two names")
    b = by_name(rows)
    g = b.get(want[0])
    if T.ok(g is not None, "sm_half_plus_two: object graph listed"):
        T.eq((g.dtype, g.shape, g.offset, g.nbytes), ("string", [], 12, 619),
             "sm_half_plus_two object graph dtype/shape/offset/size")
    v = generic("sm_half_plus_two", prefix, rows, 1)
    T.eq([f32(v.get(n, b"")) for n in want[1:]], [(0.5,), (2.0,), (3.0,)],
         "sm_half_plus_two a, b, c")
    # Also from the .index name and from the data file name.
    for src in (prefix + ".index", prefix + ".data-00000-of-00001"):
        r2, rows2 = ls(src)
        T.ok(rows2 is not None and [x.name for x in rows2] == want,
             "sm_half_plus_two: ls %s: %s" % (os.path.basename(src), r2.describe()))


def case_tf_text(d):
    prefix = os.path.join(d, "variables", "variables")
    r, rows = ls(prefix)
    if not T.ok(rows is not None, "tf_text: ls: " + r.describe()):
        return
    T.eq([(x.name, x.dtype, x.shape, x.nbytes) for x in rows],
         [(b"_CHECKPOINTABLE_OBJECT_GRAPH", "string", [], 2 + 4 + 921)], "tf_text listing")
    v = generic("tf_text", prefix, rows, 1)
    g = v.get(b"_CHECKPOINTABLE_OBJECT_GRAPH")
    T.ok(g is not None and len(g) == 1 and len(g[0]) == 921,
         "tf_text: the object graph is one 921-byte element")


def case_rust(d):
    prefix = os.path.join(d, "variables", "variables")
    r, rows = ls(prefix)
    if not T.ok(rows is not None, "rust: ls: " + r.describe()):
        return
    T.eq([(x.name, x.dtype, x.shape) for x in rows],
         [(b"b", "float32", [1]), (b"w", "float32", [1])], "rust listing")
    v = generic("rust", prefix, rows, 1)
    T.eq(f32(v.get(b"b", b"")), (0.0,), "rust b")
    w = f32(v.get(b"w", b""))
    T.ok(len(w) == 1 and near(w[0], -0.857862), "rust w = %r, want -0.857862" % (w,))


def case_little_ruan(d):
    prefix = os.path.join(d, "model.ckpt")
    r, rows = ls(prefix)
    if not T.ok(rows is not None, "little_ruan: ls: " + r.describe()):
        return
    T.eq(len(rows), 19 - 1, "little_ruan variable count (19 keys incl. the header)")
    b = by_name(rows)
    g = b.get(b"_CHECKPOINTABLE_OBJECT_GRAPH")
    if T.ok(g is not None, "little_ruan: object graph listed"):
        T.eq((g.dtype, g.shard, g.nbytes), ("string", 0, 2091), "little_ruan object graph")
    others = [x for x in rows if x.name != b"_CHECKPOINTABLE_OBJECT_GRAPH"]
    T.ok(all(x.shard == 1 and x.dtype != "string" for x in others),
         "little_ruan: all 17 numeric tensors on shard 1")
    T.ok(b"layer-1/kernel/.ATTRIBUTES/VARIABLE_VALUE" in b, "little_ruan: layer-1 kernel listed")
    T.ok(any(b".OPTIMIZER_SLOT/optimizer/m/" in x.name for x in rows),
         "little_ruan: an optimizer m slot is listed")
    v = generic("little_ruan", prefix, rows, 2)
    it = b.get(b"optimizer/iter/.ATTRIBUTES/VARIABLE_VALUE")
    if T.ok(it is not None and it.dtype == "int64", "little_ruan: optimizer/iter is int64"):
        T.eq(i64(v.get(it.name, b"")), (3840,), "little_ruan optimizer/iter")


def case_t2t(d):
    prefix = os.path.join(d, "model.ckpt-1")
    r, rows = ls(prefix)
    if not T.ok(rows is not None, "t2t: ls: " + r.describe()):
        return
    T.eq(len(rows), 251 - 1, "t2t variable count (251 keys incl. the header)")
    on0 = sorted(x.name for x in rows if x.shard == 0)
    T.ok(all(n == b"global_step" or n.startswith(b"losses_avg/")
             or n == b"train_stats/problem_0_steps" for n in on0) and b"global_step" in on0
         and b"train_stats/problem_0_steps" in on0, "t2t shard 0 holds %r" % on0)
    b = by_name(rows)
    gs = b.get(b"global_step")
    T.ok(gs is not None and (gs.dtype, gs.shape) == ("int64", []), "t2t global_step int64 scalar")
    ps = b.get(b"train_stats/problem_0_steps")
    T.ok(ps is not None and ps.dtype == "int32", "t2t train_stats/problem_0_steps int32")
    T.ok(all(b[n].dtype == "float32" for n in on0 if n.startswith(b"losses_avg/")),
         "t2t losses_avg/* are float32")
    T.ok(b"training/transformer/body/decoder/layer_0/encdec_attention/multihead_attention/"
         b"output_transform/kernel/Adam_1" in b, "t2t: the deep Adam_1 name is listed")
    s1 = sum(x.nbytes for x in rows if x.shard == 1)
    T.ok(1.6e6 <= s1 <= 1.75e6, "t2t shard 1 holds %d bytes, README says ~1.67 MB" % s1)
    generic("t2t", prefix, rows, 2)


SWIFT = {"minigo": 334, "style": 93, "transformer": 149, "resnet_savedmodel_variables": 253}


def case_swift(d):
    for base, count in sorted(SWIFT.items()):
        idx = os.path.join(d, base + ".index")
        label = "swift " + base
        # As tf.train.list_variables: missing data is a warning naming the file, not a failure.
        r = tl.ckptfs("ls", "-l", idx)
        T.ok(r.rc == 0, "%s: ls without data must list (exit 0): %s" % (label, r.describe()))
        T.ok(re.search(re.escape(base) + r"\.data-\d{5}-of-\d{5}", r.err) is not None
             and "warning" in r.err,
             "%s: ls should warn naming the missing data file: %s" % (label, r.describe()))
        r, rows = ls(idx, index_only=True)
        if not T.ok(rows is not None, "%s: ls --index-only: %s" % (label, r.describe())):
            continue
        T.eq(len(rows), count - 1, label + " variable count (README keys incl. the header)")
        T.ok({x.dtype for x in rows} <= {"float32", "int64"},
             "%s dtypes %s, README says float32 and int64" % (label, {x.dtype for x in rows}))
        names = [x.name for x in rows]
        T.ok(names == sorted(names), label + ": names not in bytewise order")
        if rows:
            c = tl.ckptfs("cat", "--index-only", idx, rows[0].name)
            T.ok(c.rc not in (0, "timeout") and re.search(
                re.escape(base) + r"\.data-\d{5}-of-\d{5}", c.err) is not None and not c.out,
                 "%s: cat --index-only of %r must fail naming the data file: %s"
                 % (label, rows[0].name, c.describe()))
            c = tl.ckptfs("cat", idx, rows[-1].name)
            T.ok(c.rc not in (0, "timeout") and base + ".data-" in c.err,
                 "%s: cat of %r must fail naming the data file: %s"
                 % (label, rows[-1].name, c.describe()))


def case_t5x(d):
    prefix = os.path.join(d, "model.ckpt-0")
    gone = "model.ckpt-0.data-00001-of-00002"
    r = tl.ckptfs("ls", "-l", prefix)
    T.ok(r.rc == 0 and gone in r.err and "warning" in r.err,
         "t5x: ls must list, warning about %s: %s" % (gone, r.describe()))
    r, rows = ls(prefix, index_only=True)
    if not T.ok(rows is not None, "t5x: ls --index-only: " + r.describe()):
        return
    T.eq(len(rows), 106 - 1, "t5x variable count (106 keys incl. the header)")
    T.eq(sum(x.dtype == "bfloat16" for x in rows), 52, "t5x bfloat16 count")
    slots = [x for x in rows if x.name.endswith(b"_slot_v")]
    T.ok(len(slots) == 52 and all(x.dtype == "float32" for x in slots),
         "t5x: 52 float32 *_slot_v (got %d)" % len(slots))
    b = by_name(rows)
    k = b.get(b"decoder/block_000/layer_000/SelfAttention/k")
    T.ok(k is not None and (k.dtype, k.shape) == ("bfloat16", [32, 128]),
         "t5x: decoder/block_000/layer_000/SelfAttention/k is bfloat16 [32, 128]: %r" % (k,))
    gs = b.get(b"global_step")
    T.ok(gs is not None and gs.shard == 0 and gs.dtype == "int64", "t5x: global_step on shard 0")
    end = max((x.offset + x.nbytes for x in rows if x.shard == 1), default=0)
    T.eq(end, 13077504, "t5x shard 1 end offset")
    if gs is not None:
        c = tl.ckptfs("cat", "--index-only", prefix, "global_step")
        T.ok(c.rc == 0 and i64(c.out) == (0,), "t5x: global_step = 0: %s, %r"
             % (c.describe(), c.out))
        # Its own shard is present: cat needs no flag.
        c = tl.ckptfs("cat", prefix, "global_step")
        T.ok(c.rc == 0 and i64(c.out) == (0,), "t5x: cat global_step without flags = 0: %s, %r"
             % (c.describe(), c.out))
        c = tl.ckptfs("cat", "--text", prefix, "global_step")
        T.ok(c.rc == 0 and c.out == b"0\n", "t5x: cat --text global_step: %s, %r"
             % (c.describe(), c.out))
    if k is not None:
        c = tl.ckptfs("cat", "--index-only", prefix, k.name)
        T.ok(c.rc not in (0, "timeout") and gone in c.err and not c.out,
             "t5x: cat --index-only of a shard-1 variable must fail naming %s: %s"
             % (gone, c.describe()))
        c = tl.ckptfs("cat", prefix, k.name)
        T.ok(c.rc == 4 and gone in c.err and not c.out,
             "t5x: cat of a shard-1 variable must fail naming %s: %s" % (gone, c.describe()))


def case_iris(d):
    for step in (1, 1000, 1001, 2000):
        prefix = os.path.join(d, "model.ckpt-%d" % step)
        label = "iris %d" % step
        r, rows = ls(prefix)
        if not T.ok(rows is not None, "%s: ls: %s" % (label, r.describe())):
            continue
        T.eq(len(rows), 17, label + " variable count")
        T.ok(any(x.name.endswith(b"/t_0/Adagrad") for x in rows), label + ": Adagrad slots")
        v = generic(label, prefix, rows, 1)
        T.eq(i64(v.get(b"global_step", b"")), (step,), label + " global_step")


def case_linear(d):
    prefix = os.path.join(d, "model.ckpt-5160")
    r, rows = ls(prefix)
    if not T.ok(rows is not None, "linear: ls: " + r.describe()):
        return
    b = by_name(rows)
    ftrl = [x for x in rows if x.name.endswith(b"/weights/part_0/Ftrl")]
    T.ok(ftrl, "linear: .../weights/part_0/Ftrl slots listed")
    for x in ftrl:
        base = x.name[:-len(b"/part_0/Ftrl")]
        w = b.get(base)
        T.ok(w is not None and (w.dtype, w.shape) == (x.dtype, x.shape),
             "linear: %r has its full variable %r with the same dtype/shape" % (x.name, base))
        T.ok(base + b"/part_0/Ftrl_1" in b, "linear: %r has Ftrl_1" % base)
    T.ok(not any(x.name.endswith(b"/part_0") for x in rows),
         "linear: the partitioned variable is saved under its full name, not part_0")
    v = generic("linear", prefix, rows, 1)
    # Estimator names each checkpoint after its global step.
    T.eq(i64(v.get(b"global_step", b"")), (5160,), "linear global_step")


CASES = [("serving_v2_half_plus_two_tf012", case_serving_v2),
         ("serving_sm_half_plus_two_tf214", case_sm_half_plus_two),
         ("serving_sm_tf_text_regression_vars", case_tf_text),
         ("rust_sm_regression_tf121", case_rust),
         ("little_ruan_tf2_2shard", case_little_ruan),
         ("t2t_transformer_2shard", case_t2t),
         ("swift_index_only", case_swift),
         ("t5x_mtf_tiny_bf16_partial", case_t5x),
         ("estimator_dnn_iris_train_2017", case_iris),
         ("estimator_linear_partitioned1_tf15", case_linear)]


def main():
    tl.realckpt_required(ROOT)  # skips without them; fails in CI
    tl.ckptfs_path()
    ran = 0
    for name, fn in CASES:
        d = os.path.join(ROOT, name)
        # The folder is there, so each case its README records must be too.
        if not T.ok(os.path.isdir(d), "%s: absent from %s" % (name, ROOT)):
            continue
        before = T.failed
        fn(d)
        ran += 1
        print("%s: %s" % (name, "ok" if T.failed == before else
                          "%d failures" % (T.failed - before)))
    T.summary()


if __name__ == "__main__":
    main()
