#!/usr/bin/env python3
"""The graph files of a mount (docs/mount.md, "Graph files"), on real FUSE mounts.

Truth: the texts TensorFlow printed for tests/fixtures/graphs/* (committed by
scripts/make_graph_fixtures.py: text_format.MessageToString of TF's own parse), the node counts
TF reported (num_nodes.txt), graphviz, and with TF a checkpoint made here whose variable is
named like a generated file.

- each file is present exactly when its source is (.meta / object graph / SavedModel);
- `stat` gives the exact size before any read; reading gives TF's text byte for byte;
- graph.pbtxt, meta_graph.pbtxt and graph.dot read no data shard; object_graph.pbtxt does;
- `dot -Tsvg` draws graph.dot, with one node per NodeDef;
- a variable named graph.pbtxt keeps its name (and the mount warns);
- CKPT_BIG_META=1 (needs TF): a ~200 MB .meta renders with the daemon's peak memory (VmHWM)
  under 2x the .meta's size; the numbers are printed.

Exit 0 pass, 1 fail, 77 skip.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_mount as tm  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import ckpt_testlib as tl  # noqa: E402

FIX = os.path.join(tm.FIXTURES, "graphs")
check = tm.check
GRAPH_FILES = {"graph.pbtxt": "graph.pbtxt", "meta_graph.pbtxt": "meta_graph.pbtxt",
               "object_graph.pbtxt": "object_graph.pbtxt", "saved_model.pbtxt": "saved_model.pbtxt"}


def cases():
    return tl.graph_fixture_cases(tm.FIXTURES)


def dot_nodes(text):
    return sum(1 for line in text.splitlines() if re.match(r'^  ".*" \[label=', line))


def check_case(name, src, d):
    saved_model = os.path.exists(os.path.join(src, "saved_model.pb"))
    has_meta = saved_model or os.path.exists(src + ".meta")
    with tm.Mount(src, what=name) as m:
        names = set(os.listdir(m.mnt))
        # ls above listed the root: that alone sizes nothing and reads nothing.
        check(m.data_reads() == 0, "%s: listing the root read data" % name)
        for f in ("graph.pbtxt", "meta_graph.pbtxt", "graph.dot"):
            check((f in names) == has_meta, "%s: %s present=%s, .meta/SavedModel=%s" % (
                name, f, f in names, has_meta))
        expected = {f: os.path.join(d, f) for f in GRAPH_FILES if os.path.exists(os.path.join(d, f))}
        if saved_model:
            # The SavedModel's meta_graphs[0] texts are committed alongside saved_model.pbtxt.
            pass
        for f in ("object_graph.pbtxt", "saved_model.pbtxt"):
            check((f in names) == (f in expected), "%s: %s present=%s, expected=%s" % (
                name, f, f in names, f in expected))
        # Sizes first: exact before any read, and no data read for anything but the object graph.
        for f in sorted(expected):
            want = open(expected[f], "rb").read()
            st = os.stat(m.path(f.encode()))
            check(st.st_size == len(want), "%s: stat %s = %d, text is %d bytes" % (
                name, f, st.st_size, len(want)))
        if "graph.dot" in names:
            os.stat(m.path(b"graph.dot"))
        og_reads = m.data_reads()
        if "object_graph.pbtxt" in expected:
            check(og_reads > 0, "%s: object_graph.pbtxt was sized without reading its tensor" % name)
        else:
            check(og_reads == 0, "%s: sizing graph files read %d times from data" % (name, og_reads))
        for f in sorted(expected):
            want = open(expected[f], "rb").read()
            with open(m.path(f.encode()), "rb") as fh:
                got = fh.read()
            check(got == want, "%s: mounted %s differs from TF's text (%d vs %d bytes)" % (
                name, f, len(got), len(want)))
        if "graph.dot" in names:
            with open(m.path(b"graph.dot"), "rb") as fh:
                dot = fh.read()
            check(len(dot) == os.stat(m.path(b"graph.dot")).st_size, "%s: graph.dot size" % name)
            nn = os.path.join(d, "num_nodes.txt")
            if os.path.exists(nn):
                check(dot_nodes(dot.decode()) == int(open(nn).read()),
                      "%s: graph.dot has %d nodes, TF counted %s" % (name, dot_nodes(dot.decode()),
                                                                     open(nn).read().strip()))
            if shutil.which("dot"):
                r = subprocess.run(["dot", "-Tsvg", m.path(b"graph.dot")], capture_output=True, timeout=300)
                check(r.returncode == 0 and b"<svg" in r.stdout, "%s: dot -Tsvg failed: %r" % (name, r.stderr[:200]))
        check(m.data_reads() == og_reads, "%s: reading graph texts read %d times from data" % (
            name, m.data_reads() - og_reads))
        # Inode numbers of generated files are fixed by name (docs/mount.md).
        slots = {"variables.tsv": 2, "graph.pbtxt": 3, "meta_graph.pbtxt": 4, "graph.dot": 5,
                 "object_graph.pbtxt": 6, "saved_model.pbtxt": 7, "signatures.txt": 8,
                 "stats.tsv": 9, "model.safetensors": 10}
        for f, ino in slots.items():
            if f in names:
                check(os.stat(m.path(f.encode())).st_ino == ino, "%s: inode of %s" % (name, f))
    print("graph fixture %s: checked" % name, flush=True)


def tf_or_none():
    """tensorflow, or None with a SKIP-PART line (a failure in CI) when it does not import."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    return tm.testlib().oracle("tensorflow", whole=False)


def check_collision(tf, tmp):
    """A variable called graph.pbtxt is graph.pbtxt% (docs/format.md, "Names in a mount");
    graph.pbtxt stays the graph, and nothing is hidden or warned about."""
    d = os.path.join(tmp, "collide")
    os.makedirs(d)
    script = r'''
import os, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import tensorflow as tf
tf.compat.v1.disable_eager_execution()
with tf.Graph().as_default() as g:
    v = tf.compat.v1.get_variable("graph.pbtxt", initializer=tf.constant([1.5, 2.5]))
    w = tf.compat.v1.get_variable("other", initializer=tf.constant(3.0))
    saver = tf.compat.v1.train.Saver()
    with tf.compat.v1.Session() as s:
        s.run(tf.compat.v1.global_variables_initializer())
        saver.save(s, os.path.join(sys.argv[1], "model.ckpt"))
'''
    r = subprocess.run([sys.executable, "-c", script, d], capture_output=True, timeout=300)
    if not check(r.returncode == 0, "collision fixture: TF failed: %r" % r.stderr[-300:]):
        return
    src = os.path.join(d, "model.ckpt")
    with tm.Mount(src, what="collision") as m:
        with open(m.path(b"graph.pbtxt%"), "rb") as fh:
            data = fh.read()
        import struct
        check(data == struct.pack("<2f", 1.5, 2.5), "collision: graph.pbtxt%% is not the variable: %r" % data[:40])
        with open(m.path(b"graph.pbtxt"), "rb") as fh:
            check(fh.read().startswith(b"node {"), "collision: graph.pbtxt is not the graph")
        check("hiding" not in m.stderr, "collision: something was hidden: %r" % m.stderr)
        check(os.path.exists(m.path(b"meta_graph.pbtxt")), "collision: meta_graph.pbtxt missing")
    print("collision: checked")


def vm(pid, key):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    return -1


def check_big_meta(tmp):
    """A ~200 MB .meta: peak daemon memory while sizing and reading graph.pbtxt."""
    d = os.path.join(tmp, "big")
    size_mb = int(os.environ.get("CKPT_BIG_META_MB", "200"))
    gen = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts",
                       "make_big_meta.py")
    r = subprocess.run([sys.executable, gen, d, str(size_mb)], capture_output=True, timeout=1200)
    if not check(r.returncode == 0, "big .meta: generator failed: %r" % r.stderr[-300:]):
        return
    src = os.path.join(d, "model.ckpt")
    meta_size = os.path.getsize(src + ".meta")
    mnt = tempfile.mkdtemp(prefix="ckptfs-big-")
    proc = subprocess.Popen([tm.MOUNT, src, mnt, "-f"], stderr=subprocess.PIPE)
    try:
        deadline = time.time() + 30
        while not tm.is_mounted(mnt) and time.time() < deadline:
            time.sleep(0.05)
        t0 = time.time()
        size = os.stat(os.path.join(mnt, "graph.pbtxt")).st_size
        t1 = time.time()
        n = 0
        with open(os.path.join(mnt, "graph.pbtxt"), "rb") as fh:
            while True:
                b = fh.read(1 << 20)
                if not b:
                    break
                n += len(b)
        t2 = time.time()
        hwm = vm(proc.pid, "VmHWM")
        check(n == size, "big .meta: read %d bytes, stat said %d" % (n, size))
        check(0 < hwm < 2 * meta_size, "big .meta: daemon peak %d bytes for a %d-byte .meta" % (hwm, meta_size))
        print("big .meta: %.1f MB .meta -> graph.pbtxt %.1f MB; first stat %.1f s, read %.1f s; "
              "daemon VmHWM %.1f MB (%.2fx the .meta)" % (meta_size / 1e6, size / 1e6, t1 - t0, t2 - t1,
                                                          hwm / 1e6, hwm / meta_size))
    finally:
        tm.unmount(mnt)
        try:
            proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        os.rmdir(mnt)


def main():
    tm.require_fuse()
    if not os.path.isdir(FIX):
        print("SKIP: no graph fixtures at %s" % FIX)
        return 77
    for name, src, d in cases():
        try:
            check_case(name, src, d)
        except Exception as ex:
            check(False, "%s: %s: %s" % (name, type(ex).__name__, ex))
    tf = tf_or_none()
    with tempfile.TemporaryDirectory(prefix="ckptfs-graph-") as tmp:
        if tf is None:
            print("note: no TensorFlow: the name-collision and big .meta checks are skipped")
        else:
            check_collision(tf, tmp)
            if os.environ.get("CKPT_BIG_META"):
                check_big_meta(tmp)
            else:
                print("note: set CKPT_BIG_META=1 to measure a 200 MB .meta")
    if tm.failures:
        print("%d failure(s)" % len(tm.failures))
        return 1
    print("all graph mount checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
