#!/usr/bin/env python3
"""TensorFlow restores models from `ckptfs export` bundles stripped of their optimizer.

Truth: TensorFlow itself, now. A Keras 3 model trained one step with Adam and saved by
tf.train.Checkpoint(model, optimizer) is exported with the optimizer's state excluded by its full names ('adam/*'); a fresh
model of the same architecture restores from the export with tf.train.Checkpoint(model=m) and
must hold the trained weights exactly; the export's object graph names only keys the export
holds (the graph was pruned consistently), and the Adam slots are gone. A TF1 graph saved by
tf.compat.v1.train.Saver with Adam slots is exported with '*/Adam*' and the beta powers
excluded; a graph with only the model's variables restores it through Saver and reads the
saved values. Skips (77) when tensorflow or keras cannot be imported.
"""
import os
import shutil
import sys
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import ckpt_testlib as tl  # noqa: E402

T = tl.Checks()

if os.environ.get("CKPT_NO_TF") == "1":
    tl.skip("CKPT_NO_TF=1")
try:
    import numpy as np
    import tensorflow as tf
    import keras
    from tensorflow.core.protobuf import trackable_object_graph_pb2
except Exception as e:  # noqa: BLE001
    tl.skip("tensorflow / keras not importable: %s" % e)

OPT_STATE = "adam/*"  # the full names Keras 3 gives its Adam's state


def make_model(seed):
    keras.utils.set_random_seed(seed)
    return keras.Sequential([keras.Input((5,)), keras.layers.Dense(4, activation="relu"),
                             keras.layers.Dense(3)])


def case_keras(tmp):
    m = make_model(1)
    opt = keras.optimizers.Adam(0.1)
    x = np.random.RandomState(0).standard_normal((8, 5)).astype("float32")
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(m(x) ** 2)
    opt.apply_gradients(zip(tape.gradient(loss, m.trainable_variables), m.trainable_variables))
    src = tf.train.Checkpoint(model=m, optimizer=opt).save(os.path.join(tmp, "keras", "ckpt"))
    dst = os.path.join(tmp, "keras_small", "model")
    os.makedirs(os.path.dirname(dst))
    r = tl.ckptfs("export", "--exclude", OPT_STATE, src, dst)
    if not T.ok(r.rc == 0, "keras export: " + r.describe()):
        return
    src_keys = set(k for k, _ in tf.train.list_variables(src))
    got = tf.train.load_checkpoint(dst)
    keys = set(got.get_variable_to_shape_map())
    T.ok(any(k.startswith("optimizer/_variables/") for k in src_keys),
         "the source has Adam's state under optimizer/_variables/")
    T.eq(keys, set(k for k in src_keys if not k.startswith(("optimizer/_variables/",
                                                           "optimizer/_iterations/",
                                                           "optimizer/_learning_rate/"))),
         "keras export: exactly the model's keys (and the object graph) remain")
    g = trackable_object_graph_pb2.TrackableObjectGraph()
    g.ParseFromString(got.get_tensor("_CHECKPOINTABLE_OBJECT_GRAPH"))
    named = set(a.checkpoint_key for n in g.nodes for a in n.attributes)
    T.ok(named and named <= keys, "keras export: the object graph names only kept keys: %r" %
         sorted(named - keys)[:5])
    T.ok(all(not n.slot_variables for n in g.nodes),
         "keras export: no slot-variable references survive")
    fresh = make_model(2)
    T.ok(not all(np.array_equal(a.numpy(), b.numpy())
                 for a, b in zip(fresh.weights, m.weights)), "a fresh model starts different")
    tf.train.Checkpoint(model=fresh).restore(dst).expect_partial()
    for a, b in zip(fresh.weights, m.weights):
        T.ok(np.array_equal(a.numpy(), b.numpy()), "keras restore from the export: %s" % b.path)


def case_saver(tmp):
    d = os.path.join(tmp, "tf1")
    g = tf.Graph()
    with g.as_default():
        x = tf.compat.v1.placeholder(tf.float32, [None, 6])
        w = tf.compat.v1.get_variable("dense/kernel", [6, 3])
        b = tf.compat.v1.get_variable("dense/bias", [3])
        y = tf.matmul(x, w) + b
        step = tf.compat.v1.train.get_or_create_global_step()
        loss = tf.reduce_sum(y ** 2)
        train = tf.compat.v1.train.AdamOptimizer(0.1).minimize(loss, global_step=step)
        saver = tf.compat.v1.train.Saver()
        with tf.compat.v1.Session(graph=g) as s:
            s.run(tf.compat.v1.global_variables_initializer())
            s.run(train, {x: np.ones((2, 6), "float32")})
            want = {v.op.name: s.run(v) for v in tf.compat.v1.global_variables()}
            src = saver.save(s, os.path.join(d, "model.ckpt"))
    dst = os.path.join(tmp, "tf1_small", "model.ckpt")
    os.makedirs(os.path.dirname(dst))
    r = tl.ckptfs("export", "--exclude", "*/Adam*:beta*_power", src, dst)
    if not T.ok(r.rc == 0, "TF1 export: " + r.describe()):
        return
    keys = set(k for k, _ in tf.train.list_variables(dst))
    T.eq(keys, {"dense/kernel", "dense/bias", "global_step"}, "TF1 export: the model's keys")
    g2 = tf.Graph()
    with g2.as_default():
        w = tf.compat.v1.get_variable("dense/kernel", [6, 3])
        b = tf.compat.v1.get_variable("dense/bias", [3])
        step = tf.compat.v1.train.get_or_create_global_step()
        with tf.compat.v1.Session(graph=g2) as s:
            tf.compat.v1.train.Saver().restore(s, dst)
            for v in (w, b, step):
                T.ok(np.array_equal(s.run(v), want[v.op.name]),
                     "Saver restore from the export: %s" % v.op.name)


def main():
    tl.ckptfs_path()
    tmp = tempfile.mkdtemp(prefix="ckptfs-exp-tf-")
    try:
        case_keras(tmp)
        case_saver(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    T.summary()


if __name__ == "__main__":
    main()
