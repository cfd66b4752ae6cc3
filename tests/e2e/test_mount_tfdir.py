#!/usr/bin/env python3
"""tf/ in real FUSE mounts: the view's variables as a V2 checkpoint TF restores (docs/mount.md,
"tf/").

Truth: TensorFlow itself (tf.train.load_checkpoint of the source and of MNT/tf/model, get_tensor
of every key; tf.train.Checkpoint(model=m).restore of a Keras 3 model this test trains and
saves), the fixtures' manifest.json (sha256 of every numeric tensor's bytes as TF read them at
generation), and the mount's data-read counter (root xattr user.ckpt.data_reads).
Consistency, not truth: the mount's tf/model.index and data file are byte for byte what
`ckptfs export SRC PREFIX` writes (the same layout code).

Checks: for the fixtures dtypes, partitioned, v1, savedmodel/tf2, tf2_keras_adam and
tf2_tf1_optimizer, listing the root and tf/ reads no data; every key TF reads from the source
reads equal from MNT/tf/model (keys left out are only those a bundle cannot hold); `cp -r
MNT/tf DIR` restores the same; the files equal the export's. With -o exclude='adam/*' on a
Keras 3 checkpoint (Keras 3 keeps the model's weights under optimizer/,
so its optimizer state is named by full name: 'adam/*'), the optimizer's state is gone, the object graph names only kept keys, and a
fresh model of the same architecture restores the trained weights from MNT/tf/model.
Exit 0 pass, 1 fail, 77 skip (no FUSE; no TensorFlow outside CI).
"""
import gc
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import test_mount as tm  # noqa: E402
import ckpt_testlib as tl  # noqa: E402

check = tm.check
OPT_STATE = "adam/*"  # the full names Keras 3 gives its Adam's state
CASES = ["dtypes", "partitioned", "v1", "savedmodel/tf2", "tf2_keras_adam", "tf2_tf1_optimizer"]
DATA = "model.data-00000-of-00001"
STATE = b'model_checkpoint_path: "model"\nall_model_checkpoint_paths: "model"\n'


def same(a, b):
    """Two get_tensor results hold the same values (strings elementwise, the rest bytewise)."""
    import numpy as np
    if isinstance(a, bytes) or isinstance(b, bytes):
        return a == b
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype == object or b.dtype == object:
        return a.shape == b.shape and list(a.ravel()) == list(b.ravel())
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def tensors(tf, prefix):
    """key -> value of every tensor TF reads at prefix; keys it lists but cannot read -> None.
    The reader is dropped on return: it holds the files open (a mount could not go away)."""
    r = tf.train.load_checkpoint(prefix)
    out = {}
    for k in r.get_variable_to_shape_map():
        try:
            out[k] = r.get_tensor(k)
        except Exception:  # noqa: BLE001 - a dtype TF's Python side has no numpy type for
            out[k] = None
    return out


def compare(what, got, want, variables):
    """got: MNT/tf/model (or its copy) as TF reads it; want: the source as TF reads it."""
    missing = sorted(set(want) - set(got))
    # left out: what a bundle cannot hold here (cmd_export.c: no dtype size, not a string,
    # not a whole variant); none of the fixtures has such a variable
    check(not missing, "%s: keys missing from tf/model: %r" % (what, missing[:5]))
    check(set(got) <= set(want), "%s: extra keys %r" % (what, sorted(set(got) - set(want))[:5]))
    sha = {v["name"]: v["sha256"] for v in variables if "sha256" in v}
    n = 0
    for k, w in want.items():
        g = got.get(k)
        if w is None and g is not None and k in sha and getattr(g, "dtype", None) != object:
            # TF's V1 reader has no float16, uint16, complex... (UnimplementedError): the
            # manifest's sha256 of TF's bytes at generation is the truth then
            check(hashlib.sha256(g.tobytes()).hexdigest() == sha[k],
                  "%s: %r differs from the manifest's sha256" % (what, k))
            n += 1
            continue
        if not check(g is not None and w is not None and same(g, w),
                     "%s: %r differs from TF's reading of the source (or has no truth)"
                     % (what, k)):
            continue
        if k in sha and hasattr(g, "tobytes") and getattr(g, "dtype", None) != object:
            check(hashlib.sha256(g.tobytes()).hexdigest() == sha[k],
                  "%s: %r differs from the manifest's sha256" % (what, k))
        n += 1
    check(n > 0, "%s: no tensor compared" % what)
    return n


def check_listing(what, mt, strings):
    """Listing the root, tf/'s attributes and tf/'s names read nothing; `ls -l` of the root
    (which sizes a string variable's own file, not tf/'s business) does not lay tf/ out either:
    with string tensors in the checkpoint, the first stat of tf/model.index is what reads."""
    before = mt.data_reads()
    os.listdir(mt.mnt)
    os.lstat(mt.path(b"tf"))
    os.listdir(mt.path(b"tf"))
    check(mt.data_reads() == before, "%s: listing the root and tf/ read %d times from data"
          % (what, mt.data_reads() - before))
    subprocess.run(["ls", "-l", mt.mnt], capture_output=True, check=True)
    before = mt.data_reads()
    os.stat(mt.path(b"tf/model.index"))
    if strings:
        check(mt.data_reads() > before, "%s: tf/ was laid out before its first stat" % what)


def check_fixture(tf, tmp, case):
    d = os.path.join(tm.FIXTURES, case)
    with open(os.path.join(d, "manifest.json")) as f:
        m = json.load(f)
    prefix = os.path.join(d, m["prefix"])
    src = d if case.startswith("savedmodel") else prefix
    want = tensors(tf, prefix)
    with tm.Mount(src, what=case) as mt:
        check_listing(case, mt, any(v["dtype"] == "string" for v in m["variables"]))
        tfd = mt.path(b"tf")
        check(sorted(os.listdir(tfd)) == [b"checkpoint", DATA.encode(), b"model.index"],
              "%s: tf/ lists %r" % (case, os.listdir(tfd)))
        with open(os.path.join(tfd, b"checkpoint"), "rb") as f:
            check(f.read() == STATE, "%s: tf/checkpoint" % case)
        sizes = {n: os.stat(os.path.join(tfd, n.encode())).st_size for n in ("model.index", DATA)}
        n = compare(case, tensors(tf, os.path.join(mt.mnt, "tf", "model")), want, m["variables"])
        # the size the first stat gave is the size a read gives
        for name, size in sizes.items():
            with open(os.path.join(tfd, name.encode()), "rb") as f:
                check(len(f.read()) == size, "%s: tf/%s stat %d, read other" % (case, name, size))
        # cp -r is the conversion
        dst = os.path.join(tmp, case.replace("/", "_") + "_cp")
        r = subprocess.run(["cp", "-r", os.path.join(mt.mnt, "tf"), dst], capture_output=True)
        if check(r.returncode == 0, "%s: cp -r failed: %s" % (case, r.stderr[:200])):
            compare(case + " (cp -r)", tensors(tf, os.path.join(dst, "model")), want, m["variables"])
        # the same bytes as `ckptfs export` (consistency: shared layout)
        exp = os.path.join(tmp, case.replace("/", "_") + "_export")
        r = tl.ckptfs("export", src, exp)
        if check(r.rc == 0, "%s: export: %s" % (case, r.describe())):
            for name, suffix in (("model.index", ".index"), (DATA, ".data-00000-of-00001")):
                with open(exp + suffix, "rb") as a, open(os.path.join(tfd, name.encode()), "rb") as b:
                    check(a.read() == b.read(), "%s: tf/%s differs from the export's" % (case, name))
    print("fixture %s: %d tensors equal TF's" % (case, n), flush=True)


def make_model(keras, seed):
    keras.utils.set_random_seed(seed)
    return keras.Sequential([keras.Input((5,)), keras.layers.Dense(4, activation="relu"),
                             keras.layers.Dense(3)])


def check_keras(tf, tmp):
    """A Keras 3 training checkpoint, optimizer excluded at mount, restores a fresh model."""
    import numpy as np
    keras = tl.oracle("keras")
    from tensorflow.core.protobuf import trackable_object_graph_pb2
    m = make_model(keras, 1)
    opt = keras.optimizers.Adam(0.1)
    x = np.random.RandomState(0).standard_normal((8, 5)).astype("float32")
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(m(x) ** 2)
    opt.apply_gradients(zip(tape.gradient(loss, m.trainable_variables), m.trainable_variables))
    src = tf.train.Checkpoint(model=m, optimizer=opt).save(os.path.join(tmp, "keras", "ckpt"))
    src_keys = set(k for k, _ in tf.train.list_variables(src))
    check(any(k.startswith("optimizer/") for k in src_keys), "keras: the source has optimizer keys")
    # Keras 3 saves the model's weights first under the optimizer
    # (optimizer/_trainable_variables/N): the optimizer's own state is what its full names
    # 'adam/*' name (as tests/tf/test_export_restore_tf.py strips it).
    dropped = ("optimizer/_variables/", "optimizer/_iterations/", "optimizer/_learning_rate/")
    with tm.Mount(src, ["-o", "exclude=" + OPT_STATE], what="keras") as mt:
        check_listing("keras", mt, True)
        prefix = os.path.join(mt.mnt, "tf", "model")
        got = tf.train.load_checkpoint(prefix)
        keys = set(got.get_variable_to_shape_map())
        check(keys == set(k for k in src_keys if not k.startswith(dropped)),
              "keras: tf/model holds %r" % sorted(keys ^ src_keys)[:6])
        g = trackable_object_graph_pb2.TrackableObjectGraph()
        g.ParseFromString(got.get_tensor("_CHECKPOINTABLE_OBJECT_GRAPH"))
        del got  # holds the files open
        named = set(a.checkpoint_key for n in g.nodes for a in n.attributes)
        check(named and named <= keys, "keras: the object graph names dropped keys %r"
              % sorted(named - keys)[:5])
        fresh = make_model(keras, 2)
        check(not all(np.array_equal(a.numpy(), b.numpy()) for a, b in zip(fresh.weights, m.weights)),
              "keras: a fresh model starts different")
        status = tf.train.Checkpoint(model=fresh).restore(prefix).expect_partial()
        for a, b in zip(fresh.weights, m.weights):
            check(np.array_equal(a.numpy(), b.numpy()), "keras: restore from tf/ gave other %s" % b.path)
        del status
        gc.collect()
    print("keras: a fresh model restored %d weights from tf/model" % len(m.weights), flush=True)


def main():
    tm.require_fuse()
    tl.oracle("numpy")
    tf = tl.oracle("tensorflow")
    tmp = tempfile.mkdtemp(prefix="ckptfs-tfdir-")
    try:
        for case in CASES:
            if os.path.isfile(os.path.join(tm.FIXTURES, case, "manifest.json")):
                check_fixture(tf, tmp, case)
            else:
                tl.missing("fixture " + case, "tests/fixtures/%s has no manifest.json" % case,
                           whole=False)
        check_keras(tf, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    sys.exit(tm.outcome())


if __name__ == "__main__":
    main()
