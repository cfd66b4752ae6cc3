#!/usr/bin/env python3
"""DT_VARIANT tensors on a real FUSE mount (docs/mount.md, "Variant tensors").

Fixture: tests/e2e/variant (scripts/make_variant_fixture.py: a tf.data iterator checkpoint, whose
ITERATOR_STATE is a DT_VARIANT tensor of 4 elements). Truth: expected_ITERATOR_STATE.txt, which
TensorFlow wrote from its own encoding of each element (tf.io.serialize_tensor) printed with
text_format.MessageToString; with TF importable it is recomputed now.

- the variant file shows that text byte for byte (its size exact from the first stat);
- a damaged byte in the variant's data gives EIO and a log line naming the variable;
- -o npy adds no .npy for it; its .dtype says variant.

Exit 0 pass, 1 fail, 77 skip.
"""
import errno
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_mount as tm  # noqa: E402

check = tm.check
HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(HERE, "variant")
VAR = b"it/.ATTRIBUTES/ITERATOR_STATE"
# Its file: in a TF 2 checkpoint a dot component is escaped (docs/format.md).
VAR_PATH = b"it/%.ATTRIBUTES/ITERATOR_STATE"


def tf_expected(prefix):
    if os.environ.get("CKPT_NO_TF"):
        return None
    r = subprocess.run([sys.executable, os.path.join(HERE, "..", "..", "scripts", "make_variant_fixture.py"), "--expected",
                        prefix, VAR.decode()], capture_output=True, timeout=600)
    return r.stdout if r.returncode == 0 else None


def main():
    tm.require_fuse()
    src = os.path.join(FIX, "ckpt")
    want = open(os.path.join(FIX, "expected_ITERATOR_STATE.txt"), "rb").read()
    live = tf_expected(src)
    if live is not None:
        check(live == want, "TF's text of the variant elements differs from the committed one")
    else:
        print("note: no TensorFlow: comparing with the committed text only")
    with tm.Mount(src, ["-o", "npy"], what="variant") as m:
        p = m.path(VAR_PATH)
        # The size is true from the first stat (tar, rsync, mmap trust it), before any open.
        check(os.stat(p).st_size == len(want), "variant: first stat says %d bytes, TF's text has %d" % (os.stat(p).st_size, len(want)))
        check(open(p + b".dtype", "rb").read() == b"variant\n", "variant: .dtype")
        check(not os.path.exists(p + b".npy"), "variant: has a .npy")
        with open(p, "rb") as f:
            got = f.read()
        check(got == want, "variant: text differs from TF's:\n%r\n%r" % (got[:300], want[:300]))
        check(os.stat(p).st_size == len(want), "variant: size after open")
        shard = int(os.getxattr(p, "user.ckpt.shard"))
        off = int(os.getxattr(p, "user.ckpt.offset"))
        nbytes = int(os.getxattr(p, "user.ckpt.nbytes"))
    with tempfile.TemporaryDirectory(prefix="ckptfs-variant-") as tmp:
        for f in os.listdir(FIX):
            if f.startswith("ckpt."):
                shutil.copy(os.path.join(FIX, f), tmp)
        shard_file = os.path.join(tmp, "ckpt.data-%05d-of-00001" % shard)
        with open(shard_file, "r+b") as f:
            f.seek(off + nbytes // 2)
            b = f.read(1)
            f.seek(-1, 1)
            f.write(bytes([b[0] ^ 0x55]))
        mnt = tempfile.mkdtemp(prefix="ckptfs-mnt-")
        proc = subprocess.Popen([tm.MOUNT, os.path.join(tmp, "ckpt"), mnt, "-f"], stderr=subprocess.PIPE)
        try:
            deadline = time.time() + 10
            while not tm.is_mounted(mnt) and time.time() < deadline:
                time.sleep(0.05)
            try:
                with open(os.path.join(os.fsencode(mnt), VAR_PATH), "rb") as f:
                    f.read()
                check(False, "damaged variant read without error")
            except OSError as ex:
                check(ex.errno == errno.EIO, "damaged variant gave %s, want EIO" % ex)
        finally:
            tm.unmount(mnt)
            try:
                _, err = proc.communicate(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                _, err = proc.communicate()
            os.rmdir(mnt)
        check(VAR in err and b"checksum" in err, "damaged variant: log does not say why: %r" % err[-300:])
    if tm.failures:
        print("%d failure(s)" % len(tm.failures))
        return 1
    print("all variant mount checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
