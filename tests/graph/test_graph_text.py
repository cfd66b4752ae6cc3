#!/usr/bin/env python3
"""`ckptfs graph` against TensorFlow's own text format, byte for byte.

1. Fixtures (tests/fixtures/graphs, made by scripts/make_graph_fixtures.py with TF): the output
   of every format equals the committed text TF printed (graph.pbtxt, meta_graph.pbtxt,
   object_graph.pbtxt, saved_model.pbtxt). Runs without TF.
2. The DOT output has one node per NodeDef; with graphviz, `gc -n` parses it and counts exactly
   that many nodes (no node invented by a dangling edge), and `dot -Tsvg` draws it (graphs up
   to DOT_LAYOUT_MAX_NODES nodes: layout of bigger ones takes minutes).
3. Every .meta and saved_model.pb under CKPT_REALCKPT renders; where TensorFlow imports, the
   text equals text_format.MessageToString of TF's parse (and a file TF cannot parse must be
   refused with the "corrupt" exit status). Object graphs of real TF2 checkpoints likewise.
4. With TF, the committed fixture texts are recomputed from the fixture files (they are TF's).

Exit 0 pass, 77 skip (no ckptfs binary / no fixtures), 1 fail. Without TensorFlow or the real
checkpoints the parts needing them are left out with a SKIP-PART line, which fails in CI.
"""
import os
import re
import shutil
import subprocess
import sys

CKPTFS = os.environ.get("CKPTFS", "")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import ckpt_testlib as tl  # noqa: E402

FIX = os.path.join(os.environ.get("CKPT_FIXTURES", ""), "graphs")
REAL = os.environ.get("CKPT_REALCKPT", "")
EXIT_CORRUPT = 3
# Laying out thousands of nodes takes graphviz minutes; bigger graphs get the parse check only.
DOT_LAYOUT_MAX_NODES = 1000

failures = []
checks = 0


def fail(msg):
    failures.append(msg)
    print("FAIL:", msg)


def run_graph(source, fmt):
    p = subprocess.run([CKPTFS, "graph", source, "--format", fmt], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=600)
    return p.returncode, p.stdout, p.stderr.decode("utf-8", "replace")


def first_diff(a, b):
    n = min(len(a), len(b))
    i = next((k for k in range(n) if a[k] != b[k]), n)
    line = a[:i].count(b"\n") + 1
    return "first difference at byte %d (line %d): got %r want %r" % (
        i, line, a[i:i + 60], b[i:i + 60])


def compare(source, fmt, want, what):
    global checks
    checks += 1
    rc, out, err = run_graph(source, fmt)
    if rc != 0:
        fail("%s: ckptfs graph --format %s exited %d: %s" % (what, fmt, rc, err.strip()))
    elif out != want:
        fail("%s --format %s differs from TF: %s" % (what, fmt, first_diff(out, want)))


def try_tf():
    """TF's modules, or None when TensorFlow is missing (then the TF parts are left out with a
    SKIP-PART line; in CI that fails: tests/README.md "Skips"). Once TF imports, a failure to
    import the rest is an error, not a reason to leave parts out."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    tf = tl.oracle("tensorflow", whole=False)
    if tf is None:
        return None
    from google.protobuf import message, text_format
    from tensorflow.core.protobuf import (meta_graph_pb2, saved_model_pb2,
                                          trackable_object_graph_pb2)
    return {"tf": tf, "text": text_format, "meta": meta_graph_pb2, "decode": message.DecodeError,
            "sm": saved_model_pb2, "tog": trackable_object_graph_pb2}


def fixture_cases():
    """(case name, source to give ckptfs, {format: expected file}) for every fixture case."""
    files = {"pbtxt": "graph.pbtxt", "meta": "meta_graph.pbtxt",
             "objects": "object_graph.pbtxt", "savedmodel": "saved_model.pbtxt"}
    cases = []
    for name, src, d in tl.graph_fixture_cases(os.path.dirname(FIX)):
        exp = {f: os.path.join(d, n) for f, n in files.items() if os.path.exists(os.path.join(d, n))}
        cases.append((name, src, exp, d))
    return cases


def dot_node_count(dot_text):
    return sum(1 for line in dot_text.splitlines() if re.match(r'^  ".*" \[label=', line))


def check_dot(source, n_nodes, what):
    global checks
    checks += 1
    rc, out, err = run_graph(source, "dot")
    if rc != 0:
        fail("%s: --format dot exited %d: %s" % (what, rc, err.strip()))
        return
    got = dot_node_count(out.decode("utf-8"))
    if got != n_nodes:
        fail("%s: DOT declares %d nodes, the GraphDef has %d" % (what, got, n_nodes))
    if shutil.which("gc"):
        # gc parses without laying out: a syntax check and graphviz's own node count.
        p = subprocess.run(["gc", "-n"], input=out, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=600)
        m = re.match(rb"\s*(\d+)", p.stdout)
        seen = int(m.group(1)) if m else -1
        if p.returncode != 0 or seen != n_nodes:
            fail("%s: graphviz sees %d nodes, the GraphDef has %d (%s)" % (
                what, seen, n_nodes, p.stderr.decode()[:200]))
    if shutil.which("dot") and n_nodes <= DOT_LAYOUT_MAX_NODES:
        p = subprocess.run(["dot", "-Tsvg"], input=out, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, timeout=600)
        if p.returncode != 0:
            fail("%s: dot -Tsvg failed: %s" % (what, p.stderr.decode()[:300]))


def real_graph_files():
    out = []
    for root, _, files in os.walk(REAL):
        for f in sorted(files):
            if f.endswith(".meta") or f == "saved_model.pb":
                out.append(os.path.join(root, f))
    return sorted(out)


def real_object_sources():
    """Checkpoint prefixes under REAL whose index is worth asking for an object graph."""
    out = []
    for root, _, files in os.walk(REAL):
        for f in sorted(files):
            if f.endswith(".index"):
                out.append(os.path.join(root, f[:-len(".index")]))
    return sorted(out)


def tf_texts(T, path):
    """{format: TF's text} for a .meta or saved_model.pb, or None if TF cannot parse it."""
    data = open(path, "rb").read()
    try:
        if path.endswith(".pb"):
            sm = T["sm"].SavedModel.FromString(data)
            mg = sm.meta_graphs[0] if sm.meta_graphs else T["meta"].MetaGraphDef()
            res = {"savedmodel": sm}
        else:
            mg = T["meta"].MetaGraphDef.FromString(data)
            res = {}
    except T["decode"]:
        return None
    res["pbtxt"] = mg.graph_def
    res["meta"] = mg
    return {k: T["text"].MessageToString(v).encode("utf-8") for k, v in res.items()}, \
        len(mg.graph_def.node)


def main():
    if not CKPTFS or not os.access(CKPTFS, os.X_OK):
        if CKPTFS:  # set (as ctest does) but not built: a broken build, not a skip
            print("FAIL: CKPTFS=%r is not an executable file" % CKPTFS)
            return 1
        tl.skip("no ckptfs binary (set CKPTFS)")
    if not os.path.isdir(FIX):
        tl.skip("no graph fixtures at %s" % FIX)
    T = try_tf()
    print("TensorFlow tier:", "on" if T else "off")

    # 1-2, 4: fixtures
    for name, src, exp, d in fixture_cases():
        for fmt, path in exp.items():
            want = open(path, "rb").read()
            compare(src, fmt, want, "fixture %s" % name)
        nn = os.path.join(d, "num_nodes.txt")
        if os.path.exists(nn):
            check_dot(src, int(open(nn).read()), "fixture %s" % name)
        if T:
            recomputed = {}
            meta = [f for f in os.listdir(d) if f.endswith(".meta")]
            if meta:
                recomputed, _ = tf_texts(T, os.path.join(d, meta[0]))
            elif os.path.exists(os.path.join(src, "saved_model.pb")):
                recomputed, _ = tf_texts(T, os.path.join(src, "saved_model.pb"))
            for fmt, text in recomputed.items():
                if fmt in exp and open(exp[fmt], "rb").read() != text:
                    fail("fixture %s: committed %s is not what TF prints now" % (name, exp[fmt]))

    # 3: real files
    if not (REAL and os.path.isdir(REAL)):
        tl.missing("../shared/realckpt", "no real checkpoints at %r (CKPT_REALCKPT)" % REAL,
                   whole=False)
    else:
        for path in real_graph_files():
            fmts = ["pbtxt", "meta"] + (["savedmodel"] if path.endswith(".pb") else [])
            tfres = tf_texts(T, path) if T else None
            for fmt in fmts:
                rc, out, err = run_graph(path, fmt)
                global checks
                checks += 1
                if T and tfres is None:
                    if rc != EXIT_CORRUPT:
                        fail("%s: TF cannot parse it, ckptfs exited %d (want %d)" % (
                            path, rc, EXIT_CORRUPT))
                    continue
                if rc != 0:
                    if not T and rc == EXIT_CORRUPT:
                        print("note: %s --format %s refused as corrupt (no TF to confirm)" % (
                            path, fmt))
                        continue
                    fail("%s --format %s exited %d: %s" % (path, fmt, rc, err.strip()))
                    continue
                if tfres and out != tfres[0][fmt]:
                    fail("%s --format %s differs from TF: %s" % (path, fmt,
                                                                 first_diff(out, tfres[0][fmt])))
            if tfres:
                check_dot(path, tfres[1], path)
        for prefix in real_object_sources():
            rc, out, err = run_graph(prefix, "objects")
            checks += 1
            if not T:
                if rc not in (0, 2, 4):
                    fail("%s --format objects exited %d: %s" % (prefix, rc, err.strip()))
                continue
            try:
                raw = T["tf"].train.load_checkpoint(prefix).get_tensor(
                    "_CHECKPOINTABLE_OBJECT_GRAPH")
            except T["tf"].errors.OpError as ex:  # no such key, or a shard TF cannot read
                print("note: %s: TF reads no object graph: %s" % (prefix, type(ex).__name__))
                raw = None
            if raw is None:
                if rc == 0:
                    fail("%s: TF finds no object graph but ckptfs printed one" % prefix)
                continue
            want = T["text"].MessageToString(
                T["tog"].TrackableObjectGraph.FromString(raw)).encode("utf-8")
            if rc != 0:
                fail("%s --format objects exited %d: %s" % (prefix, rc, err.strip()))
            elif out != want:
                fail("%s --format objects differs from TF: %s" % (prefix, first_diff(out, want)))

    print("%d checks, %d failures" % (checks, len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
