#!/usr/bin/env python3
"""Regenerate the layout fixtures under tests/fixtures/: partitioned V2, V1, a training folder,
SavedModels, written by real TensorFlow with TensorFlow's own reading as the manifest.

Cases (each deleted and rewritten, each in its own Python process):
  partitioned   tf.compat.v1 variables cut by fixed_size_partitioner / min_max_variable_partitioner
                on axis 0 and 1 (one 3-D on axis 1), 2..5 parts, Adam slots partitioned too; V2
  v1            Saver(write_version=V1): one table file, several dtypes, a scalar, a string,
                partitioned variables on axis 0 and 1
  v1_sharded    Saver(sharded=True, write_version=V1) over two CPU devices: -NNNNN-of-00002 files
  folder        a training folder: Saver saving steps 10, 20, 30 plus the `checkpoint` state file
  savedmodel    savedmodel/tf2 (tf.saved_model.save of a tf.Module), savedmodel/tf1
                (SavedModelBuilder) and savedmodel/const (a model of constants: no variables/)

Manifest format: the one of scripts/make_fixtures.py ({"prefix", "tf_version", "variables":
[{"name", "dtype", "shape", "sha256", "nbytes" | "strings_hex"}]}), computed by its own
write_manifest (tf.train.load_checkpoint) for V2 cases. Additions:
  - V1 cases: "format": "v1"; each variable has "oracle": "load_checkpoint" when
    tf.train.load_checkpoint(prefix).get_tensor(name) reads it, else "saver_restore": the
    checkpoint restored into a fresh graph by import_meta_graph + Saver.restore and the variable
    read with Session.run (partitioned ones: the parts concatenated in var_offset order).
    "refused" lists the dtypes TF 2.21 would not save as V1.
  - folder: "steps": {prefix: [variables]} for every checkpoint of the state file.
  - savedmodel/<case>/manifest.json: "prefix" is "variables/variables".
  - a case folder with a `checkpoint` state file: "tf_latest_checkpoint", the path
    tf.train.latest_checkpoint(folder) returns, relative to the folder.
Usage: scripts/make_fixtures_layouts.py [--out DIR] [CASE...]
"""
import json
import os
import subprocess
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.dont_write_bytecode = True

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import make_fixtures as mf  # noqa: E402  (write_manifest and friends)

CASES = ["partitioned", "v1", "v1_sharded", "folder", "savedmodel"]



def stamp_state_file(case_dir):
    """Rewrite the folder's `checkpoint` state file through TF with a fixed save timestamp, as
    CheckpointManager records one: the fixture then also exercises the timestamp fields (and
    no longer happens to be byte-identical to a third-party state file)."""
    import tensorflow as tf
    tf.compat.v1.train.update_checkpoint_state(
        case_dir, "model.ckpt", all_model_checkpoint_paths=["model.ckpt"],
        all_model_checkpoint_timestamps=[1764115200.0])

def quiet_tf():
    import logging
    import tensorflow as tf
    tf.get_logger().setLevel(logging.ERROR)  # the V1-format deprecation banner on every save
    return tf


def dump(case_dir, manifest):
    with open(os.path.join(case_dir, "manifest.json"), "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=1, ensure_ascii=False, sort_keys=True)
        f.write("\n")


def part_count(v):
    return len(list(v)) if hasattr(v, "_get_variable_list") else 1


# ---------------------------------------------------------------------------------------------
# partitioned V2


def case_partitioned(case_dir):
    """Partitioned variables (slices in the V2 index) with partitioned Adam slots."""
    import numpy as np
    tf = quiet_tf()

    v1 = tf.compat.v1
    v1.disable_eager_execution()
    g = tf.Graph()
    parts = {}
    with g.as_default():
        v1.set_random_seed(55)
        init = v1.random_normal_initializer(seed=3)
        fixed = v1.fixed_size_partitioner
        minmax = v1.min_max_variable_partitioner
        with v1.variable_scope("model"):
            # [10, 4] float32 in 3 uneven row blocks (4, 3, 3).
            w0 = v1.get_variable("fixed_axis0", [10, 4], initializer=init,
                                 partitioner=fixed(3, axis=0))
            # [3, 10] in 2 column blocks: the hard case, each row is split across slices.
            w1 = v1.get_variable("fixed_axis1", [3, 10], initializer=init,
                                 partitioner=fixed(2, axis=1))
            # 20 x 6 x 4 B = 480 bytes, min slice 100 bytes -> 5 parts along rows.
            w2 = v1.get_variable("minmax_axis0", [20, 6], initializer=init,
                                 partitioner=minmax(max_partitions=5, axis=0, min_slice_size=100))
            # 4 x 9 x 4 B = 144 bytes, min slice 40 bytes -> 4 parts along 9 columns.
            w3 = v1.get_variable("minmax_axis1", [4, 9], initializer=init,
                                 partitioner=minmax(max_partitions=4, axis=1, min_slice_size=40))
            # 3-D, split along the middle axis into 4 (3, 2, 2, 2).
            w4 = v1.get_variable("fixed_3d_axis1", [2, 9, 3], initializer=init,
                                 partitioner=fixed(4, axis=1))
            # float64 and int64 partitioned variables (not trained).
            w5 = v1.get_variable("f64_axis0", [7, 2], tf.float64, initializer=init,
                                 partitioner=fixed(2, axis=0))
            w6 = v1.get_variable("i64_axis1", [2, 5], tf.int64,
                                 initializer=v1.random_uniform_initializer(
                                     -1000, 1000, dtype=tf.int64, seed=8),
                                 partitioner=fixed(5, axis=1), trainable=False)
            b = v1.get_variable("bias", [4], initializer=v1.zeros_initializer())
        for v in (w0, w1, w2, w3, w4, w5, w6):
            parts[v.name] = part_count(v)
        x = v1.constant(np.random.RandomState(1).rand(5, 10).astype(np.float32))
        h = tf.matmul(x, tf.concat(list(w0), 0)) + b               # [5, 4]
        h2 = tf.matmul(h, tf.concat(list(w3), 1))                   # [5, 9]
        h3 = tf.matmul(tf.reduce_sum(tf.concat(list(w4), 1), 2), tf.transpose(h2))  # [2, 5]
        loss = (tf.reduce_sum(tf.square(h3)) + tf.reduce_sum(tf.concat(list(w1), 1))
                + tf.reduce_sum(tf.concat(list(w2), 0)))
        step = v1.train.get_or_create_global_step()
        train = v1.train.AdamOptimizer(0.05).minimize(loss, global_step=step)
        saver = v1.train.Saver(save_relative_paths=True)
        with v1.Session(graph=g) as sess:
            sess.run(v1.global_variables_initializer())
            for _ in range(2):
                sess.run(train)
            saver.save(sess, os.path.join(case_dir, "model.ckpt"), write_meta_graph=False)
    stamp_state_file(case_dir)
    bad = [n for n, c in parts.items() if not 2 <= c <= 5]
    if bad:
        raise SystemExit("partitioned: part counts out of 2..5: %s" % parts)
    return "model.ckpt", "parts: " + ", ".join("%s=%d" % kv for kv in sorted(parts.items()))


# ---------------------------------------------------------------------------------------------
# V1


V1_DTYPES = ["float32", "float64", "int32", "int64", "int8", "uint8", "int16", "uint16", "bool",
             "float16", "bfloat16", "complex64", "complex128", "uint32", "uint64"]


def v1_value(dt, rng, shape):
    import numpy as np
    import ml_dtypes

    if dt == "bool":
        return rng.rand(*shape) > 0.5
    if dt.startswith("complex"):
        return (rng.randn(*shape) + 1j * rng.randn(*shape)).astype(dt)
    if dt == "bfloat16":
        return rng.randn(*shape).astype(ml_dtypes.bfloat16)
    if dt.startswith("float"):
        return rng.randn(*shape).astype(dt)
    info = np.iinfo(dt)
    flat = np.array([info.min, info.max, 0, 1, info.max // 3, info.min // 5][:int(np.prod(shape))]
                    + [7] * max(0, int(np.prod(shape)) - 6), dtype=dt)
    return flat.reshape(shape)


def probe_v1_dtype(dt, value):
    """None if TF saves a V1 checkpoint holding `value`, else the error text."""
    import tempfile
    tf = quiet_tf()
    from tensorflow.core.protobuf import saver_pb2

    v1 = tf.compat.v1
    g = tf.Graph()
    with g.as_default(), tempfile.TemporaryDirectory() as tmp:
        try:
            var = v1.Variable(value, name="probe")
            s = v1.train.Saver([var], write_version=saver_pb2.SaverDef.V1)
            with v1.Session(graph=g) as sess:
                sess.run(var.initializer)
                s.save(sess, os.path.join(tmp, "p"), write_meta_graph=False)
        except Exception as e:  # noqa: BLE001 - a refusal is the result we record
            # The status line ("UNIMPLEMENTED: ...") says why; the first line is generic.
            lines = [ln.strip() for ln in str(e).splitlines()]
            why = [ln for ln in lines if "support" in ln or "not implemented" in ln
                   or "Unsupported" in ln or (":" in ln and ln.split(":")[0].isupper())]
            return "%s: %s" % (type(e).__name__, (why or lines or [""])[0][:200])
    return None


def build_v1(case_dir, sharded):
    """Write the V1 checkpoint (model.ckpt[-NNNNN-of-00002] + .meta + state file)."""
    import numpy as np
    tf = quiet_tf()
    from tensorflow.core.protobuf import saver_pb2

    v1 = tf.compat.v1
    v1.disable_eager_execution()
    rng = np.random.RandomState(77 if sharded else 17)
    refused = []
    g = tf.Graph()
    with g.as_default():
        variables = []
        # Two devices for the sharded save: one V1 file per device.
        devs = ["/cpu:0", "/cpu:1"] if sharded else ["/cpu:0"]
        for i, dt in enumerate(V1_DTYPES):
            shape = [2, 3] if i % 2 == 0 else [5]
            val = v1_value(dt, rng, shape)
            why = probe_v1_dtype(dt, val)
            if why:
                refused.append("%s: %s" % (dt, why))
                continue
            with tf.device(devs[i % len(devs)]):
                variables.append(v1.Variable(val, name="dtypes/" + dt))
        with tf.device(devs[-1]):
            variables.append(v1.Variable(np.float32(-2.75), name="scalar_f32"))
            variables.append(v1.Variable(np.int64(-(2 ** 40) - 3), name="global_step"))
        with tf.device(devs[0]):
            variables.append(v1.Variable(np.array([b"alpha", b"", b"tab\tnew\nline"],
                                                  dtype=object), name="strings/words"))
            # Partitioned initializers see one part at a time: seeded random ones only.
            seed = 31 if sharded else 13
            w = v1.get_variable("part/axis0", [7, 3],
                                initializer=v1.random_normal_initializer(seed=seed),
                                partitioner=v1.fixed_size_partitioner(3, 0))
        with tf.device(devs[-1]):
            u = v1.get_variable("part/axis1", [2, 9], tf.float64,
                                initializer=v1.random_normal_initializer(seed=seed + 1,
                                                                         dtype=tf.float64),
                                partitioner=v1.fixed_size_partitioner(4, 1))
            k = v1.get_variable("part/int32_axis0", [5, 2], tf.int32,
                                initializer=v1.random_uniform_initializer(
                                    -100, 100, dtype=tf.int32, seed=seed + 2),
                                partitioner=v1.fixed_size_partitioner(2, 0))
        saver = v1.train.Saver(sharded=sharded, write_version=saver_pb2.SaverDef.V1,
                               save_relative_paths=True)
        cfg = v1.ConfigProto(device_count={"CPU": len(devs)})
        with v1.Session(graph=g, config=cfg) as sess:
            sess.run(v1.global_variables_initializer())
            path = saver.save(sess, os.path.join(case_dir, "model.ckpt"))
        stamp_state_file(case_dir)
        parts = {"part/axis0": part_count(w), "part/axis1": part_count(u),
                 "part/int32_axis0": part_count(k)}
    return path, refused, parts


def v1_manifest(case_dir, prefix_name, tf_path, meta_name, refused, notes):
    """Manifest of a V1 checkpoint: load_checkpoint where it can, Saver.restore elsewhere.
    tf_path is what Saver.save returned (a sharded set is named by its "-?????-of-" pattern)."""
    import numpy as np
    tf = quiet_tf()

    v1 = tf.compat.v1
    prefix = tf_path
    # Oracle 2: restore into a fresh graph from the .meta Saver wrote, read every variable.
    restored = {}
    g = tf.Graph()
    with g.as_default():
        saver = v1.train.import_meta_graph(os.path.join(case_dir, meta_name))
        with v1.Session(graph=g, config=v1.ConfigProto(device_count={"CPU": 2})) as sess:
            saver.restore(sess, prefix)
            full = {}
            for var in v1.global_variables():
                val = sess.run(var)
                info = getattr(var, "_save_slice_info", None)
                dt = var.dtype.base_dtype.name
                if info is not None:
                    full.setdefault(info.full_name, (dt, info.full_shape, []))[2].append(
                        (list(info.var_offset), val))
                else:
                    restored[var.op.name] = (dt, val)
            for name, (dt, full_shape, pieces) in full.items():
                out = np.zeros(full_shape, dtype=pieces[0][1].dtype)
                covered = 0
                for off, val in pieces:
                    idx = tuple(slice(o, o + n) for o, n in zip(off, val.shape))
                    out[idx] = val
                    covered += val.size
                if covered != out.size:
                    raise SystemExit("%s: parts cover %d of %d elements" % (name, covered,
                                                                           out.size))
                restored[name] = (dt, out)
    # Oracle 1: TF's checkpoint reader (not for slices nor several dtypes of V1).
    try:
        reader = tf.train.load_checkpoint(prefix)
        listed = reader.get_variable_to_dtype_map()
    except Exception as e:  # noqa: BLE001
        reader, listed = None, {}
        notes += "; load_checkpoint refused the checkpoint: %s" % str(e).splitlines()[0][:120]
    out = []
    for name in sorted(restored, key=lambda s: s.encode("utf-8")):
        dt, val = restored[name]
        oracle = "saver_restore"
        if reader is not None and name in listed:
            try:
                got = reader.get_tensor(name)
            except Exception:  # noqa: BLE001 - "Sliced checkpoints are not supported", ...
                got = None
            if got is not None:
                # Both oracles read it: they must agree before either is trusted.
                if mf.record(name, dt, got) != mf.record(name, dt, val):
                    raise SystemExit("%s: load_checkpoint and Saver.restore disagree" % name)
                val, oracle = got, "load_checkpoint"
        rec = mf.record(name, dt, val)
        rec["oracle"] = oracle
        out.append(rec)
    m = {"prefix": prefix_name, "tf_version": tf.__version__, "format": "v1", "variables": out,
         "refused": refused, "notes": notes}
    dump(case_dir, m)
    return m


def case_v1(case_dir):
    path, refused, parts = build_v1(case_dir, sharded=False)
    name = os.path.basename(path)
    if not os.path.isfile(path):
        raise SystemExit("v1: no single file %s" % path)
    v1_manifest(case_dir, name, path, name + ".meta", refused,
                "parts: %s" % ", ".join("%s=%d" % kv for kv in sorted(parts.items())))
    return None


def case_v1_sharded(case_dir):
    path, refused, parts = build_v1(case_dir, sharded=True)
    files = sorted(f for f in os.listdir(case_dir) if "-of-" in f)
    if files != ["model.ckpt-00000-of-00002", "model.ckpt-00001-of-00002"]:
        raise SystemExit("v1_sharded: files %s (saved as %s)" % (files, path))
    # The manifest names the first file: ckptfs finds the set from any member.
    v1_manifest(case_dir, files[0], path, "model.ckpt.meta", refused,
                "saved as %s; files %s; parts: %s" % (
                    os.path.basename(path), ", ".join(files),
                    ", ".join("%s=%d" % kv for kv in sorted(parts.items()))))
    return None


# ---------------------------------------------------------------------------------------------
# training folder


def case_folder(case_dir):
    """Saver over 3 training steps (10, 20, 30): three V2 checkpoints and the state file."""
    import numpy as np
    tf = quiet_tf()

    v1 = tf.compat.v1
    v1.disable_eager_execution()
    g = tf.Graph()
    prefixes = []
    with g.as_default():
        v1.set_random_seed(9)
        w = v1.get_variable("layer/w", [3, 2], initializer=v1.random_normal_initializer(seed=4))
        b = v1.get_variable("layer/b", [2], initializer=v1.zeros_initializer())
        step = v1.train.get_or_create_global_step()
        x = v1.constant(np.arange(6, dtype=np.float32).reshape(2, 3) / 6)
        loss = tf.reduce_sum(tf.square(tf.matmul(x, w) + b - 1.0))
        train = v1.train.AdagradOptimizer(0.1).minimize(loss, global_step=step)
        saver = v1.train.Saver(max_to_keep=5, save_relative_paths=True)
        with v1.Session(graph=g) as sess:
            sess.run(v1.global_variables_initializer())
            for _ in range(3):
                for _ in range(10):
                    sess.run(train)
                p = saver.save(sess, os.path.join(case_dir, "model.ckpt"), global_step=step,
                               write_meta_graph=False)
                prefixes.append(os.path.basename(p))
    state = tf.train.get_checkpoint_state(case_dir)
    latest = os.path.basename(state.model_checkpoint_path)
    if latest != prefixes[-1] or len(state.all_model_checkpoint_paths) != 3:
        raise SystemExit("folder: state file %s" % state)
    steps = {}
    for p in prefixes:
        steps[p] = mf.write_manifest(case_dir, p)["variables"]
    m = mf.write_manifest(case_dir, latest, "steps %s; state file (relative paths) names %s"
                          % (", ".join(prefixes), latest))
    m["steps"] = steps
    dump(case_dir, m)
    return None


# ---------------------------------------------------------------------------------------------
# SavedModel


def sm_tf2(case_dir):
    import numpy as np
    tf = quiet_tf()

    class Affine(tf.Module):
        def __init__(self):
            super().__init__()
            self.w = tf.Variable(np.arange(6, dtype=np.float32).reshape(3, 2) / 4 - 0.5, name="w")
            self.b = tf.Variable(np.array([0.25, -1.0], dtype=np.float32), name="b")

        @tf.function(input_signature=[tf.TensorSpec([None, 3], tf.float32, name="x")])
        def __call__(self, x):
            return {"y": tf.matmul(x, self.w) + self.b}

    m = Affine()
    tf.saved_model.save(m, case_dir, signatures={"serving_default": m.__call__})
    return "SavedModel(tf.Module, 2 variables, signature serving_default)"


def tf1_save(case_dir, make):
    """A TF1 graph with placeholder x (float32 [None]) saved by SavedModelBuilder, tags [serve],
    signature serving_default x -> y, where make(x) gives (y, an init op or None)."""
    tf = quiet_tf()
    v1 = tf.compat.v1
    v1.disable_eager_execution()
    g = tf.Graph()
    with g.as_default():
        x = v1.placeholder(tf.float32, [None], name="x")
        y, init = make(x)
        builder = v1.saved_model.Builder(case_dir)
        sig = v1.saved_model.predict_signature_def({"x": x}, {"y": y})
        with v1.Session(graph=g) as sess:
            if init is not None:
                sess.run(init)
            builder.add_meta_graph_and_variables(sess, ["serve"],
                                                 signature_def_map={"serving_default": sig})
        builder.save()


def sm_tf1(case_dir):
    import numpy as np
    tf = quiet_tf()
    v1 = tf.compat.v1

    def make(x):
        a = v1.Variable(np.float32(0.5), name="a")
        b = v1.Variable(np.array([2.0, 3.0], dtype=np.float64), name="b")
        return a * x + tf.cast(b[0], tf.float32), v1.global_variables_initializer()

    tf1_save(case_dir, make)
    return "TF1 SavedModelBuilder, tags [serve], variables a (float32), b (float64)"


def sm_const(case_dir):
    import shutil
    tf = quiet_tf()
    v1 = tf.compat.v1
    tf1_save(case_dir, lambda x: (tf.add(x * 2.0, tf.constant(1.0), name="y"), None))
    # A model of constants needs no checkpoint, and TF's loader restores nothing when
    # variables/ is absent: that is the case to cover.
    shutil.rmtree(os.path.join(case_dir, "variables"), ignore_errors=True)
    with tf.Graph().as_default() as g2, v1.Session(graph=g2) as sess:
        v1.saved_model.loader.load(sess, ["serve"], case_dir)
        got = sess.run("y:0", {"x:0": [1.0, 2.0]})
    if list(got) != [3.0, 5.0]:
        raise SystemExit("savedmodel/const: TF computes %r without variables/" % (got,))
    return None


def case_savedmodel(case_dir):
    if len(sys.argv) > 1 and "--sub" in sys.argv:
        sub = sys.argv[sys.argv.index("--sub") + 1]
        d = os.path.join(case_dir, sub)
        os.makedirs(d, exist_ok=True)
        note = {"tf2": sm_tf2, "tf1": sm_tf1, "const": sm_const}[sub](d)
        if note:
            mf.write_manifest(d, "variables/variables", note)
        return None
    # TF1 graph mode and eager cannot share a process: one child per SavedModel.
    for sub in ("tf2", "tf1", "const"):
        r = subprocess.run([sys.executable, os.path.abspath(__file__), "--in-process", "--out",
                            os.path.dirname(case_dir), "savedmodel", "--sub", sub])
        if r.returncode:
            raise SystemExit("savedmodel/%s failed" % sub)
    return None


# ---------------------------------------------------------------------------------------------
# driver


def run_case(case, out):
    case_dir = os.path.join(out, case)
    res = globals()["case_" + case](case_dir)
    if res is not None:  # (prefix, note) for a plain V2 case: the common manifest
        prefix, note = res
        mf.write_manifest(case_dir, prefix, note)
    if os.path.isfile(os.path.join(case_dir, "checkpoint")):
        # What TF itself resolves the folder to: the truth for `ckptfs ls FOLDER`.
        tf = quiet_tf()
        mpath = os.path.join(case_dir, "manifest.json")
        with open(mpath, encoding="utf-8") as f:
            m = json.load(f)
        latest = tf.train.latest_checkpoint(case_dir)
        m["tf_latest_checkpoint"] = latest and os.path.relpath(latest, case_dir)
        dump(case_dir, m)
    print("%s: done" % case)


def main():
    mf.drive(__file__, __doc__, CASES, run_case, hidden=("--sub",))


if __name__ == "__main__":
    main()
