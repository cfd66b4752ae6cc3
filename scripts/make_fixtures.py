#!/usr/bin/env python3
"""Regenerate the TensorFlow-written checkpoint fixtures under tests/fixtures/<case>/.

Every case is written by real TensorFlow and then read back with tf.train.load_checkpoint to
produce <case>/manifest.json, the independent truth the tests compare ckptfs against:

  {"prefix": "model.ckpt", "tf_version": "2.21.0",
   "variables": [{"name", "dtype", "shape", "sha256", "nbytes" | "strings_hex" | "variant_text"},
                 ...]}

variables are sorted by the UTF-8 bytes of their names. For numeric tensors sha256/nbytes cover
np.ascontiguousarray(value).tobytes() (little-endian C order); for string tensors strings_hex
lists each element's bytes in C order and sha256 covers the elements concatenated; for variant
tensors variant_text is "# element K" and TF's text_format of each element. String and variant
tensors stored as slices, which get_tensor refuses, are read as Saver.restore reads them:
RestoreV2 of each piece by its slice spec, the pieces placed by numpy.

Each case runs in its own Python process (graph-mode TF1 code, logical CPU devices and eager
code cannot share one process). The output is deterministic apart from TF's own metadata (.meta
files): fixed seeds everywhere. Usage: scripts/make_fixtures.py [--out DIR] [CASE...]

Run with no arguments it regenerates every fixture of the repository: these cases, then the
layout cases (scripts/make_fixtures_layouts.py: partitioned, V1, folder, SavedModel), the graph
texts (scripts/make_graph_fixtures.py) and the variant tensor (scripts/make_variant_fixture.py).
"""
import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

CASES = ["sample", "keras_tf2", "sharded", "sliced", "dtypes", "many", "names", "hostile_names",
         "partitioned_strings", "sliced_variants"]
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUT = os.path.join(REPO, "tests", "fixtures")


# ---------------------------------------------------------------------------------------------
# manifest


def record(name, dtype_name, value):
    """One manifest variable record from a numpy value: sha256 and size of the little-endian
    C-order bytes, or for strings the elements as hex and the sha256 of their concatenation."""
    import numpy as np

    shape = [int(d) for d in np.shape(value)]
    rec = {"name": name, "dtype": dtype_name, "shape": shape}
    if dtype_name == "variant":
        # The text a mount shows: "# element K" and TF's text_format of each element.
        elems = list(np.asarray(value, dtype=object).reshape(-1))
        text = "".join("# element %d\n%s" % (k, e) for k, e in enumerate(elems)).encode("utf-8")
        rec["sha256"] = hashlib.sha256(text).hexdigest()
        rec["variant_text"] = text.decode("utf-8")
    elif dtype_name == "string":
        elems = [bytes(e) for e in np.asarray(value, dtype=object).reshape(-1)]
        rec["sha256"] = hashlib.sha256(b"".join(elems)).hexdigest()
        rec["strings_hex"] = [e.hex() for e in elems]
    else:
        arr = np.ascontiguousarray(value)
        if arr.dtype.byteorder == ">":
            arr = arr.astype(arr.dtype.newbyteorder("<"))
        data = arr.tobytes()
        rec["sha256"] = hashlib.sha256(data).hexdigest()
        rec["nbytes"] = len(data)
    return rec


def write_manifest(case_dir, prefix_name, notes=None):
    """Read the checkpoint back with TensorFlow and write case_dir/manifest.json."""
    import numpy as np
    import tensorflow as tf

    prefix = os.path.join(case_dir, prefix_name)
    reader = tf.train.load_checkpoint(prefix)
    dtypes = reader.get_variable_to_dtype_map()
    shapes = reader.get_variable_to_shape_map()
    try:
        specs = slice_specs(prefix + ".index")
    except ValueError:  # a compressed block: none of our cases write one
        specs = {}
    out = []
    for name in sorted(dtypes, key=lambda s: s.encode("utf-8")):
        dt = tf.as_dtype(dtypes[name])
        shape = [int(d) for d in shapes[name]]
        if dt in (tf.string, tf.variant) and name in specs:
            value = restore_sliced(prefix, name, dt, shape, specs[name])
        elif dt == tf.variant:
            value = np.array(variant_elements(tf.raw_ops.RestoreV2(
                prefix=prefix, tensor_names=[name], shape_and_slices=[""], dtypes=[dt])[0]),
                dtype=object).reshape(shape)
        else:
            value = reader.get_tensor(name)
        rec = record(name, dt.name, value)
        rec["shape"] = shape
        nelem = int(np.prod(shape)) if shape else 1
        if dt == tf.string and len(rec["strings_hex"]) != nelem:
            raise SystemExit("%s: %d string elements for shape %s" % (name,
                                                                      len(rec["strings_hex"]), shape))
        if dt not in (tf.string, tf.variant) and rec["nbytes"] != nelem * dt.size:
            raise SystemExit("%s: %d bytes, expected %d x %d" % (name, rec["nbytes"], nelem, dt.size))
        out.append(rec)
    manifest = {"prefix": prefix_name, "tf_version": tf.__version__, "variables": out}
    try:
        sliced = sliced_names(prefix + ".index")
    except ValueError:  # a compressed block: none of our cases write one
        sliced = []
    if sliced:
        # Partitioned tensors: the entry has no shard/offset of its own; the bytes come from
        # several slice entries, possibly on several shards.
        manifest["sliced"] = sliced
    if notes:
        manifest["notes"] = notes
    with open(os.path.join(case_dir, "manifest.json"), "w", encoding="utf-8") as f:
        # Big manifests stay compact: one line per variable would double the fixture size.
        indent = 1 if len(out) < 1000 else None
        json.dump(manifest, f, indent=indent, ensure_ascii=False, sort_keys=True)
        f.write("\n")
    return manifest


def save_raw(prefix, named_tensors):
    """Write one V2 bundle with tf.raw_ops.SaveV2 (arbitrary names and dtypes)."""
    import tensorflow as tf

    names = [n for n, _ in named_tensors]
    tensors = [t for _, t in named_tensors]
    tf.raw_ops.SaveV2(prefix=prefix, tensor_names=names, shape_and_slices=[""] * len(names),
                      tensors=tensors)


def _varint(buf, pos):
    val = shift = 0
    while True:
        b = buf[pos]
        val |= (b & 0x7F) << shift
        pos += 1
        shift += 7
        if not b & 0x80:
            return val, pos


def _block_entries(buf, off, size):
    """(key, value) pairs of one uncompressed table block at buf[off:off+size]."""
    if buf[off + size] != 0:
        raise ValueError("compressed block: not parsed here")
    blk = buf[off:off + size]
    nrest = int.from_bytes(blk[-4:], "little")
    end = len(blk) - 4 * (1 + nrest)
    pos, key, out = 0, b"", []
    while pos < end:
        shared, pos = _varint(blk, pos)
        nonshared, pos = _varint(blk, pos)
        vlen, pos = _varint(blk, pos)
        key = key[:shared] + blk[pos:pos + nonshared]
        pos += nonshared
        out.append((key, blk[pos:pos + vlen]))
        pos += vlen
    return out


def index_entries(index_path):
    """All (key, value) pairs of an .index table with uncompressed blocks (what TF writes)."""
    with open(index_path, "rb") as f:
        buf = f.read()
    footer = buf[-48:]
    _, p = _varint(footer, 0)
    _, p = _varint(footer, p)
    ioff, p = _varint(footer, p)
    isize, p = _varint(footer, p)
    out = []
    for _, handle in _block_entries(buf, ioff, isize):
        boff, q = _varint(handle, 0)
        bsize, _ = _varint(handle, q)
        out += _block_entries(buf, boff, bsize)
    return out


def header_num_shards(index_path):
    """num_shards of the header (key ""), decoded with TensorFlow's own proto class."""
    from tensorflow.core.protobuf import tensor_bundle_pb2

    for key, val in index_entries(index_path):
        if key == b"":
            return tensor_bundle_pb2.BundleHeaderProto.FromString(val).num_shards
    raise SystemExit("%s: no header entry" % index_path)


def sliced_names(index_path):
    """Names whose BundleEntryProto lists slices (a partitioned tensor stored as pieces)."""
    from tensorflow.core.protobuf import tensor_bundle_pb2

    # TF's rule (checkpoint_reader.cc BuildV2VarMaps): a full entry is one that lists slices;
    # a leading 0 byte says nothing, since a tensor's own name may start with one.
    return [key.decode("utf-8") for key, val in index_entries(index_path)
            if key and tensor_bundle_pb2.BundleEntryProto.FromString(val).slices]


def slice_specs(index_path):
    """{name: [shape_and_slice spec]} of every partitioned tensor, from TF's own proto class:
    the strings RestoreV2 (and so Saver.restore) takes to read one stored piece."""
    from tensorflow.core.protobuf import tensor_bundle_pb2

    out = {}
    for key, val in index_entries(index_path):
        e = tensor_bundle_pb2.BundleEntryProto.FromString(val) if key else None
        if not e or not e.slices:
            continue
        dims = [d.size for d in e.shape.dim]
        specs = []
        for sl in e.slices:
            ext = [("%d,%d" % (x.start, x.length)) if x.HasField("length") else "-"
                   for x in sl.extent]
            specs.append(" ".join(str(d) for d in dims) + " " + ":".join(ext))
        out[key.decode("utf-8")] = specs
    return out


def restore_sliced(prefix, name, dtype, shape, specs):
    """The whole tensor `name`, stored as slices, the way Saver.restore reads a partitioned
    variable: RestoreV2 of each piece by its slice spec, the pieces placed by numpy. (TF's
    get_tensor refuses string and variant tensors stored as slices.)"""
    import numpy as np
    import tensorflow as tf

    full = np.empty(shape, dtype=object)
    for spec in specs:
        piece = tf.raw_ops.RestoreV2(prefix=prefix, tensor_names=[name],
                                     shape_and_slices=[spec], dtypes=[dtype])[0]
        box = []
        for d, ext in enumerate(spec.split(" ")[-1].split(":")):
            if ext == "-":
                box.append(slice(0, shape[d]))
            else:
                st, ln = (int(x) for x in ext.split(","))
                box.append(slice(st, st + ln))
        if dtype == tf.variant:
            vals = np.array(variant_elements(piece), dtype=object).reshape(piece.shape)
        else:
            vals = piece.numpy()
        full[tuple(box)] = vals
    return full


def variant_elements(t):
    """Each element of variant tensor t as TF's text_format of its VariantTensorDataProto."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import make_variant_fixture

    return make_variant_fixture.element_texts(t)



# ---------------------------------------------------------------------------------------------
# cases


def case_sample(case_dir):
    """TF1 graph-mode MLP trained two Adam steps, saved by tf.compat.v1.train.Saver with .meta."""
    import numpy as np
    import tensorflow as tf

    v1 = tf.compat.v1
    v1.disable_eager_execution()
    g = tf.Graph()
    with g.as_default():
        v1.set_random_seed(1234)
        x = v1.placeholder(tf.float32, [None, 784], name="x")
        y = v1.placeholder(tf.int64, [None], name="y")
        with v1.variable_scope("dense"):
            kernel = v1.get_variable("kernel", [784, 10], tf.float32,
                                     initializer=v1.glorot_uniform_initializer(seed=1))
            bias = v1.get_variable("bias", [10], tf.float32, initializer=v1.zeros_initializer())
        logits = tf.matmul(x, kernel) + bias
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits))
        step = v1.train.get_or_create_global_step()
        train = v1.train.AdamOptimizer(0.01).minimize(loss, global_step=step)
        saver = v1.train.Saver()
        rng = np.random.RandomState(7)
        with v1.Session(graph=g) as sess:
            sess.run(v1.global_variables_initializer())
            for _ in range(2):
                sess.run(train, {x: rng.rand(32, 784).astype(np.float32),
                                 y: rng.randint(0, 10, size=32)})
            saver.save(sess, os.path.join(case_dir, "model.ckpt"))
    assert os.path.exists(os.path.join(case_dir, "model.ckpt.meta"))
    return "model.ckpt", None


def case_keras_tf2(case_dir):
    """TF2 object-based checkpoint of a small Keras model and its Adam optimizer after 1 step."""
    import numpy as np
    import tensorflow as tf
    import keras

    keras.utils.set_random_seed(42)
    model = keras.Sequential([
        keras.Input(shape=(8,)),
        keras.layers.Dense(16, activation="relu", name="hidden"),
        keras.layers.Dense(3, name="out"),
    ])
    opt = keras.optimizers.Adam(0.01)
    model.compile(optimizer=opt, loss="mse")
    rng = np.random.RandomState(3)
    model.train_on_batch(rng.rand(4, 8).astype(np.float32), rng.rand(4, 3).astype(np.float32))
    ckpt = tf.train.Checkpoint(model=model, optimizer=opt)
    path = ckpt.write(os.path.join(case_dir, "ckpt"))
    return os.path.basename(path), None


def case_sharded(case_dir):
    """TF1 Saver(sharded=True) with variables on two CPU devices: 2 data shards, merged index."""
    import numpy as np
    import tensorflow as tf

    v1 = tf.compat.v1
    v1.disable_eager_execution()
    g = tf.Graph()
    rng = np.random.RandomState(11)
    with g.as_default():
        with tf.device("/cpu:0"):
            a = v1.Variable(rng.rand(20, 30).astype(np.float32), name="tower0/w")
            b = v1.Variable(np.arange(7, dtype=np.int64), name="tower0/step_counts")
            s = v1.Variable(np.array([b"on cpu0", b"x\ny"], dtype=object), name="tower0/labels")
        with tf.device("/cpu:1"):
            c = v1.Variable(rng.rand(5, 6, 7).astype(np.float64), name="tower1/w")
            d = v1.Variable(rng.rand(40).astype(np.float16), name="tower1/b")
            e = v1.Variable(np.float32(3.25), name="tower1/scale")
        saver = v1.train.Saver([a, b, s, c, d, e], sharded=True)
        cfg = v1.ConfigProto(device_count={"CPU": 2})
        with v1.Session(graph=g, config=cfg) as sess:
            sess.run(v1.global_variables_initializer())
            saver.save(sess, os.path.join(case_dir, "model.ckpt"), write_meta_graph=False)
    n = header_num_shards(os.path.join(case_dir, "model.ckpt.index"))
    files = sorted(f for f in os.listdir(case_dir) if f.startswith("model.ckpt.data-"))
    want = ["model.ckpt.data-%05d-of-%05d" % (i, n) for i in range(n)]
    if n < 2 or files != want:
        raise SystemExit("sharded: header num_shards=%d, data files %s" % (n, files))
    return "model.ckpt", "header num_shards=%d; data files: %s" % (n, ", ".join(files))


def case_sliced(case_dir):
    """TF2 checkpoint written with MaxShardSizePolicy: tensors larger than the limit are split
    into slices across several shards (slice keys + a full-tensor entry listing its slices)."""
    import numpy as np
    import tensorflow as tf

    rng = np.random.RandomState(21)
    m = tf.Module()
    m.big = tf.Variable(rng.randn(300, 10).astype(np.float32))
    m.ids = tf.Variable(np.arange(700, dtype=np.int64).reshape(7, 100) * 3 - 5)
    m.small = tf.Variable(np.array([1.5, -2.5], dtype=np.float32))
    m.words = tf.Variable(np.array([b"alpha", b"", b"gamma\n"], dtype=object))
    ckpt = tf.train.Checkpoint(m=m)
    opts = tf.train.CheckpointOptions(
        experimental_sharding_callback=tf.train.experimental.MaxShardSizePolicy(
            max_shard_size=4000))
    path = ckpt.write(os.path.join(case_dir, "ckpt"), options=opts)
    n = header_num_shards(path + ".index")
    if n < 3:
        raise SystemExit("sliced: only %d shards" % n)
    return os.path.basename(path), "header num_shards=%d; big and ids are stored as slices" % n


# Element strings for the string tensors of the dtypes case: the awkward bytes of tstring.h.
STRINGS = [b"", b"plain", b"line1\nline2", b"tab\there", b"back\\slash", b"cr\rlf\r\n",
           "unicode: h\u00e9llo \u4e16\u754c \U0001f600".encode("utf-8"), bytes(range(256)),
           b"\xff\xfe invalid utf8 \xc3", b"\x7f del", b"trailing newline\n", b"\\n literal"]

# The dtypes beyond the classic list: TF 2.21 knows them; keep the ones it saves and reads back.
EXTRA_DTYPES = ["qint8", "quint8", "qint16", "quint16", "qint32", "float8_e5m2", "float8_e4m3fn",
                "float8_e4m3fnuz", "float8_e4m3b11fnuz", "float8_e5m2fnuz", "int4", "uint4",
                "int2", "uint2", "float4_e2m1fn"]


def case_dtypes(case_dir):
    """One or more tensors of every dtype TF 2.21 saves, strings with every awkward byte."""
    import numpy as np
    import tensorflow as tf
    import ml_dtypes

    rng = np.random.RandomState(5)
    t = []
    t.append(("float16", tf.constant(rng.randn(3, 4).astype(np.float16))))
    t.append(("float32", tf.constant(rng.randn(2, 3, 4).astype(np.float32))))
    t.append(("float32_specials", tf.constant(np.array(
        [0.0, -0.0, np.inf, -np.inf, np.nan, 1e-45, 3.4028235e38], dtype=np.float32))))
    t.append(("float64", tf.constant(rng.randn(5).astype(np.float64))))
    t.append(("bfloat16", tf.constant(rng.randn(4, 2).astype(ml_dtypes.bfloat16))))
    for it in ["int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"]:
        info = np.iinfo(it)
        vals = np.array([info.min, info.max, 0, 1, info.max // 3], dtype=it)
        t.append((it, tf.constant(vals)))
    t.append(("bool", tf.constant(np.array([[True, False, True], [False, False, True]]))))
    t.append(("complex64", tf.constant((rng.randn(3) + 1j * rng.randn(3)).astype(np.complex64))))
    t.append(("complex128", tf.constant((rng.randn(2, 2) + 1j * rng.randn(2, 2)).astype(np.complex128))))
    t.append(("string_1d", tf.constant(np.array(STRINGS, dtype=object))))
    t.append(("string_2d", tf.constant(np.array([[b"r0c0", b""], [b"r1\nc0", "\u00fc".encode()],
                                                  [b"\x00nul", b"end\\"]], dtype=object))))
    t.append(("string_empty_list", tf.constant(np.zeros([0], dtype=object).astype(bytes),
                                               dtype=tf.string)))
    t.append(("string_only_empty", tf.constant([b""])))
    t.append(("scalar/string", tf.constant(b"a scalar string\twith tab")))
    t.append(("scalar/float32", tf.constant(np.float32(-1.5))))
    t.append(("scalar/int64", tf.constant(np.int64(-(2 ** 62)))))
    t.append(("scalar/bool", tf.constant(True)))
    t.append(("scalar/float64", tf.constant(np.float64(np.pi))))
    t.append(("scalar/uint8", tf.constant(np.uint8(200))))
    t.append(("scalar/bfloat16", tf.constant(np.array(1.25, dtype=ml_dtypes.bfloat16))))
    t.append(("empty/float32_0x3", tf.zeros([0, 3], tf.float32)))
    t.append(("empty/int64_0", tf.zeros([0], tf.int64)))
    t.append(("empty/string_2x0", tf.constant(np.zeros([2, 0], dtype=object).astype(bytes),
                                              dtype=tf.string)))
    t.append(("big/float32_64x64", tf.constant(rng.randn(64, 64).astype(np.float32))))

    refused = []
    small = {1: np.int8, 2: np.int16, 4: np.int32}
    for name in EXTRA_DTYPES:
        try:
            dt = tf.as_dtype(name)
            if name.startswith("q"):
                base = tf.constant(np.array([1, -2, 3, 0x7f, 0], dtype=small[dt.size]))
                if name.startswith("qu"):
                    base = tf.constant(np.array([1, 2, 3, 0x7f, 0], dtype=small[dt.size]))
                val = tf.raw_ops.Bitcast(input=base, type=dt)
            else:
                val = tf.constant(np.array([0.5, 1.0, -2.0, 3.0, 0.0], dtype=np.float32)
                                  .astype(dt.as_numpy_dtype))
            probe = os.path.join(case_dir, "probe_" + name)
            save_raw(probe, [("x", val)])
            back = tf.train.load_checkpoint(probe).get_tensor("x")
            if np.ascontiguousarray(back).tobytes() != np.ascontiguousarray(val.numpy()).tobytes():
                raise ValueError("read back differs")
            t.append(("extra/" + name, val))
        except Exception as e:  # noqa: BLE001 - a refusal is the result we record
            refused.append("%s: %s: %s" % (name, type(e).__name__, str(e).splitlines()[0][:160]))
        finally:
            for f in os.listdir(case_dir):
                if f.startswith("probe_"):
                    os.remove(os.path.join(case_dir, f))
    save_raw(os.path.join(case_dir, "dtypes"), t)
    note = "refused dtypes: " + ("; ".join(refused) if refused else "none")
    print("dtypes:", note)
    return "dtypes", note


def case_many(case_dir):
    """9,600 small tensors with long, deep names: an index of several 256 KiB table blocks."""
    import numpy as np
    import tensorflow as tf

    rng = np.random.RandomState(99)
    tails = ["conv2d_transpose/kernel/.ATTRIBUTES/VARIABLE_VALUE",
             "conv2d_transpose/kernel/.OPTIMIZER_SLOT/optimizer/m/.ATTRIBUTES/VARIABLE_VALUE",
             "conv2d_transpose/kernel/.OPTIMIZER_SLOT/optimizer/v/.ATTRIBUTES/VARIABLE_VALUE",
             "batch_normalization.gamma/moving_variance/ExponentialMovingAverage",
             "self_attention/query_projection/bias/Adam_1",
             "self_attention/query_projection/bias",
             "self_attention/query_projection/bias/Adam",
             "mlp.dense_1/kernel"]
    names = []
    for blk in range(1200):
        for layer, tail in enumerate(tails):
            names.append("block_%04d/layer_%d/sub.module_with_a_longer_descriptive_name/%s"
                         % (blk, layer, tail))
    names += ["a", "a/b", "a/b/c", "a.b", "a/b.c", "a/bc", "a0"]
    names = sorted(set(names))
    tensors = []
    for i, n in enumerate(names):
        kind = i % 4
        if kind == 0:
            v = tf.constant(np.float32(rng.randn()))
        elif kind == 1:
            v = tf.constant(rng.randn(3).astype(np.float32))
        elif kind == 2:
            v = tf.constant(np.int64(i))
        else:
            v = tf.constant(rng.randint(0, 255, size=(2, 2)).astype(np.uint8))
        tensors.append((n, v))
    save_raw(os.path.join(case_dir, "many"), tensors)
    size = os.path.getsize(os.path.join(case_dir, "many.index"))
    if size < 1 << 20:
        raise SystemExit("many: index only %d bytes" % size)
    return "many", "%d tensors, index %d bytes" % (len(names), size)


def case_names(case_dir):
    """Odd names: dots, '.'/'..' components, empty components, long, non-ASCII, collisions."""
    import numpy as np
    import tensorflow as tf

    candidates = [
        "plain", "with.dot", "x/./y", "x/../y", "./lead", "../up", "a//b", "trailing/", "/leading",
        "//double_leading", "c" * 300, "deep/" + "d" * 300 + "/leaf", "caf\u00e9/\u00fcber",
        "\u65e5\u672c/\u8a9e", "emoji/\U0001f600", "with space", " leading space", "kernel",
        "kernel.shape", "kernel.dtype", "kernel/", "kernel/x", "k/kernel", "k/kernel.shape",
        "tab\there", "new\nline", "back\\slash", "percent%2F", "variables.tsv", ".", "..",
        "dir/.", "dir/..", "dir/.hidden", "ctrl\x01char", "del\x7f", "colon:0", "a.b/c.d/e",
    ]
    accepted, refused = [], []
    for i, name in enumerate(candidates):
        val = tf.constant(np.array([i, i + 1], dtype=np.int32))
        probe = os.path.join(case_dir, "probe")
        try:
            save_raw(probe, [(name, val)])
            back = tf.train.load_checkpoint(probe)
            if name not in back.get_variable_to_dtype_map():
                raise ValueError("not listed on read back")
            accepted.append((name, val))
        except Exception as e:  # noqa: BLE001
            refused.append("%r: %s: %s" % (name, type(e).__name__, str(e).splitlines()[0][:120]))
        finally:
            for f in os.listdir(case_dir):
                if f.startswith("probe"):
                    os.remove(os.path.join(case_dir, f))
    accepted.append(("strings/names", tf.constant(["/", "..", "a\nb"])))
    save_raw(os.path.join(case_dir, "names"), accepted)
    note = "refused names: " + ("; ".join(refused) if refused else "none")
    print("names:", note)
    return "names", note


def save_sliced(prefix, plain, sliced):
    """One V2 bundle by one tf.raw_ops.SaveV2: `plain` (name, tensor) whole, and for each
    (name, full value, [(spec, piece)]) of `sliced` the pieces under their slice specs, as a
    partitioner's SaveSliceInfo would write them."""
    import tensorflow as tf

    names, specs, tensors = [], [], []
    for n, t in plain:
        names.append(n), specs.append(""), tensors.append(t)
    for n, _, pieces in sliced:
        for spec, piece in pieces:
            names.append(n), specs.append(spec), tensors.append(piece)
    tf.raw_ops.SaveV2(prefix=prefix, tensor_names=names, shape_and_slices=specs, tensors=tensors)


def tensor_lists(rows):
    """A variant tensor: one TensorList per row of floats (stacked, so of shape [len(rows)])."""
    import tensorflow as tf

    return tf.stack([tf.raw_ops.TensorListFromTensor(
        tensor=tf.constant(r, tf.float32), element_shape=tf.constant([], tf.int32))
        for r in rows])


def case_hostile_names(case_dir):
    """Names TF saves and lists that a file tree must still show: a leading NUL (also on a
    partitioned tensor, whose slice keys then start with two NULs), names that look like
    options, and names equal to what the mount generates (NAME.raw beside NAME and NAME/b,
    sidecar suffixes, root files)."""
    import numpy as np
    import tensorflow as tf

    names = ["\x00", "\x00lead", "\x00/x", "nul\x00mid", "--index-only", "-", "-n", "a", "a.raw",
             "a/b", "x", "x.shape", "x.dtype", "x.npy", "x.raw", "x.raw.shape", "y.shape",
             "variables.tsv", "graph.pbtxt", "meta_graph.pbtxt", "graph.dot",
             "object_graph.pbtxt", "saved_model.pbtxt", "signatures.txt", "sub/variables.tsv",
             "sub/graph.pbtxt", "end%", "%", "%.raw", "pct%/q", "raw.raw/z"]
    plain = [(n, tf.constant(np.array([i, -i], dtype=np.int32))) for i, n in enumerate(names)]
    plain.append(("\x00str", tf.constant([b"lead\x00nul", b"", b"-"])))
    full = np.arange(8, dtype=np.float32).reshape(4, 2) / 4
    sliced = [("\x00part", full, [("4 2 0,2:0,2", tf.constant(full[0:2])),
                                   ("4 2 2,2:0,2", tf.constant(full[2:4]))])]
    save_sliced(os.path.join(case_dir, "hostile"), plain, sliced)
    return "hostile", "SaveV2 by hand; \\x00part is stored as 2 slices"


def case_partitioned_strings(case_dir):
    """String variables cut by fixed_size_partitioner (axis 0, and axis 1 of a matrix), saved
    by tf.compat.v1.train.Saver; plus, by hand with SaveV2, a string tensor and a variant tensor
    (TensorLists) stored as slices, pieces given out of order. TF's get_tensor refuses all of
    them; the manifest restores each piece by RestoreV2 with its slice spec, as Saver.restore
    does, and places the pieces with numpy."""
    import numpy as np
    import tensorflow as tf

    words = np.array([b"alpha", b"", b"gam\nma", b"\x00nul", b"\xff\xfe", b"tab\t", b"z"],
                     dtype=object)
    grid = np.array([[b"r%dc%d" % (r, c) + b"!" * (r * c) for c in range(5)]
                     for r in range(3)], dtype=object)
    v1 = tf.compat.v1
    g = tf.Graph()
    with g.as_default():
        fixed = v1.fixed_size_partitioner
        init = v1.constant_initializer("")
        with v1.variable_scope("model"):
            w = v1.get_variable("words", [7], tf.string, initializer=init, partitioner=fixed(3))
            m = v1.get_variable("grid", [3, 5], tf.string, initializer=init,
                                partitioner=fixed(2, axis=1))
        assigns = []
        for var, value in ((w, words), (m, grid)):
            for part in var:
                info = part._get_save_slice_info()
                box = tuple(slice(o, o + n) for o, n in zip(info.var_offset, info.var_shape))
                assigns.append(part.assign(value[box]))
        saver = v1.train.Saver()
        with v1.Session(graph=g) as sess:
            sess.run(assigns)
            saver.save(sess, os.path.join(case_dir, "model.ckpt"), write_meta_graph=False)
    # Saver.restore reads every part back: the proof TF accepts what it wrote.
    with tf.Graph().as_default() as g2:
        with v1.variable_scope("model"):
            w2 = v1.get_variable("words", [7], tf.string, partitioner=v1.fixed_size_partitioner(3))
        with v1.Session(graph=g2) as sess:
            v1.train.Saver([w2]).restore(sess, os.path.join(case_dir, "model.ckpt"))
            got = np.concatenate([sess.run(p) for p in w2])
            if list(got) != list(words):
                raise SystemExit("partitioned_strings: Saver.restore gave %r" % (got,))
    for f in os.listdir(case_dir):
        if f == "checkpoint":
            os.remove(os.path.join(case_dir, f))
    return "model.ckpt", "fixed_size_partitioner(3) on a string [7], (2, axis=1) on a string [3, 5]"


def case_sliced_variants(case_dir):
    """A variant tensor (TensorLists) and a string tensor stored as slices by SaveV2, pieces on
    axis 0 and on axis 1, given out of order, next to whole ones."""
    import numpy as np
    import tensorflow as tf

    rows = [[1.0], [2.0, 3.0], [], [4.5, -1.0, 0.25], [7.0]]
    var = tensor_lists(rows)
    text = np.array([[b"a0", b"a1\n", b""], [b"b0", b"\x00", b"b2\\"]], dtype=object)
    t = tf.constant(text)
    sliced = [
        ("lists", None, [("5 3,2", var[3:5]), ("5 0,3", var[0:3])]),
        ("words/2d", None, [("2 3 0,2:2,1", t[:, 2:3]), ("2 3 0,2:0,2", t[:, 0:2])]),
    ]
    plain = [("lists_whole", var), ("words/whole", t)]
    save_sliced(os.path.join(case_dir, "sv"), plain, sliced)
    return "sv", "SaveV2 by hand: lists (variant [5]) in 2 slices, words/2d (string [2, 3]) in 2"


# ---------------------------------------------------------------------------------------------
# driver


# Cases whose manifest the fixture tests must not iterate yet (none at present).
PENDING = {}


def run_case(case, out):
    case_dir = os.path.join(out, case)
    prefix, note = globals()["case_" + case](case_dir)
    m = write_manifest(case_dir, prefix, note)
    if case in PENDING:
        os.rename(os.path.join(case_dir, "manifest.json"), os.path.join(case_dir, PENDING[case]))
    print("%s: %d variables, prefix %s" % (case, len(m["variables"]), prefix))


def drive(script, doc, cases, run_case, hidden=(), then=()):
    """The command line of a fixture generator: [--out DIR] [CASE...]. Each case is deleted and
    rewritten by a child process (`script --in-process`, which calls run_case(case, out));
    `then` are further generator scripts (relative to the repository) run when no argument was
    given, each a (script, [args])."""
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("--out", default=DEFAULT_OUT)
    ap.add_argument("--in-process", action="store_true", help=argparse.SUPPRESS)
    for opt in hidden:
        ap.add_argument(opt, help=argparse.SUPPRESS)
    ap.add_argument("cases", nargs="*", default=cases)
    args = ap.parse_args()
    for c in args.cases:
        if c not in cases:
            ap.error("unknown case %r (known: %s)" % (c, ", ".join(cases)))
    if args.in_process:
        for c in args.cases:
            run_case(c, args.out)
        return
    failed = []
    for c in args.cases:
        case_dir = os.path.join(args.out, c)
        shutil.rmtree(case_dir, ignore_errors=True)
        os.makedirs(case_dir)
        r = subprocess.run([sys.executable, os.path.abspath(script), "--in-process",
                            "--out", args.out, c])
        if r.returncode != 0:
            failed.append(c)
    if len(sys.argv) == 1:
        for other, extra in then:
            if subprocess.run([sys.executable, os.path.join(REPO, other)] + extra).returncode:
                failed.append(other)
    subprocess.run(["du", "-shc"] + [os.path.join(args.out, c) for c in args.cases])
    if failed:
        sys.exit("failed cases: " + ", ".join(failed))


def main():
    drive(__file__, __doc__, CASES, run_case,
          then=(("scripts/make_fixtures_layouts.py", []),
                ("scripts/make_graph_fixtures.py", []),
                ("scripts/make_variant_fixture.py",
                 [os.path.join(REPO, "tests", "e2e", "variant")])))


if __name__ == "__main__":
    main()
