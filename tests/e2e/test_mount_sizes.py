#!/usr/bin/env python3
"""Every file's size is true at its first stat (docs/mount.md, "String tensors"), so tools that
trust st_size get every byte: tar, rsync -a, Python's zipfile and mmap.

Sources: every checkpoint fixture with a manifest (string tensors, object graphs), the variant
fixture, the graph fixtures (rendered graph texts) and, when ../shared/realckpt is there, the
real checkpoints that hold strings or graphs. Truth: for string tensors, TF's own elements (the
manifests, written by TensorFlow) as the documented text; for everything, the bytes a plain
read() of the same file returns on a separate mount, those bytes being checked first against
the manifests' sha256 and TF's texts of the graph fixtures (check_reference).

- on a fresh mount, `tar cf` of the whole tree stores each file with exactly the bytes read()
  gives, and so do `rsync -a` (when installed) and zipfile; mmap of every non-empty file maps
  the same bytes;
- the first stat of a string tensor's file, before any open, is the length of TF's text;
- many threads that stat and read the computed files of a fresh mount at the same moment all
  see one size and content that agree (repeated over fresh mounts).

Exit 0 pass, 1 fail, 77 skip.
"""
import hashlib
import mmap
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import threading
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_mount as tm  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import ckpt_testlib as tl  # noqa: E402

check = tm.check
HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.environ.get("CKPT_FIXTURES") or os.path.join(HERE, "..", "fixtures")
REAL = os.environ.get("CKPT_REALCKPT") or os.path.join(HERE, "..", "..", "..", "shared", "realckpt")
# Real checkpoints with string tensors or graphs (skipped one by one when absent).
REAL_CASES = ["serving_sm_tf_text_regression_vars", "serving_sm_half_plus_two_tf214",
              "estimator_dnn_iris_train_2017/model.ckpt-1"]
THREADS = 8
ROUNDS = 4


def sources():
    out = []
    for case_dir, man in tl.fixture_cases(FIX):
        if os.path.basename(case_dir) == "many":
            continue  # 100k numeric variables: nothing computed, and slow to tar four times
        out.append((os.path.basename(case_dir), os.path.join(case_dir, man["prefix"]), man))
    out.append(("variant", os.path.join(HERE, "variant", "ckpt"), None))
    for case in ("mlp_v1", "tf2_checkpoint"):
        d = os.path.join(FIX, "graphs", case)
        for p in ("model.ckpt", "ckpt"):
            if os.path.exists(os.path.join(d, p + ".index")):
                out.append(("graphs/" + case, os.path.join(d, p), None))
    for case in REAL_CASES:
        p = os.path.join(REAL, case)
        if os.path.exists(p) or os.path.exists(p + ".index"):
            out.append(("real/" + case, p, None))
        else:
            tl.missing("../shared/realckpt", "%s absent" % p, whole=False)
    return out


def files_of(root):
    out = []
    for d, _, fs in os.walk(root):
        for f in fs:
            p = os.path.join(d, f)
            if not os.path.islink(p):
                out.append(os.path.relpath(p, root))
    return sorted(out)


def read_all(root):
    out = {}
    for rel in files_of(root):
        with open(os.path.join(root, rel), "rb") as f:
            out[rel] = f.read()
    return out


def check_tools(name, source, truth, tmp):
    """tar, rsync, zip and mmap on a fresh mount against truth (rel -> bytes)."""
    with tm.Mount(source, what=name) as m:
        tar = os.path.join(tmp, "t.tar")
        subprocess.run(["tar", "cf", tar, "-C", m.mnt, "."], check=True, capture_output=True)
        with tarfile.open(tar) as t:
            got = {os.path.normpath(i.name): t.extractfile(i).read() for i in t.getmembers() if i.isfile()}
        for rel, data in truth.items():
            check(got.get(rel) == data, "%s: tar stored %s bytes of %r, read() gives %d" %
                  (name, len(got[rel]) if rel in got else "no", rel, len(data)))
    if shutil.which("rsync"):
        with tm.Mount(source, what=name) as m:
            dst = os.path.join(tmp, "rsync")
            subprocess.run(["rsync", "-a", m.mnt + "/", dst + "/"], check=True, capture_output=True)
            got = read_all(dst)
            for rel, data in truth.items():
                check(got.get(rel) == data, "%s: rsync -a copied %r wrong" % (name, rel))
            shutil.rmtree(dst)
    else:
        tl.missing("rsync", "not installed (scripts/deps.sh installs it)", whole=False)
    with tm.Mount(source, what=name) as m:
        z = os.path.join(tmp, "z.zip")
        with zipfile.ZipFile(z, "w") as zf:
            for rel in truth:
                zf.write(os.path.join(m.mnt, rel), rel)
        with zipfile.ZipFile(z) as zf:
            for rel, data in truth.items():
                check(zf.read(rel) == data, "%s: zipfile stored %r wrong" % (name, rel))
    with tm.Mount(source, what=name) as m:
        for rel, data in truth.items():
            if not data:
                continue
            with open(os.path.join(m.mnt, rel), "rb") as f:
                with mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ) as mm:
                    check(mm[:] == data, "%s: mmap of %r gives %d bytes, read() %d" % (name, rel, len(mm), len(data)))


def check_first_stat(name, source, man):
    """A string tensor's first stat, before any open, is the length of TF's text."""
    variables = man["variables"]
    view = tm.expected_view(variables, tm.generated_names(source, variables))
    with tm.Mount(source, what=name) as m:
        for rel, e in view.items():
            v = e[1] if e[0] == "data" else None
            if not v or v["dtype"] != "string" or "strings_hex" not in v:
                continue
            p = m.path(rel)
            want = tm.string_text(v)
            check(os.stat(p).st_size == len(want), "%s: first stat of %r" % (name, v["name"]))
            with open(p, "rb") as f:
                check(f.read() == want, "%s: %r differs from TF's strings" % (name, v["name"]))


def computed_files(truth):
    """Files whose size comes from rendering: texts (not sidecars) that are not raw tensors."""
    return [rel for rel in truth if rel.endswith((".pbtxt", ".dot", ".txt", ".tsv")) or
            (not rel.endswith((".shape", ".dtype", ".npy")) and truth[rel][-1:] == b"\n")]


def check_reference(name, mnt, man, graph_dir, truth):
    """The read() bytes every tool is compared with are themselves checked against a truth
    that is not ckptfs: a variable's file (found through its user.ckpt.name, so whatever the
    path rule) against the sha256 TensorFlow recorded, or TF's elements as text; its sidecars
    against the manifest's dtype and shape; a graph text against the text TF printed
    (tests/fixtures/graphs). Returns how many files were checked so."""
    byname = {v["name"].encode("utf-8", "surrogateescape"): v for v in (man or {}).get(
        "variables", [])}
    n = 0
    for rel, data in truth.items():
        if graph_dir and os.path.isfile(os.path.join(graph_dir, rel)):
            with open(os.path.join(graph_dir, rel), "rb") as f:
                check(data == f.read(), "%s: %s differs from TF's text" % (name, rel))
            n += 1
            continue
        if not byname:
            continue
        try:
            v = byname.get(os.getxattr(os.path.join(mnt, rel), "user.ckpt.name"))
        except OSError:
            continue  # generated files carry no variable name
        if v is None:
            check(False, "%s: %r names no variable of the manifest" % (name, rel))
            continue
        n += 1
        if rel.endswith(".shape"):
            check(data == (tm.shape_text(v["shape"]) + "\n").encode(), "%s: %s" % (name, rel))
        elif rel.endswith(".dtype"):
            check(data == (v["dtype"] + "\n").encode(), "%s: %s" % (name, rel))
        elif v["dtype"] == "string" and "strings_hex" in v:
            check(data == tm.string_text(v), "%s: %s differs from TF's strings" % (name, rel))
        elif tm.numeric(v) and "sha256" in v:
            check(hashlib.sha256(data).hexdigest() == v["sha256"],
                  "%s: %s differs from TF's sha256" % (name, rel))
        else:
            n -= 1
    return n


def check_concurrent(name, source, rels, truth):
    for _ in range(ROUNDS):
        with tm.Mount(source, what=name) as m:
            barrier = threading.Barrier(THREADS)
            seen = [[] for _ in range(THREADS)]

            def worker(k):
                barrier.wait()
                order = rels[k % len(rels):] + rels[:k % len(rels)]
                for rel in order:
                    p = os.path.join(m.mnt, rel)
                    size = os.stat(p).st_size
                    with open(p, "rb") as f:
                        data = f.read()
                    seen[k].append((rel, size, data))

            ts = [threading.Thread(target=worker, args=(k,)) for k in range(THREADS)]
            for t in ts:
                t.start()
            for t in ts:
                t.join()
            for k in range(THREADS):
                for rel, size, data in seen[k]:
                    check(data == truth[rel] and size == len(data),
                          "%s: thread %d: %r stat %d, read %d bytes, want %d" %
                          (name, k, rel, size, len(data), len(truth[rel])))


def main():
    tm.require_fuse()
    for name, source, man in sources():
        with tempfile.TemporaryDirectory(prefix="ckptfs-sizes-") as tmp:
            with tm.Mount(source, what=name) as m:
                truth = read_all(m.mnt)
                gdir = os.path.dirname(source) if name.startswith("graphs/") else None
                n = check_reference(name, m.mnt, man, gdir, truth)
                print("%s: %d files checked against TF's truth" % (name, n))
            check_tools(name, source, truth, tmp)
            if man:
                check_first_stat(name, source, man)
            rels = computed_files(truth)
            if rels:
                check_concurrent(name, source, rels, truth)
        print("%s: checked %d files" % (name, len(truth)), flush=True)
    return tm.outcome()


if __name__ == "__main__":
    sys.exit(main())
