#!/usr/bin/env python3
"""Build the graph fixtures under tests/fixtures/graphs/ with TensorFlow (2.21).

Each case directory holds files written by TensorFlow (a TF1 checkpoint with its .meta, a TF2
checkpoint, or a SavedModel) and the texts TensorFlow's own protobuf printer gives for them:

  graph.pbtxt         text_format.MessageToString(meta_graph_def.graph_def)
  meta_graph.pbtxt    text_format.MessageToString(meta_graph_def)
  object_graph.pbtxt  MessageToString(TrackableObjectGraph parsed from _CHECKPOINTABLE_OBJECT_GRAPH)
  saved_model.pbtxt   MessageToString(saved_model)               (SavedModel cases)
  num_nodes.txt       len(graph_def.node), for the DOT node count check

The expected texts come from TensorFlow's parse of the very bytes on disk, never from ckptfs.
Variables are tiny so the whole tree stays well under a few MB.

usage: scripts/make_graph_fixtures.py [OUTDIR]   (default tests/fixtures/graphs)
"""
import math
import os
import shutil
import sys

if __name__ == "__main__" and sys.argv[1:2] in (["-h"], ["--help"]):
    print(__doc__)  # before importing TensorFlow, so that --help is instant
    sys.exit(0)

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from google.protobuf import text_format  # noqa: E402
from tensorflow.core.framework import attr_value_pb2, node_def_pb2  # noqa: E402
from tensorflow.core.protobuf import (meta_graph_pb2, saved_model_pb2, saver_pb2,  # noqa: E402
                                      trackable_object_graph_pb2)

v1 = tf.compat.v1


def text(msg):
    return text_format.MessageToString(msg).encode("utf-8")


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def expect_meta(case_dir, meta_path):
    """Expected texts of a .meta file, from TF's parse of its bytes."""
    mg = meta_graph_pb2.MetaGraphDef()
    mg.ParseFromString(open(meta_path, "rb").read())
    write(os.path.join(case_dir, "graph.pbtxt"), text(mg.graph_def))
    write(os.path.join(case_dir, "meta_graph.pbtxt"), text(mg))
    write(os.path.join(case_dir, "num_nodes.txt"), b"%d\n" % len(mg.graph_def.node))


def expect_objects(case_dir, prefix):
    reader = tf.train.load_checkpoint(prefix)
    raw = reader.get_tensor("_CHECKPOINTABLE_OBJECT_GRAPH")
    og = trackable_object_graph_pb2.TrackableObjectGraph()
    og.ParseFromString(raw)
    write(os.path.join(case_dir, "object_graph.pbtxt"), text(og))


def v1_save(case_dir, build, name="model.ckpt", edit=None):
    """Build a TF1 graph, initialise, save it with a Saver (writes PREFIX.meta)."""
    g = tf.Graph()
    with g.as_default():
        v1.set_random_seed(1)
        build()
        saver = v1.train.Saver()
        with v1.Session(graph=g) as sess:
            sess.run(v1.global_variables_initializer())
            prefix = saver.save(sess, os.path.join(case_dir, name))
    meta = prefix + ".meta"
    if edit:
        mg = meta_graph_pb2.MetaGraphDef()
        mg.ParseFromString(open(meta, "rb").read())
        edit(mg)
        write(meta, mg.SerializeToString())
    expect_meta(case_dir, meta)


def dense(x, n_in, n_out, name, act=None):
    with v1.variable_scope(name):
        w = v1.get_variable("kernel", [n_in, n_out])
        b = v1.get_variable("bias", [n_out], initializer=v1.zeros_initializer())
    y = tf.nn.bias_add(tf.matmul(x, w), b)
    return act(y) if act else y


def mlp():
    x = v1.placeholder(tf.float32, [None, 6], name="x")
    y = v1.placeholder(tf.int64, [None], name="y")
    h = dense(x, 6, 5, "hidden", tf.nn.relu)
    logits = dense(h, 5, 3, "logits")
    loss = tf.reduce_mean(
        tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits), name="loss")
    step = v1.train.get_or_create_global_step()
    v1.train.AdamOptimizer(1e-3).minimize(loss, global_step=step, name="train")


def cnn():
    x = v1.placeholder(tf.float32, [None, 8, 8, 1], name="images")
    k = v1.get_variable("conv1/kernel", [3, 3, 1, 4])
    b = v1.get_variable("conv1/bias", [4], initializer=v1.zeros_initializer())
    c = tf.nn.relu(tf.nn.conv2d(x, k, strides=[1, 1, 1, 1], padding="SAME") + b)
    p = tf.nn.max_pool2d(c, ksize=2, strides=2, padding="VALID")
    flat = tf.reshape(p, [-1, 4 * 4 * 4])
    logits = dense(flat, 64, 2, "fc")
    loss = tf.reduce_mean(tf.square(logits), name="loss")
    v1.train.MomentumOptimizer(0.01, 0.9, use_nesterov=True).minimize(loss, name="train")


def control_flow():
    x = v1.placeholder(tf.float32, [], name="x")
    w = v1.get_variable("w", [], initializer=v1.constant_initializer(0.5))
    r = tf.cond(x > 0.0, lambda: x * w, lambda: x - w, name="cond")
    i0 = tf.constant(0, name="i0")
    _, acc = tf.while_loop(lambda i, a: i < 5, lambda i, a: (i + 1, a * 2.0 + w), [i0, r],
                           name="loop")

    @tf.function
    def scaled(t):
        return tf.nn.leaky_relu(t * 3.0, alpha=0.25)

    out = scaled(acc)
    with tf.control_dependencies([out]):
        tf.identity(acc, name="after")


def control_flow_v1():
    v1.disable_control_flow_v2()
    try:
        control_flow()
    finally:
        v1.enable_control_flow_v2()


def constants():
    rng = np.random.RandomState(0)
    tf.constant(rng.standard_normal((32, 16)).astype(np.float32), name="big_float")
    tf.constant(rng.randint(-2**40, 2**40, size=(50,)), dtype=tf.int64, name="big_int64")
    tf.constant(rng.standard_normal(8).astype(np.float16), name="half_vec")
    tf.constant(np.array([1.5, -2.25], dtype=np.float64), name="doubles")
    tf.constant(3.0, name="scalar")
    tf.fill([4, 4], 0.1, name="fill")
    tf.zeros([10, 3], name="zeros")
    specials = [float("nan"), float("inf"), float("-inf"), -0.0, 1e-45, 3.4028235e38, 0.1,
                1e16, 1e-5, 123456789.0, 2.5e-7, 1.0]
    for i, v in enumerate(specials):
        tf.constant(v, dtype=tf.float32, name="f32_%d" % i)
        tf.constant(v, dtype=tf.float64, name="f64_%d" % i)
    tf.constant([b"caf\xc3\xa9", b"\xff\xfe\x00\x01 bytes", "naïve ✓".encode(), b"q\"'\\\t\n\r"],
                name="strings")
    tf.constant(True, name="yes")
    tf.constant(np.array([1 + 2j], dtype=np.complex64), name="complex")
    tf.constant(-7, dtype=tf.int32, name="neg_int")
    tf.constant(2**63 - 1, dtype=tf.uint64, name="big_uint")
    tf.constant(np.array([1.0, 2.0], dtype=tf.bfloat16.as_numpy_dtype), name="bf16")
    x = v1.placeholder(tf.float32, [None, 3], name="x")
    tf.nn.leaky_relu(x, alpha=float("nan"), name="alpha_nan")
    tf.nn.leaky_relu(x, alpha=float("inf"), name="alpha_inf")
    tf.nn.leaky_relu(x, alpha=float("-inf"), name="alpha_ninf")
    v1.get_variable("v", [2], initializer=v1.ones_initializer())


def every_attr(mg):
    """Add a node carrying every AttrValue kind, Any payloads and non-ASCII strings."""
    n = mg.graph_def.node.add(name="every_attr", op="NoOp", device="/job:ünï/cpu:0")
    n.input.extend(["save/Const", "^save/Const:1"])
    a = n.attr
    a["s"].s = b"\x00\x7f\x80\xff caf\xc3\xa9"
    a["i"].i = -(2**63)
    a["f"].f = 1e-38
    a["f_nan"].f = float("nan")
    a["f_negzero"].f = -0.0
    a["b"].b = False
    a["type"].type = tf.bfloat16.as_datatype_enum
    a["type_unknown"].type = 999
    a["shape"].shape.dim.add(size=-1)
    a["shape"].shape.dim.add(size=7, name="seven")
    a["shape_unknown"].shape.unknown_rank = True
    a["tensor"].tensor.CopyFrom(tf.make_tensor_proto(np.arange(6, dtype=np.int32).reshape(2, 3)))
    a["placeholder"].placeholder = "T"
    a["func"].func.name = "some_fn"
    a["func"].func.attr["T"].type = tf.float32.as_datatype_enum
    a["func"].func.attr["N"].i = 0
    lv = a["list"].list
    lv.s.extend([b"a", b"\xe2\x9c\x93", b""])
    lv.i.extend([0, -1, 2**62])
    lv.f.extend([0.5, float("inf"), -0.0])
    lv.b.extend([True, False])
    lv.type.extend([1, 7, 20])
    lv.shape.add().dim.add(size=3)
    lv.tensor.add().CopyFrom(tf.make_tensor_proto("é"))
    lv.func.add(name="f1")
    a["empty_list"].list.SetInParent()
    a[""].SetInParent()
    n.experimental_debug_info.original_node_names.append("orig")
    mi = mg.meta_info_def
    mi.tags.extend(["serve", "ünïcode ✓"])
    mi.any_info.Pack(saver_pb2.SaverDef(filename_tensor_name="packed:0", version=2))
    mi.function_aliases["b_alias"] = "fn_b"
    mi.function_aliases["a_alias"] = "fn_a"
    cd = mg.collection_def
    cd["ünï_nodes"].node_list.value.extend(["é", "x:0"])
    cd["floats"].float_list.value.extend([0.1, float("nan"), 1e30])
    cd["ints"].int64_list.value.extend([3, -3])
    anys = cd["anys"].any_list.value
    anys.add().Pack(attr_value_pb2.AttrValue(i=5))
    anys.add(type_url="type.googleapis.com/not.Known", value=b"\x08\x01")
    anys.add(type_url="no_slash", value=b"\x01")


def tf2_checkpoint(case_dir):
    class Block(tf.Module):
        def __init__(self, n):
            super().__init__()
            self.kernel = tf.Variable(tf.ones([n, 2]), name="kernel")
            self.bias = tf.Variable(tf.zeros([2]), name="bias")

    class Net(tf.Module):
        def __init__(self):
            super().__init__()
            self.blocks = [Block(3), Block(2)]
            self.table = {"a.b/c": tf.Variable(1.5), "é": tf.Variable([1, 2], dtype=tf.int64)}

    net = Net()
    opt = tf.keras.optimizers.Adam(0.01)
    variables = [b.kernel for b in net.blocks] + [b.bias for b in net.blocks]
    with tf.GradientTape() as tape:
        loss = tf.add_n([tf.reduce_sum(v) for v in variables])
    opt.apply_gradients(zip(tape.gradient(loss, variables), variables))
    ckpt = tf.train.Checkpoint(model=net, optimizer=opt, step=tf.Variable(7, dtype=tf.int64))
    prefix = ckpt.write(os.path.join(case_dir, "ckpt"))
    expect_objects(case_dir, prefix)


def saved_model(case_dir):
    class Scale(tf.Module):
        def __init__(self):
            super().__init__()
            self.w = tf.Variable([[1.0, -2.0], [0.5, 3.0]], name="w")
            self.b = tf.Variable([0.25, float("inf")], name="b")

        @tf.function(input_signature=[tf.TensorSpec([None, 2], tf.float32, name="x")])
        def __call__(self, x):
            y = tf.matmul(x, self.w) + self.b
            return {"y": tf.cond(tf.reduce_sum(y) > 0, lambda: y, lambda: -y)}

        @tf.function
        def poly(self, x, scale=2.0, name="é"):
            return x * scale

    m = Scale()
    m.poly(tf.constant([1.0]))
    out = os.path.join(case_dir, "model")
    tf.saved_model.save(m, out, signatures={"serving_default": m.__call__})
    sm = saved_model_pb2.SavedModel()
    sm.ParseFromString(open(os.path.join(out, "saved_model.pb"), "rb").read())
    mg = sm.meta_graphs[0]
    write(os.path.join(case_dir, "saved_model.pbtxt"), text(sm))
    write(os.path.join(case_dir, "graph.pbtxt"), text(mg.graph_def))
    write(os.path.join(case_dir, "meta_graph.pbtxt"), text(mg))
    write(os.path.join(case_dir, "num_nodes.txt"), b"%d\n" % len(mg.graph_def.node))
    expect_objects(case_dir, os.path.join(out, "variables", "variables"))
    # Extra, non-essential files TF writes would only bloat the fixtures.
    for extra in ("fingerprint.pb", "assets"):
        p = os.path.join(out, extra)
        if os.path.isdir(p):
            shutil.rmtree(p)
        elif os.path.exists(p):
            os.remove(p)


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    outdir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "tests", "fixtures", "graphs")
    if os.path.isdir(outdir):
        shutil.rmtree(outdir)
    cases = {
        "mlp_v1": lambda d: v1_save(d, mlp),
        "cnn_v1": lambda d: v1_save(d, cnn),
        "control_flow_v2": lambda d: v1_save(d, control_flow),
        "control_flow_v1": lambda d: v1_save(d, control_flow_v1),
        "constants_attrs": lambda d: v1_save(d, constants, edit=every_attr),
        "tf2_checkpoint": tf2_checkpoint,
        "saved_model_tf2": saved_model,
    }
    for name, make in cases.items():
        d = os.path.join(outdir, name)
        os.makedirs(d)
        make(d)
        # The Saver's `checkpoint` state file holds this machine's absolute path: drop it.
        state = os.path.join(d, "checkpoint")
        if os.path.exists(state):
            os.remove(state)
        print("made", d)


if __name__ == "__main__":
    main()
