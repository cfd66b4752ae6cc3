#!/usr/bin/env python3
"""model.safetensors in real FUSE mounts (docs/mount.md, "model.safetensors").

Truth: the safetensors package's own reader (`safetensors.deserialize` validates the header,
offsets and coverage; `safe_open` loads one tensor through mmap), the fixtures' manifest.json
(TensorFlow's reading: sha256 of every tensor's bytes), TF's `get_tensor` when TensorFlow
imports, numpy arrays this test wrote itself with tests/pylib/ckptwriter.py, and the mount's
data-read counters (root xattrs user.ckpt.data_reads / data_bytes, docs/mount.md).

Checks: in every fixture (V2, partitioned, V1, SavedModel, TF 2 Keras) and in each checkpoint
directory of a folder mount the file exists, its size is right at the first stat and that stat
reads no data; its tensors equal TF's; safe_open of one 8 MiB tensor between two others reads
that tensor and not its neighbours (counted); a tensor damaged on disk fails the read (EIO)
instead of serving wrong bytes. Exit 0 pass, 1 fail, 77 skip (no FUSE, no safetensors).
"""
import hashlib
import json
import os
import shutil
import sys
import tempfile

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import test_mount as tm  # noqa: E402
import ckptwriter as cw  # noqa: E402
import tf2names  # noqa: E402

check = tm.check
ST = b"model.safetensors"
NUMERIC = {"float32", "float64", "float16", "bfloat16", "int8", "int16", "int32", "int64",
           "uint8", "uint16", "uint32", "uint64", "bool", "complex64", "float8_e5m2",
           "float8_e4m3fn"}
CASES = [("dtypes", "dtypes"), ("sample", "model.ckpt"), ("keras_tf2", "ckpt"),
         ("partitioned", "model.ckpt"), ("v1", "model.ckpt"), ("savedmodel/tf2", ".")]


TF = None  # TensorFlow, once main() has asked for it (a required oracle in CI)


def tf_reader(prefix):
    """TF's reader of prefix, or None without TF (main() said so) or where TF cannot open it
    (V1 sets: the manifest is the truth then)."""
    if TF is None:
        return None
    try:
        return TF.train.load_checkpoint(prefix)
    except Exception as e:  # noqa: BLE001
        print("note: TF cannot open %s: %s" % (prefix, str(e).splitlines()[0][:200]))
        return None


def data_bytes(mnt):
    return int(os.getxattr(mnt, "user.ckpt.data_bytes"))


def check_file(what, path, variables, tfr):
    import safetensors
    with open(path, "rb") as f:
        raw = f.read()
    try:
        tensors = dict(safetensors.deserialize(raw))
    except Exception as e:
        check(False, "%s: safetensors refuses the file: %s" % (what, e))
        return
    # named by visible paths (docs/format.md), re-implemented in tests/pylib/tf2names.py
    graph = tf2names.graph_bytes_of(variables)
    vis = tf2names.visible_paths([v["name"].encode() for v in variables], graph is not None)
    want = [v for v in variables if v["dtype"] in NUMERIC]
    check(set(tensors) == set(vis[v["name"].encode()].decode() for v in want),
          "%s: tensors %r, want the numeric ones" % (what, sorted(tensors)[:8]))
    for v in want:
        t = tensors.get(vis[v["name"].encode()].decode())
        if t is None:
            continue
        data = bytes(t["data"])
        if "sha256" in v:
            check(hashlib.sha256(data).hexdigest() == v["sha256"],
                  "%s: %r differs from TF's bytes (manifest)" % (what, v["name"]))
        if tfr is not None and v.get("oracle", "load_checkpoint") == "load_checkpoint":
            check(data == tfr.get_tensor(v["name"]).tobytes(),
                  "%s: %r differs from TF's get_tensor" % (what, v["name"]))


def check_fixtures():
    for case, rel in CASES:
        d = os.path.join(tm.FIXTURES, case)
        mpath = os.path.join(d, "manifest.json")
        if not os.path.isfile(mpath):
            continue
        with open(mpath) as f:
            m = json.load(f)
        src = d if rel == "." else os.path.join(d, rel)
        with tm.Mount(src, what=case) as mt:
            p = mt.path(ST)
            size = os.stat(p).st_size
            # docs/mount.md: sizing reads the object graph of a TF 2 checkpoint (for full
            # names), and nothing else
            graph = tf2names.graph_bytes_of(m["variables"])
            allowed = 0 if graph is None else len(graph) + 16
            check(data_bytes(mt.mnt) <= allowed, "%s: stat of model.safetensors read %d bytes "
                  "of data, want <= %d" % (case, data_bytes(mt.mnt), allowed))
            with open(p, "rb") as f:
                n = len(f.read())
            check(n == size, "%s: stat said %d bytes, read gave %d" % (case, size, n))
            check_file(case, p, m["variables"], tf_reader(os.path.join(d, m["prefix"])))
        print("fixture %s: checked" % case, flush=True)


def check_folder():
    d = os.path.join(tm.FIXTURES, "folder")
    if not os.path.isdir(d):
        return
    with open(os.path.join(d, "manifest.json")) as f:
        m = json.load(f)
    with tm.Mount(d, what="folder") as mt:
        for step, variables in sorted(m["steps"].items()):
            p = os.path.join(mt.mnt, step, "model.safetensors")
            check(os.path.isfile(p), "folder: %s has no model.safetensors" % step)
            if os.path.isfile(p):
                check_file("folder/" + step, p, variables, None)
    print("folder: checked", flush=True)


def check_lazy(tmp):
    """safe_open of the middle one of three 8 MiB tensors reads it, not its neighbours."""
    import numpy as np
    from safetensors import safe_open
    rng = np.random.default_rng(25)
    arrays = {k: rng.standard_normal((1024, 2048)).astype("<f4") for k in ("a", "b", "c")}
    prefix = os.path.join(tmp, "three")
    w = cw.V2Writer(prefix)
    for k in sorted(arrays):
        w.add(k.encode(), 1, list(arrays[k].shape), arrays[k].tobytes())
    w.close()
    nb = arrays["b"].nbytes
    with tm.Mount(prefix, what="three") as mt:
        before = data_bytes(mt.mnt)
        with safe_open(mt.path(ST).decode(), "np") as f:
            check(sorted(f.keys()) == ["a", "b", "c"], "three: keys %r" % f.keys())
            got = f.get_tensor("b")
        read = data_bytes(mt.mnt) - before
        check(np.array_equal(got, arrays["b"]), "three: safe_open of b gave other values")
        # The kernel reads ahead around what mmap touches; 1 MiB on each side is its ceiling
        # here (FUSE read-ahead), far below a neighbour's 8 MiB.
        check(nb <= read <= nb + (2 << 20),
              "three: safe_open of b read %d data bytes, want %d (+ read-ahead)" % (read, nb))
    print("lazy: one tensor read %d bytes of data for %d" % (read, nb), flush=True)


def check_damaged(tmp):
    d = os.path.join(tmp, "damaged")
    shutil.copytree(os.path.join(tm.FIXTURES, "sample"), d)
    with open(os.path.join(d, "model.ckpt.data-00000-of-00001"), "r+b") as f:
        f.seek(100)
        b = f.read(1)
        f.seek(100)
        f.write(bytes([b[0] ^ 0xFF]))
    with tm.Mount(os.path.join(d, "model.ckpt"), what="damaged") as mt:
        try:
            with open(mt.path(ST), "rb") as f:
                f.read()
            check(False, "damaged: reading model.safetensors whole did not fail")
        except OSError as e:
            check(e.errno == 5, "damaged: read failed with %s, want EIO" % e)


def fnmatch_any(globs, name):
    import fnmatch
    return any(fnmatch.fnmatchcase(name, g) for g in globs)


def check_filters():
    """-o include=/exclude= hide variables from the tree, variables.tsv and model.safetensors;
    the kept set is computed here with Python's fnmatch (the documented glob rules)."""
    import safetensors
    cases = [("sample", "model.ckpt", ["-o", "exclude=*/Adam*,exclude=beta*"], [], ["*/Adam*", "beta*"]),
             ("sample", "model.ckpt", ["-o", "include=dense/*:global_step,exclude=*_1"],
              ["dense/*", "global_step"], ["*_1"]),
             ("keras_tf2", "ckpt", ["-o", "exclude=adam/*"], [], ["adam/*"])]
    for case, rel, opts, inc, exc in cases:
        d = os.path.join(tm.FIXTURES, case)
        with open(os.path.join(d, "manifest.json")) as f:
            variables = json.load(f)["variables"]
        # a glob matches the key, the visible path or the full_name (docs/mount.md)
        graph = tf2names.graph_bytes_of(variables)
        keys = [v["name"].encode() for v in variables]
        vis = tf2names.visible_paths(keys, graph is not None)
        full = tf2names.object_graph(graph)[0] if graph is not None else {}

        def forms(v):
            k = v["name"].encode()
            return [x.decode() for x in (k, vis[k], full.get(k, b""))]
        kept = [v for v in variables if (not inc or any(fnmatch_any(inc, x) for x in forms(v)))
                and not any(fnmatch_any(exc, x) for x in forms(v))]
        what = "%s %s" % (case, " ".join(opts[1:]))
        check(0 < len(kept) < len(variables), "%s: the filter keeps some, not all" % what)
        src = os.path.join(d, rel)
        with tm.Mount(src, opts, what=what) as mt:
            view = tm.expected_view(kept, tm.generated_names(src, kept))
            got = tm.walk(mt.mnt)
            exp = {p: ("dir" if e[0] == "dir" else "file") for p, e in view.items()}
            check(got == exp, "%s: tree differs: %r" % (what, sorted(set(got) ^ set(exp))[:6]))
            with open(mt.path(b"variables.tsv"), "rb") as f:
                rows = [ln.split(b"\t")[0].decode() for ln in f.read().splitlines()[1:]]
            check(rows == [v["name"] for v in kept], "%s: variables.tsv lists %r" % (what, rows))
            with open(mt.path(ST), "rb") as f:
                names = set(k for k, _ in safetensors.deserialize(f.read()))
            kvis = tf2names.visible_paths([v["name"].encode() for v in kept], graph is not None)
            check(names == set(kvis[v["name"].encode()].decode() for v in kept
                               if v["dtype"] in NUMERIC),
                  "%s: model.safetensors holds %r" % (what, sorted(names)))
        print("filter %s: checked" % what, flush=True)
    r = tm.subprocess.run([tm.MOUNT, os.path.join(tm.FIXTURES, "sample", "model.ckpt"), "/nonexistent",
                           "-o", "include="], capture_output=True)
    check(r.returncode == 1 and b"include" in r.stderr,
          "-o include= with no glob: exit %d, %r" % (r.returncode, r.stderr[:200]))


def main():
    tm.require_fuse()
    tm.require_numpy()
    tm.testlib().oracle("safetensors")  # required in CI (tests/README.md "Skips")
    global TF
    TF = tm.testlib().oracle("tensorflow", whole=False)  # else SKIP-PART: TF's values unchecked
    tmp = tempfile.mkdtemp(prefix="ckptfs-st-")
    try:
        check_fixtures()
        check_folder()
        check_filters()
        check_lazy(tmp)
        check_damaged(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    sys.exit(tm.outcome())


if __name__ == "__main__":
    main()
