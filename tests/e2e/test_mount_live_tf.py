#!/usr/bin/env python3
"""A real TensorFlow training loop saving with tf.train.CheckpointManager(max_to_keep=3) into a
folder mounted live (docs/mount.md, "Watching a run").

Truth: TensorFlow itself. After each save, tf.train.load_checkpoint reads the new checkpoint
from the folder (before the manager can delete it) and manager.checkpoints /
manager.latest_checkpoint say what is there. A reader thread meanwhile reads every listed
checkpoint's numeric variables through the mount. Checked:
- within 1.5 s of each save the root lists exactly the manager's checkpoints and `latest`
  names manager.latest_checkpoint;
- every read through the mount equals TF's bytes for that checkpoint; no read fails, except
  with ENOENT for a checkpoint the manager deleted meanwhile;
- deleted checkpoints leave the root.

Exit 0 pass, 1 fail, 77 skip (no usable FUSE, or TensorFlow does not import; CKPT_NO_TF=1).
"""
import errno
import os
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_mount as tm  # noqa: E402
import tf2names  # noqa: E402

check = tm.check
STEPS = 12


def mount_path(mnt, ckpt, var):
    """The file of variable var in checkpoint ckpt (NAME.raw when NAME is also a directory)."""
    # A TF 2 key shows at its object path, dot components escaped (docs/format.md).
    key = var.encode()
    if key.endswith(tf2names.VALUE_SUFFIX):
        key = key[:-len(tf2names.VALUE_SUFFIX)]
    shown = b"/".join(tm.esc_component(c, k == 0, True) for k, c in enumerate(key.split(b"/")))
    p = os.path.join(os.fsencode(mnt), ckpt.encode(), shown)
    return p + b".raw" if os.path.isdir(p) else p


def main():
    tm.require_fuse()
    if os.environ.get("CKPT_NO_TF") == "1":
        print("SKIP: CKPT_NO_TF=1")
        return 77
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        import numpy as np
        import tensorflow as tf
    except Exception as ex:  # any import failure means no TF here
        print("SKIP: TensorFlow does not import: %s" % ex)
        return 77

    truth = {}     # checkpoint name -> {variable: bytes}, TF's reading
    deleted = set()
    lock = threading.Lock()
    errors = []
    stop = threading.Event()
    reads = [0]

    def reader(mnt, d):
        while not stop.is_set():
            try:
                names = [n for n in os.listdir(mnt) if n.startswith("ckpt-")]
            except OSError as ex:
                errors.append("listdir: %s" % ex)
                continue
            for name in names:
                with lock:
                    want = dict(truth.get(name, {}))
                for var, b in want.items():
                    try:
                        with open(mount_path(mnt, name, var), "rb") as f:
                            got = f.read()
                    except OSError as ex:
                        # TF deletes inside save(), before this test can note it: the
                        # folder itself says whether the checkpoint is gone.
                        with lock:
                            gone = name in deleted
                        gone = gone or not os.path.exists(os.path.join(d, name + ".index"))
                        if not (ex.errno == errno.ENOENT and gone):
                            errors.append("%s/%s: %s" % (name, var, ex))
                        continue
                    if got != b:
                        errors.append("%s/%s: %d bytes differ from TF's" % (name, var, len(got)))
                    reads[0] += 1

    with tempfile.TemporaryDirectory(prefix="ckptfs-livetf-") as d:
        tf.random.set_seed(0)
        model = tf.keras.Sequential([tf.keras.Input((4,)), tf.keras.layers.Dense(3)])
        opt = tf.keras.optimizers.SGD(0.1)
        step = tf.Variable(0, dtype=tf.int64)
        ckpt = tf.train.Checkpoint(model=model, optimizer=opt, step=step)
        manager = tf.train.CheckpointManager(ckpt, d, max_to_keep=3)
        x = tf.random.normal((8, 4))
        y = tf.random.normal((8, 3))

        def train_and_save():
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean((model(x) - y) ** 2)
            opt.apply_gradients(zip(tape.gradient(loss, model.trainable_variables),
                                    model.trainable_variables))
            step.assign_add(1)
            before = set(os.path.basename(p) for p in manager.checkpoints)
            path = manager.save()
            name = os.path.basename(path)
            r = tf.train.load_checkpoint(path)
            vals = {}
            for var, dtype in r.get_variable_to_dtype_map().items():
                if dtype.is_numpy_compatible and dtype != tf.string:
                    vals[var] = np.ascontiguousarray(r.get_tensor(var)).tobytes()
            with lock:
                truth[name] = vals
                deleted.update(before - set(os.path.basename(p) for p in manager.checkpoints))
            return name

        train_and_save()
        lat = []
        with tm.Mount(d, what="tf run") as m:
            th = threading.Thread(target=reader, args=(m.mnt, d))
            th.start()
            try:
                for _ in range(STEPS - 1):
                    train_and_save()
                    t0 = time.time()  # the save and TF's reading of it are done
                    want = set(os.path.basename(p) for p in manager.checkpoints)
                    want |= {"latest", "checkpoints.tsv"}
                    latest = os.path.basename(manager.latest_checkpoint)
                    ok = None
                    while time.time() - t0 < 1.5 and ok is None:
                        try:
                            if set(os.listdir(m.mnt)) == want and \
                                    os.readlink(os.path.join(m.mnt, "latest")) == latest:
                                ok = time.time() - t0
                        except OSError:
                            pass
                        time.sleep(0.005)
                    if not check(ok is not None, "after save %s: root %r, want %r" % (
                            latest, sorted(os.listdir(m.mnt)), sorted(want))):
                        continue
                    lat.append(ok)
                    for name in want - {"latest", "checkpoints.tsv"}:
                        for var, b in truth[name].items():
                            with open(mount_path(m.mnt, name, var), "rb") as f:
                                check(f.read() == b, "%s/%s differs from TF" % (name, var))
            finally:
                stop.set()
                th.join()
        for e in errors[:10]:
            check(False, "reader: %s" % e)
        check(reads[0] > 0, "the reader read nothing")
        print("tf run: %d saves, %d reader reads; save -> visible: max %.0f ms" % (
            STEPS, reads[0], 1000 * max(lat) if lat else -1))
    if tm.failures:
        print("%d failure(s)" % len(tm.failures))
        return 1
    print("all live TF checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
