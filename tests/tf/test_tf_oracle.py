#!/usr/bin/env python3
"""TensorFlow as the oracle: fresh random checkpoints, `ckptfs ls`/`cat` vs tf.train.load_checkpoint.

Skips (77) when tensorflow cannot be imported. Each run writes new checkpoints into a temp dir
from a seed taken from the clock (printed; set CKPT_ORACLE_SEED to replay one): random dtypes,
shapes (zero-sized and scalars included), names and string contents via tf.raw_ops.SaveV2; a
small Keras model with its optimizer via tf.train.Checkpoint; a TF2 checkpoint split into
several shards and slices by MaxShardSizePolicy. Where $CKPT_REALCKPT exists, its readable V2
checkpoints are compared with TensorFlow too. Budget: well under a minute.
"""
import os
import random
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.dont_write_bytecode = True  # keep the source tree free of __pycache__
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import ckpt_testlib as tl  # noqa: E402

T = tl.Checks()
# Seconds the comparisons may take, counted from after TensorFlow's import (which alone takes
# seconds on a busy machine); running over fails the test rather than dropping comparisons.
BUDGET = float(os.environ.get("CKPT_ORACLE_BUDGET", "120"))

NUMERIC = ["float16", "float32", "float64", "bfloat16", "int8", "int16", "int32", "int64",
           "uint8", "uint16", "uint32", "uint64", "bool", "complex64", "complex128"]
NAME_PARTS = ["kernel", "bias", "Adam", "Adam_1", "layer_0", "dense", "a.b", "x", "..", ".",
              "with space", "\u00fcber", "\u4e2d", "", "v" * 40, "k.shape", "ATTRIBUTES"]


def random_name(rng):
    return "/".join(rng.choice(NAME_PARTS) for _ in range(rng.randint(1, 4))) + \
        "_%d" % rng.randint(0, 999)


def random_tensor(rng, np, tf, ml_dtypes):
    rank = rng.choice([0, 1, 1, 2, 2, 3])
    shape = [rng.choice([0, 1, 2, 3, 5, 8]) if rng.random() < 0.1 else rng.randint(1, 7)
             for _ in range(rank)]
    n = int(np.prod(shape)) if shape else 1
    if rng.random() < 0.2:
        if n == 0:
            return tf.constant(np.zeros(shape, dtype=bytes), dtype=tf.string)
        elems = []
        for _ in range(n):
            k = rng.choice([0, 1, 3, 10, 40, 200])
            kind = rng.random()
            if kind < 0.4:
                elems.append(bytes(rng.getrandbits(8) for _ in range(k)))
            elif kind < 0.7:
                elems.append("".join(rng.choice("ab\n\t\\\r \u00e9\u4e16\U0001f600")
                                     for _ in range(k)).encode("utf-8"))
            else:
                elems.append(bytes(rng.choice(b"xyz09") for _ in range(k)))
        arr = np.array(elems + [b""], dtype=object)[:n].reshape(shape)
        return tf.constant(arr, dtype=tf.string)
    dt = rng.choice(NUMERIC)
    nprng = np.random.RandomState(rng.getrandbits(31))

    def gauss():
        return np.asarray(nprng.standard_normal(size=tuple(shape)))

    if dt == "bool":
        arr = gauss() < 0
    elif dt.startswith("complex"):
        arr = (gauss() + 1j * gauss()).astype(dt)
    elif dt == "bfloat16":
        arr = gauss().astype(ml_dtypes.bfloat16)
    elif dt.startswith("float"):
        arr = (gauss() * 100).astype(dt)
    else:
        info = np.iinfo(dt)
        arr = np.random.default_rng(rng.getrandbits(63)).integers(
            info.min, info.max, size=tuple(shape), dtype=dt, endpoint=True)
    return tf.constant(np.asarray(arr).reshape(shape))


def compare(label, prefix, tf, np, index_only=False, check_data=True):
    """ckptfs ls/cat of prefix against TensorFlow's reader of the same checkpoint."""
    reader = tf.train.load_checkpoint(prefix)
    dmap = reader.get_variable_to_dtype_map()
    smap = reader.get_variable_to_shape_map()
    want = sorted(dmap, key=lambda s: s.encode("utf-8"))
    r = tl.ckptfs(*(["ls", "-l"] + (["--index-only"] if index_only else []) + [prefix]))
    if not T.ok(r.rc == 0, "%s: %s" % (label, r.describe())):
        return
    try:
        rows = tl.parse_ls(r.out)
    except ValueError as e:
        T.ok(False, "%s: unparsable ls output: %s" % (label, e))
        return
    T.eq([x.name for x in rows], [n.encode("utf-8") for n in want], label + " names")
    got = {x.name: x for x in rows}
    for n in want:
        row = got.get(n.encode("utf-8"))
        if row is None:
            continue
        what = "%s: %r" % (label, n)
        dt = tf.as_dtype(dmap[n])
        T.eq(row.dtype, dt.name, what + " dtype")
        T.eq(row.shape, [int(d) for d in smap[n]], what + " shape")
        if not check_data:
            continue
        c = tl.ckptfs("cat", prefix, n.encode("utf-8"))
        if not T.ok(c.rc == 0, what + ": " + c.describe()):
            continue
        value = reader.get_tensor(n)
        if dt == tf.string:
            elems = [bytes(e) for e in np.asarray(value, dtype=object).reshape(-1)]
            T.eq(c.out, tl.text_form(elems), what + " text form vs TF elements")
        else:
            want_bytes = np.ascontiguousarray(value).tobytes()
            T.eq(row.nbytes, len(want_bytes), what + " bytes column")
            T.ok(c.out == want_bytes, "%s: cat differs from TF's value (%d vs %d bytes; first "
                 "diff at %s)" % (what, len(c.out), len(want_bytes), next(
                     (i for i, (a, b) in enumerate(zip(c.out, want_bytes)) if a != b), "end")))


def main():
    np = tl.oracle("numpy")
    tf = tl.oracle("tensorflow")  # skips without TF; fails in CI (tests/README.md "Skips")
    ml_dtypes = tl.oracle("ml_dtypes")  # comes with TensorFlow
    keras = tl.oracle("keras")  # imported here: the budget counts comparisons, not imports
    t0 = time.time()
    tl.ckptfs_path()
    seed = int(os.environ.get("CKPT_ORACLE_SEED") or time.time())
    print("seed %d (CKPT_ORACLE_SEED=%d replays this run)" % (seed, seed))
    rng = random.Random(seed)
    tf.random.set_seed(seed % (2 ** 31))

    with tempfile.TemporaryDirectory(prefix="ckptfs_oracle_") as tmp:
        # 1. Random raw tensors with random names.
        named = {}
        while len(named) < 60:
            named.setdefault(random_name(rng), random_tensor(rng, np, tf, ml_dtypes))
        items = list(named.items())
        rng.shuffle(items)  # data order = save order, not name order
        p1 = os.path.join(tmp, "random")
        tf.raw_ops.SaveV2(prefix=p1, tensor_names=[k for k, _ in items],
                          shape_and_slices=[""] * len(items), tensors=[v for _, v in items])
        compare("random", p1, tf, np)

        # 2. A small Keras model and its optimizer after one step.
        keras.utils.set_random_seed(seed % (2 ** 31))
        width = rng.randint(2, 12)
        model = keras.Sequential([keras.Input(shape=(5,)),
                                  keras.layers.Dense(width, activation="tanh"),
                                  keras.layers.Dense(2)])
        opt = rng.choice([keras.optimizers.Adam, keras.optimizers.RMSprop,
                          keras.optimizers.SGD])(0.01)
        model.compile(optimizer=opt, loss="mse")
        model.train_on_batch(np.random.RandomState(seed % 1000).rand(3, 5).astype("float32"),
                             np.zeros((3, 2), "float32"))
        p2 = tf.train.Checkpoint(model=model, optimizer=opt).write(os.path.join(tmp, "keras"))
        compare("keras", p2, tf, np)

        # 3. Several shards, big tensors split into slices.
        m = tf.Module()
        nprng = np.random.RandomState(seed % (2 ** 31))
        m.big = tf.Variable(nprng.randn(rng.randint(100, 300), 8).astype("float32"))
        m.mid = tf.Variable(nprng.randint(0, 1000, size=(50, 7)).astype("int64"))
        m.tag = tf.Variable(["sharded", "\u00fc\n"])
        opts = tf.train.CheckpointOptions(
            experimental_sharding_callback=tf.train.experimental.MaxShardSizePolicy(
                max_shard_size=rng.choice([1500, 3000, 5000])))
        p3 = tf.train.Checkpoint(m=m).write(os.path.join(tmp, "sliced"), options=opts)
        compare("sliced", p3, tf, np)

    # 4. Real checkpoints (V2, all shards present), and index-only listings where data is gone.
    real = tl.realckpt_dir()
    if not os.path.isdir(real):
        tl.missing("../shared/realckpt", "no real checkpoints at %s" % real, whole=False)
    else:
        full = ["serving_v2_half_plus_two_tf012/export",
                "serving_sm_half_plus_two_tf214/variables/variables",
                "serving_sm_tf_text_regression_vars/variables/variables",
                "rust_sm_regression_tf121/variables/variables",
                "little_ruan_tf2_2shard/model.ckpt",
                "t2t_transformer_2shard/model.ckpt-1",
                "estimator_dnn_iris_train_2017/model.ckpt-2000",
                "estimator_linear_partitioned1_tf15/model.ckpt-5160"]
        for rel in full:
            p = os.path.join(real, rel)
            if T.ok(os.path.exists(p + ".index"), "%s.index is missing from %s" % (rel, real)):
                compare("real " + rel, p, tf, np)
        for rel in ["t5x_mtf_tiny_bf16_partial/model.ckpt-0", "swift_index_only/minigo",
                    "swift_index_only/resnet_savedmodel_variables"]:
            p = os.path.join(real, rel)
            if T.ok(os.path.exists(p + ".index"), "%s.index is missing from %s" % (rel, real)):
                compare("real (index only) " + rel, p, tf, np, index_only=True, check_data=False)
    took = time.time() - t0
    print("comparisons took %.1f s (budget %.0f s, CKPT_ORACLE_BUDGET)" % (took, BUDGET))
    T.ok(took <= BUDGET, "comparisons took %.1f s, over the %.0f s budget" % (took, BUDGET))
    T.summary()


if __name__ == "__main__":
    main()
