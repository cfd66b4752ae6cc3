#!/usr/bin/env python3
"""Regenerate the TF 2 naming fixtures under tests/fixtures/tf2_*/ (issue: TF 2 checkpoints by
the names people know).

Each case is a checkpoint TensorFlow 2.21 writes today through the object graph, read back with
tf.train.load_checkpoint into manifest.json exactly as scripts/make_fixtures.py does, plus what
TF's own TrackableObjectGraph parser says of it: "full_names" ({key: full_name}) and "slots"
([[slot key, original key, slot name]]). Those are the truth the name tests compare with.

  tf2_keras_adam      Keras 3 Sequential + Adam after a train step, tf.train.Checkpoint(model=, optimizer=)
  tf2_keras_bn_sgd    Keras 3 functional model with BatchNormalization, SGD with momentum, an int64 step
  tf2_keras_noopt     the same model saved without its optimizer
  tf2_module_shared   a tf.Module tree whose two blocks each have a variable named "w"
  tf2_tf1_optimizer   tf.compat.v1.train.AdamOptimizer inside tf.train.Checkpoint (.OPTIMIZER_SLOT keys)
  tf2_tfkeras_weights tf_keras (Keras 2) model.save_weights(prefix)
  tf2_tfkeras_ckpt    tf_keras model and optimizer in tf.train.Checkpoint

Usage: scripts/make_fixtures_tf2.py [--out DIR] [CASE...]
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_fixtures import drive, write_manifest  # noqa: E402

CASES = ["tf2_keras_adam", "tf2_keras_bn_sgd", "tf2_keras_noopt", "tf2_module_shared",
         "tf2_tf1_optimizer", "tf2_tfkeras_weights", "tf2_tfkeras_ckpt"]
PREFIX = "ckpt"


def object_graph_truth(prefix):
    """full names and slot links as TF's own protobuf classes read them."""
    import tensorflow as tf
    from tensorflow.core.protobuf import trackable_object_graph_pb2

    r = tf.train.load_checkpoint(prefix)
    g = trackable_object_graph_pb2.TrackableObjectGraph()
    g.ParseFromString(r.get_tensor("_CHECKPOINTABLE_OBJECT_GRAPH"))
    keys = set(r.get_variable_to_dtype_map())
    full, value_key = {}, {}
    for i, node in enumerate(g.nodes):
        for a in node.attributes:
            if a.checkpoint_key in keys and a.full_name and a.checkpoint_key not in full:
                full[a.checkpoint_key] = a.full_name
            if a.name == "VARIABLE_VALUE":
                value_key[i] = a.checkpoint_key
    slots = []
    for node in g.nodes:
        for s in node.slot_variables:
            if s.original_variable_node_id in value_key and s.slot_variable_node_id in value_key:
                slots.append([value_key[s.slot_variable_node_id],
                              value_key[s.original_variable_node_id], s.slot_name])
    return full, sorted(slots)


def keras3_functional(keras):
    inp = keras.Input((4,), name="features")
    x = keras.layers.Dense(3, name="stem")(inp)
    x = keras.layers.BatchNormalization(name="stem_bn")(x)
    out = keras.layers.Dense(1, name="head")(x)
    return keras.Model(inp, out, name="regressor")


def write(case, case_dir):
    import numpy as np
    import tensorflow as tf

    prefix = os.path.join(case_dir, PREFIX)
    x, y = np.linspace(-1, 1, 32).reshape(8, 4).astype("float32"), np.ones((8, 1), "float32")
    if case.startswith("tf2_keras"):
        import keras
        keras.utils.set_random_seed(7)
        if case == "tf2_keras_adam":
            m = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, name="encoder"),
                                  keras.layers.Dense(1, name="head")], name="regressor")
            opt = keras.optimizers.Adam(1e-3)
        else:
            m = keras3_functional(keras)
            opt = keras.optimizers.SGD(0.01, momentum=0.9)
        m.compile(optimizer=opt, loss="mse")
        m.fit(x, y, batch_size=8, epochs=1, verbose=0)
        if case == "tf2_keras_adam":
            tf.train.Checkpoint(model=m, optimizer=opt).write(prefix)
        elif case == "tf2_keras_bn_sgd":
            step = tf.Variable(np.int64(41), dtype=tf.int64, name="step")
            tf.train.Checkpoint(model=m, optimizer=opt, step=step).write(prefix)
        else:
            tf.train.Checkpoint(model=m).write(prefix)
    elif case == "tf2_module_shared":
        tf.random.set_seed(7)

        class Block(tf.Module):
            def __init__(self, n):
                super().__init__()
                self.w = tf.Variable(tf.random.normal([n]), name="w")

        class Net(tf.Module):
            def __init__(self):
                super().__init__()
                self.block_a, self.block_b = Block(2), Block(3)
                self.scale = tf.Variable(2.0, name="scale")

        tf.train.Checkpoint(net=Net()).write(prefix)
    elif case == "tf2_tf1_optimizer":
        v = tf.Variable([1.0, 2.0, 3.0], name="weights")
        b = tf.Variable([0.5], name="bias")
        opt = tf.compat.v1.train.AdamOptimizer(0.1)
        opt.minimize(lambda: tf.reduce_sum(v * v) + tf.reduce_sum(b * b), var_list=[v, b])
        tf.train.Checkpoint(weights=v, bias=b, optimizer=opt).write(prefix)
    else:
        os.environ["TF_USE_LEGACY_KERAS"] = "1"
        import tf_keras
        tf_keras.utils.set_random_seed(7)
        m = tf_keras.Sequential([tf_keras.layers.Dense(3, input_shape=(4,), name="encoder"),
                                 tf_keras.layers.Dense(1, name="head")], name="legacy")
        opt = tf_keras.optimizers.Adam(1e-3)
        m.compile(optimizer=opt, loss="mse")
        m.fit(x, y, batch_size=8, epochs=1, verbose=0)
        if case == "tf2_tfkeras_weights":
            m.save_weights(prefix)
        else:
            tf.train.Checkpoint(model=m, optimizer=opt).write(prefix)
    for f in os.listdir(case_dir):
        if f == "checkpoint":  # save_weights' state file: the prefix is the fixture
            os.remove(os.path.join(case_dir, f))


def run_case(case, out):
    case_dir = os.path.join(out, case)
    write(case, case_dir)
    write_manifest(case_dir, PREFIX)
    full, slots = object_graph_truth(os.path.join(case_dir, PREFIX))
    path = os.path.join(case_dir, "manifest.json")
    with open(path, encoding="utf-8") as f:
        manifest = json.load(f)
    manifest["full_names"] = full
    manifest["slots"] = slots
    with open(path, "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=1, ensure_ascii=False, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    drive(__file__, __doc__, CASES, run_case)
