#!/usr/bin/env python3
"""A training folder whose checkpoint lacks a shard still shows it (issue 23, finding 6).

TensorFlow 2.21 writes a sharded save here (tf.train.CheckpointManager, a MaxShardSizePolicy
that splits four variables over two data shards); the test deletes one shard and back-dates the
.index past the young-index window, as a partial download left long ago. TensorFlow still names
it (`tf.train.latest_checkpoint`), lists every variable and reads those of the present shard.
The folder mount must do the same (docs/mount.md, "Watching a run"): the checkpoint's directory
listed and `latest` pointing to it, every variable TF lists present (found by its
`user.ckpt.name` xattr), the bytes of each one TF reads equal to TF's value, EIO for each one
TF cannot read. A young .index with a shard missing stays hidden (a save in progress).

Truth: TensorFlow's own reading of the same files. Exit 0 pass, 1 fail, 77 skip (no FUSE, or
TensorFlow not importable).
"""
import errno
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_mount as tm  # noqa: E402

check = tm.check
OLD = 2 * 3600  # seconds: well past the young-index window (a minute)


def tf_or_skip():
    if os.environ.get("CKPT_NO_TF"):
        print("SKIP: CKPT_NO_TF set")
        sys.exit(77)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        import tensorflow as tf
        return tf
    except Exception as e:
        print("SKIP: TensorFlow not importable (%s)" % e)
        sys.exit(77)


def save_two_shards(tf, d, step):
    import numpy as np
    vs = {"v%d" % i: tf.Variable(np.arange(2000, dtype=np.float32) * (i + 1) + step)
          for i in range(4)}
    ck = tf.train.Checkpoint(**vs)
    m = tf.train.CheckpointManager(ck, d, max_to_keep=5)
    policy = tf.train.experimental.MaxShardSizePolicy(max_shard_size=20000)
    return m.save(checkpoint_number=step,
                  options=tf.train.CheckpointOptions(experimental_sharding_callback=policy))


# Reads each named variable of a checkpoint with TF and prints "name hex"; TF aborts the
# process on a variable of a missing shard (a CHECK in tensor_bundle.cc), so the caller runs it
# again for the names after the one it died on.
READER = r"""
import os, sys
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import tensorflow as tf
r = tf.train.load_checkpoint(sys.argv[1])
for n in sys.argv[2:]:
    print("TRY", n, flush=True)
    v = r.get_tensor(n)
    print("OK", n, v.tobytes().hex() if hasattr(v, "tobytes") else "-", flush=True)
"""


def truth(tf, prefix):
    """{name: bytes, or None when TF cannot read it} for every variable TF lists."""
    names = sorted(n for n, _ in tf.train.list_variables(prefix))
    out, todo = {}, list(names)
    while todo:
        p = subprocess.run([sys.executable, "-c", READER, prefix] + todo, capture_output=True,
                           timeout=600)
        tried = None
        for line in p.stdout.decode().splitlines():
            parts = line.split(" ")
            if parts[0] == "TRY":
                tried = parts[1]
            elif parts[0] == "OK":
                out[parts[1]] = bytes.fromhex(parts[2]) if parts[2] != "-" else b""
                tried = None
        if p.returncode == 0:
            break
        if tried is None:
            raise RuntimeError("TF's reader failed before any variable: %s" % p.stderr[-500:])
        out[tried] = None
        todo = todo[todo.index(tried) + 1:]
    return out


def files_by_name(root):
    """{variable name: path} of the files under root whose user.ckpt.name is a variable (not
    sidecars or .npy)."""
    out = {}
    for d, _, files in os.walk(root):
        for f in files:
            if f.endswith((".shape", ".dtype", ".npy")):
                continue
            p = os.path.join(d, f)
            try:
                out[os.getxattr(p, "user.ckpt.name").decode("utf-8", "replace")] = p
            except OSError:
                pass
    return out


def main():
    tm.require_fuse()
    tf = tf_or_skip()
    with tempfile.TemporaryDirectory(prefix="ckptfs-partial-") as tmp:
        run = os.path.join(tmp, "run")
        os.mkdir(run)
        prefix = save_two_shards(tf, run, 0)
        shards = sorted(f for f in os.listdir(run) if f.startswith("ckpt-0.data-"))
        check(len(shards) >= 2, "TF wrote %d data shards, want 2 or more: %s" % (len(shards), shards))
        os.unlink(os.path.join(run, shards[-1]))
        past = time.time() - OLD
        os.utime(prefix + ".index", (past, past))
        latest = tf.train.latest_checkpoint(run)
        check(latest == prefix, "TF's latest_checkpoint names the partial save: %s" % latest)
        want = truth(tf, prefix)
        readable = sorted(n for n, b in want.items() if b is not None)
        lost = sorted(n for n, b in want.items() if b is None)
        check(readable and lost, "TF reads %d variables and fails %d: %s / %s" %
              (len(readable), len(lost), readable, lost))
        with tm.Mount(run, what="partial folder") as m:
            names = sorted(os.listdir(m.mnt))
            check("ckpt-0" in names and "latest" in names,
                  "the partial checkpoint and latest are listed: %s" % names)
            try:
                link = os.readlink(os.path.join(m.mnt, "latest"))
            except OSError as e:
                link = str(e)
            check(link.rstrip("/").endswith("ckpt-0"), "latest -> ckpt-0: %s" % link)
            got = files_by_name(os.path.join(m.mnt, "ckpt-0"))
            root = os.path.join(m.mnt, "ckpt-0")
            for n in sorted(want):
                p = got.get(n)
                if p is None and want[n] is None and n in os.listdir(root):
                    # A string tensor is sized by decoding it: on the missing shard its
                    # lookup itself fails, so its xattr cannot name it. Plain names only.
                    p = os.path.join(root, n)
                if not check(p is not None, "variable %s that TF lists is in the mount" % n):
                    continue
                if want[n] is None:
                    e = None
                    try:
                        with open(p, "rb") as f:
                            f.read()
                    except OSError as x:
                        e = x.errno
                    check(e == errno.EIO, "%s, on the missing shard: EIO (got %s)" % (n, e))
                elif not n.endswith("_CHECKPOINTABLE_OBJECT_GRAPH"):
                    with open(p, "rb") as f:
                        data = f.read()
                    check(data == want[n], "%s: the mounted bytes equal TF's value" % n)

        # A young .index with a shard missing: a save TF may still be writing, not shown.
        young = os.path.join(tmp, "young")
        os.mkdir(young)
        yp = save_two_shards(tf, young, 5)
        ys = sorted(f for f in os.listdir(young) if f.startswith("ckpt-5.data-"))
        os.unlink(os.path.join(young, ys[-1]))
        open(os.path.join(young, "ckpt-3.index"), "wb").close()  # a second prefix: a folder
        with tm.Mount(young, what="young partial folder") as m:
            names = sorted(os.listdir(m.mnt))
            check(os.path.basename(yp) not in names,
                  "a young .index missing a shard stays hidden: %s" % names)
    return tm.outcome()


if __name__ == "__main__":
    sys.exit(main())
