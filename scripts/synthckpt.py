#!/usr/bin/env python3
"""Write synthetic V2 checkpoints without TensorFlow, for benchmarks at sizes TF is slow to make.

The bytes come from tests/pylib/ckptwriter.py, the tests' independent writer of the format
(`pip install crc32c` speeds it up at large sizes). The layout mimics real models: deep names
with optimizer slots, so the mounted tree has many directories.

    python3 scripts/synthckpt.py OUT_PREFIX --vars 100000 [--elems 16 | --scalar] [--big-mib 0]
        [--shards N] [--tensor NAME=MIB ...]

--scalar makes every variable a float32 scalar (shape []) instead of a vector of --elems;
--tf2 writes the keys as tf.train.Checkpoint does (NAME/.ATTRIBUTES/VARIABLE_VALUE) with a
_CHECKPOINTABLE_OBJECT_GRAPH giving each variable a full_name (NAME with block/layer folded
into one component, as Keras 3 names weights), so a mount has TF 2 paths and by_name/;
--tensor adds a uint8 tensor of MIB MiB named NAME (NAME=MIB:float32: the same bytes as
float32), repeatable, the k-th one in data shard k mod --shards, so `--shards 4 --tensor a=1024 --tensor b=1024 ...` spreads 4 GiB over 4 shards.
"""
import argparse
import os
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "pylib"))
import ckptwriter as cw  # noqa: E402  (the one Python writer of the format)


def names(nvars):
    """Realistic names: blocks of layers with kernels, biases and two Adam slots each."""
    out, i = [], 0
    while len(out) < nvars:
        base = "model/block_%04d/layer_%d/dense" % (i // 8, i % 8)
        for leaf in ("kernel", "bias"):
            for slot in ("", "/Adam", "/Adam_1"):
                out.append(base + "/" + leaf + slot)
        i += 1
    return sorted(n.encode() for n in out[:nvars])


def big(mib):
    """The bytes of a uint8 tensor of mib MiB, in 1 MiB chunks."""
    n = mib << 20
    chunk = bytes(range(256)) * 4096
    return (chunk[:min(len(chunk), n - done)] for done in range(0, n, len(chunk)))


VALUE_SUFFIX = b"/.ATTRIBUTES/VARIABLE_VALUE"


def object_graph(keys):
    """A TrackableObjectGraph (trackable_object_graph.proto): a root, then one node per
    variable with its VARIABLE_VALUE attribute (name 1, full_name 2, checkpoint_key 3)."""
    nodes = [cw.field_bytes(1, b"")]
    for k in keys:
        name = k[:-len(VALUE_SUFFIX)]
        full = name.replace(b"model/", b"", 1).replace(b"/layer_", b"_layer_", 1)
        attr = cw.field_bytes(1, b"VARIABLE_VALUE") + cw.field_bytes(2, full) + cw.field_bytes(3, k)
        nodes.append(cw.field_bytes(1, cw.field_bytes(2, attr)))
    return b"".join(nodes)


def write(prefix, nvars, elems, big_mib, scalar=False, shards=1, tensors=(), tf2=False):
    os.makedirs(os.path.dirname(os.path.abspath(prefix)), exist_ok=True)
    w = cw.V2Writer(prefix, num_shards=shards)
    # A scalar has rank 0 (an empty TensorShapeProto), not shape [1]: the smallest entry.
    dims = [] if scalar else [elems]
    elems = 1 if scalar else elems
    keys = names(nvars)
    if tf2:
        keys = sorted(k + VALUE_SUFFIX for k in keys)
        data, crc = cw.string_tensor_encoding([object_graph(keys)])
        key = b"_CHECKPOINTABLE_OBJECT_GRAPH"
        w.add(key, cw.DT_STRING, [], data)
        # A string tensor's checksum covers its lengths' CRC too (string_tensor_encoding).
        w.entries[key] = cw.bundle_entry(cw.DT_STRING, [], 0, 0, len(data), crc)
    for i, k in enumerate(keys):
        w.add(k, cw.DT_FLOAT, dims,
              struct.pack("<%df" % elems, *[(i * 31 + j) * 0.001 for j in range(elems)]))
    if big_mib:
        w.add(b"zz_big/tensor", cw.DT_UINT8, [big_mib << 20], big(big_mib))
    for j, (name, mib, f32) in enumerate(tensors):
        # the same bytes as float32 (a few are NaN: a reader of values meets those too)
        dtype, dims = (cw.DT_FLOAT, [mib << 18]) if f32 else (cw.DT_UINT8, [mib << 20])
        w.add(name.encode(), dtype, dims, big(mib), shard=j % shards)
    w.close()


def tensor_arg(s):
    name, _, mib = s.rpartition("=")
    f32 = mib.endswith(":float32")
    mib = mib[:-len(":float32")] if f32 else mib
    if not name or not mib.isdigit():
        raise argparse.ArgumentTypeError("expected NAME=MIB or NAME=MIB:float32, got %r" % s)
    return name, int(mib), f32


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("prefix")
    ap.add_argument("--vars", type=int, default=100000)
    ap.add_argument("--elems", type=int, default=16)
    ap.add_argument("--scalar", action="store_true",
                    help="every variable a float32 scalar (shape []), --elems ignored")
    ap.add_argument("--big-mib", type=int, default=0, help="add one uint8 tensor of this size")
    ap.add_argument("--shards", type=int, default=1, help="number of data shards")
    ap.add_argument("--tensor", type=tensor_arg, action="append", default=[],
                    metavar="NAME=MIB[:float32]",
                    help="add a uint8 (or float32) tensor (repeatable; round-robin shards)")
    ap.add_argument("--tf2", action="store_true",
                    help="TF 2 keys and an object graph with full names (see above)")
    a = ap.parse_args()
    write(a.prefix, a.vars, a.elems, a.big_mib, a.scalar, a.shards, a.tensor, a.tf2)


if __name__ == "__main__":
    sys.exit(main())
