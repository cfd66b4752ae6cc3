#!/usr/bin/env python3
"""Write the DT_VARIANT fixture of tests/e2e/variant/ and TensorFlow's text of its elements.

Usage: make_variant_fixture.py DIR
  DIR/ckpt.{index,data-00000-of-00001}: tf.train.Checkpoint of a tf.data iterator (its
      ITERATOR_STATE is a DT_VARIANT tensor of 4 elements) and a float variable;
  DIR/expected_ITERATOR_STATE.txt: for each element, "# element K" and
      text_format.MessageToString of the VariantTensorDataProto TensorFlow itself encodes for it
      (tf.io.serialize_tensor of the restored tensor: its variant list encoding).
Also usable as `make_variant_fixture.py --expected PREFIX NAME` to print that text for any
checkpoint variable (the e2e test recomputes it this way when TF is importable).
"""
import os
import sys

if __name__ == "__main__" and sys.argv[1:2] in ([], ["-h"], ["--help"]):
    print(__doc__)  # before importing TensorFlow, so that --help is instant
    sys.exit(0 if sys.argv[1:] else 2)

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import tensorflow as tf  # noqa: E402
from google.protobuf import text_format  # noqa: E402
from tensorflow.core.framework import tensor_pb2  # noqa: E402


def varint(b, i):
    v = shift = 0
    while True:
        x = b[i]
        i += 1
        v |= (x & 0x7F) << shift
        shift += 7
        if x < 0x80:
            return v, i


def expected_text(prefix, name):
    """TF's own VariantTensorDataProto of every element, as MessageToString prints it."""
    t = tf.raw_ops.RestoreV2(prefix=prefix, tensor_names=[name], shape_and_slices=[""],
                             dtypes=[tf.variant])[0]
    out = []
    for k, e in enumerate(element_texts(t)):
        out.append(("# element %d\n" % k).encode() + e.encode("utf-8"))
    return b"".join(out)


def element_texts(t):
    """text_format.MessageToString of the VariantTensorDataProto of each element of variant
    tensor t (C order), as TF itself encodes them (tf.io.serialize_tensor)."""
    tp = tensor_pb2.TensorProto.FromString(tf.io.serialize_tensor(t).numpy())
    n = int(tf.size(t))
    if tp.variant_val:
        elems = list(tp.variant_val)
    else:
        # tensor_content form (EncodeVariantList): n varint lengths, then the encoded elements.
        b, i, lens = tp.tensor_content, 0, []
        for _ in range(n):
            ln, i = varint(b, i)
            lens.append(ln)
        elems = []
        for ln in lens:
            elems.append(tensor_pb2.VariantTensorDataProto.FromString(b[i:i + ln]))
            i += ln
    return [text_format.MessageToString(e) for e in elems]


def main():
    if sys.argv[1] == "--expected":
        sys.stdout.buffer.write(expected_text(sys.argv[2], sys.argv[3]))
        return
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    ds = tf.data.Dataset.range(10).map(lambda x: x * 2).batch(3)
    it = iter(ds)
    next(it)
    ck = tf.train.Checkpoint(it=it, v=tf.Variable([1.0, 2.0]))
    p = ck.write(os.path.join(out, "ckpt"))
    with open(os.path.join(out, "expected_ITERATOR_STATE.txt"), "wb") as f:
        f.write(expected_text(p, "it/.ATTRIBUTES/ITERATOR_STATE"))


if __name__ == "__main__":
    main()
