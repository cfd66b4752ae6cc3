#!/usr/bin/env python3
"""ckptfs ls/cat on a DT_VARIANT tensor (a tf.data iterator checkpoint made by TensorFlow).

Truth: tests/e2e/variant/expected_ITERATOR_STATE.txt, the text of each element's
VariantTensorDataProto as TensorFlow's own text_format prints it (scripts/make_variant_fixture.py),
the same text a mount serves. A flipped byte inside the variant's data must make cat fail
naming the variable and print nothing.
"""
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import ckpt_testlib as tl  # noqa: E402

T = tl.Checks()
NAME = b"it/.ATTRIBUTES/ITERATOR_STATE"


def main():
    src = os.environ.get("CKPT_SOURCE_DIR") or os.path.join(os.path.dirname(__file__), "..", "..")
    d = os.path.join(src, "tests", "e2e", "variant")
    if not os.path.isfile(os.path.join(d, "ckpt.index")):
        tl.skip("no variant fixture at %s" % d)
    rows = {r.name: r for r in tl.parse_ls(tl.ckptfs("ls", "-l", os.path.join(d, "ckpt")).out)}
    T.ok(NAME in rows, "ls lists the variant tensor")
    if NAME in rows:
        T.eq(rows[NAME].dtype, "variant", "dtype name")
        T.eq(rows[NAME].shape, [4], "shape")
    r = tl.ckptfs("cat", os.path.join(d, "ckpt"), NAME)
    T.ok(r.rc == 0, "cat the variant: " + r.describe())
    with open(os.path.join(d, "expected_ITERATOR_STATE.txt"), "rb") as f:
        T.eq(r.out, f.read(), "cat text equals TF's text_format of each element")
    with tempfile.TemporaryDirectory(prefix="ckptfs_variant_") as tmp:
        for f in os.listdir(d):
            shutil.copy(os.path.join(d, f), tmp)
        data = os.path.join(tmp, "ckpt.data-00000-of-00001")
        raw = bytearray(open(data, "rb").read())
        off = int(rows[NAME].offset) if NAME in rows else 0
        raw[off + 40] ^= 0x01
        open(data, "wb").write(raw)
        r = tl.ckptfs("cat", os.path.join(tmp, "ckpt"), NAME)
        T.ok(r.rc != 0 and r.rc < 128, "a flipped variant byte fails cleanly: " + r.describe())
        T.ok(NAME.decode() in r.err, "the error names the variable: " + r.describe())
        T.eq(r.out, b"", "nothing on stdout for a damaged variant")
    T.summary()


if __name__ == "__main__":
    main()
