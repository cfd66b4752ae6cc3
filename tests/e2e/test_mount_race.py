#!/usr/bin/env python3
"""Many readers at one moment on a fresh mount get TensorFlow's bytes (issue 14's rare wrong
read: string files once reported size 0 until first opened).

Every file whose size or content the daemon computes on first access is opened, stat'ed and read
by THREADS threads released together by a barrier, on a fresh mount each round (so each round
is a first access), ROUNDS rounds per source. Files: string tensors, partitioned string
tensors, partitioned numeric tensors, names starting with NUL, a variant tensor, graph texts.

Truth is never our own output: string files are TF's elements (manifests written by
TensorFlow) in the documented text form; partitioned numeric tensors the manifest's sha256 of
TF's get_tensor; the variant file TF's text_format of its elements
(tests/e2e/variant/expected_ITERATOR_STATE.txt); graph texts what TF's text_format printed
(tests/fixtures/graphs/<case>/*.pbtxt). Every thread must see a stat size equal to the length
of the truth (the size is fixed at first stat, docs/mount.md) and read exactly the truth.

Exit 0 pass, 1 fail, 77 skip.
"""
import hashlib
import json
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_mount as tm  # noqa: E402

check = tm.check
HERE = os.path.dirname(os.path.abspath(__file__))
FIX = tm.FIXTURES
THREADS = int(os.environ.get("CKPT_RACE_THREADS", "16"))
ROUNDS = int(os.environ.get("CKPT_RACE_ROUNDS", "20"))
CASES = ["partitioned_strings", "hostile_names", "dtypes", "sliced", "partitioned"]


def manifest_targets(case):
    """(mount-relative path, check(data) -> bool, want length or None) of every string tensor
    and every partitioned tensor of a fixture, from its TF-written manifest."""
    with open(os.path.join(FIX, case, "manifest.json")) as f:
        m = json.load(f)
    source = os.path.join(FIX, case, m["prefix"])
    view = tm.expected_view(m["variables"], tm.generated_names(source, m["variables"]))
    sliced = set(m.get("sliced", ()))
    out = []
    for rel, e in view.items():
        if e[0] != "data":
            continue
        v = e[1]
        if "strings_hex" in v:
            want = tm.string_text(v)
            out.append((rel, want))
        elif v["name"] in sliced or v["name"].startswith("\0"):
            out.append((rel, ("sha256", v["sha256"], v["nbytes"])))
    return source, out


def graph_targets(case):
    d = os.path.join(FIX, "graphs", case)
    out = []
    for f in ("graph.pbtxt", "meta_graph.pbtxt"):
        with open(os.path.join(d, f), "rb") as fh:
            out.append((f.encode(), fh.read()))
    return os.path.join(d, "model.ckpt"), out


def variant_targets():
    with open(os.path.join(HERE, "variant", "expected_ITERATOR_STATE.txt"), "rb") as f:
        want = f.read()
    return os.path.join(HERE, "variant", "ckpt"), [(b"it/%.ATTRIBUTES/ITERATOR_STATE", want)]  # a TF 2 checkpoint: dot components escaped


def matches(want, size, data):
    if isinstance(want, tuple):
        return size == want[2] and len(data) == want[2] and \
            hashlib.sha256(data).hexdigest() == want[1]
    return size == len(want) and data == want


def race(name, source, targets):
    """ROUNDS fresh mounts; in each, all threads meet at every target at once."""
    bad = []
    reads = [0] * THREADS
    for rnd in range(ROUNDS):
        with tm.Mount(source, what=name) as m:
            barrier = threading.Barrier(THREADS)

            def worker(k):
                for rel, want in targets:
                    p = m.path(rel)
                    barrier.wait()
                    try:
                        # Half the threads stat first (lookup sizes the file), half open first.
                        if k % 2:
                            size = os.stat(p).st_size
                            with open(p, "rb") as f:
                                data = f.read()
                        else:
                            with open(p, "rb") as f:
                                data = f.read()
                                size = os.fstat(f.fileno()).st_size
                    except OSError as ex:
                        bad.append("round %d thread %d %r: %s" % (rnd, k, rel, ex))
                        continue
                    reads[k] += 1
                    if not matches(want, size, data):
                        bad.append("round %d thread %d %r: size %d, %d bytes read, not TF's"
                                   % (rnd, k, rel, size, len(data)))

            ts = [threading.Thread(target=worker, args=(k,)) for k in range(THREADS)]
            for t in ts:
                t.start()
            for t in ts:
                t.join()
    check(not bad, "%s: %d wrong reads under concurrency, first: %s" % (name, len(bad), bad[:3]))
    return sum(reads)


def main():
    tm.require_fuse()
    groups = []
    for case in CASES:
        if os.path.isfile(os.path.join(FIX, case, "manifest.json")):
            groups.append((case,) + manifest_targets(case))
    if os.path.isdir(os.path.join(FIX, "graphs", "mlp_v1")):
        groups.append(("graphs/mlp_v1",) + graph_targets("mlp_v1"))
    if os.path.isdir(os.path.join(HERE, "variant")):
        groups.append(("variant",) + variant_targets())
    if not groups:
        print("SKIP: no fixtures")
        return 77
    total = files = 0
    t0 = time.time()
    for name, source, targets in groups:
        if not targets:
            continue
        n = race(name, source, targets)
        total += n
        files += len(targets)
        print("%s: %d files x %d threads x %d fresh mounts: %d reads" %
              (name, len(targets), THREADS, ROUNDS, n), flush=True)
    print("%d files, %d concurrent first-access reads in %.0f s" % (files, total, time.time() - t0))
    return tm.outcome()


if __name__ == "__main__":
    sys.exit(main())
