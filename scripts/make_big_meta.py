#!/usr/bin/env python3
"""Write a TF1 checkpoint whose .meta is about SIZE_MB megabytes (many large constants).

Usage: make_big_meta.py DIR [SIZE_MB]   -> DIR/model.ckpt{.index,.data-*,.meta}
Used to measure the daemon's peak memory while it renders graph.pbtxt of a big .meta
(docs/mount.md). Needs TensorFlow; not a test by itself.
"""
import os
import sys

if __name__ == "__main__" and sys.argv[1:2] in ([], ["-h"], ["--help"]):
    print(__doc__)  # before importing TensorFlow, so that --help is instant
    sys.exit(0 if sys.argv[1:] else 2)

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402


def main():
    out = sys.argv[1]
    size_mb = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    os.makedirs(out, exist_ok=True)
    tf.compat.v1.disable_eager_execution()
    g = tf.Graph()
    rng = np.random.RandomState(0)
    chunk = 4 << 20  # 4 MB per constant
    with g.as_default():
        acc = tf.compat.v1.get_variable("acc", shape=[], initializer=tf.zeros_initializer())
        total = acc
        for k in range(max(1, size_mb * (1 << 20) // chunk)):
            c = tf.constant(rng.standard_normal(chunk // 4).astype(np.float32), name="const_%03d" % k)
            total = total + tf.reduce_sum(c)
        saver = tf.compat.v1.train.Saver([acc])
        with tf.compat.v1.Session(graph=g) as s:
            s.run(tf.compat.v1.global_variables_initializer())
            saver.save(s, os.path.join(out, "model.ckpt"))
    print(os.path.getsize(os.path.join(out, "model.ckpt.meta")))


if __name__ == "__main__":
    main()
