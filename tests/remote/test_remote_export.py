#!/usr/bin/env python3
"""`ckptfs export URL DST` (issue 25), against nginx serving a copy of the fixtures.

Truth: each fixture's manifest.json (TensorFlow's reading: sha256 of every tensor's bytes) and
the safetensors package's own reader; for the V2 export, TensorFlow's reading of the result
when it imports. Cases: a TF1 checkpoint and a partitioned one as safetensors, the TF1 one as a
V2 prefix with its Adam slots excluded. Exit 0 pass, 1 fail, 77 skip (no nginx, no
safetensors).
"""
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import remote_testlib as R  # noqa: E402

T = R.T
check = R.check

safetensors = T.oracle("safetensors")  # required in CI (tests/README.md "Skips")


def manifest(root, case):
    with open(os.path.join(root, case, "manifest.json")) as f:
        return json.load(f)


def check_safetensors(ngx, root, work, case, prefix):
    m = manifest(root, case)
    url = "%s/%s/%s" % (ngx.url, case, prefix)
    out = os.path.join(work, case + ".safetensors")
    r = T.ckptfs("export", url, out)
    check(r.rc == 0, "export %s: %s" % (url, r.describe()))
    if r.rc != 0:
        return
    with open(out, "rb") as f:
        tensors = dict(safetensors.deserialize(f.read()))
    want = [v for v in m["variables"] if v["dtype"] != "string" and "sha256" in v]
    check(set(tensors) == set(v["name"] for v in want), "%s: the manifest's tensors" % case)
    bad = [v["name"] for v in want if v["name"] in tensors and
           hashlib.sha256(bytes(tensors[v["name"]]["data"])).hexdigest() != v["sha256"]]
    check(not bad, "%s over http: every tensor has TF's sha256 (differ: %r)" % (case, bad[:5]))


def check_v2(ngx, root, work):
    m = manifest(root, "sample")
    url = "%s/sample/model.ckpt" % ngx.url
    dst = os.path.join(work, "v2", "model.ckpt")
    os.makedirs(os.path.dirname(dst))
    r = T.ckptfs("export", "--exclude", "*/Adam*", url, dst)
    check(r.rc == 0, "V2 export of %s: %s" % (url, r.describe()))
    if r.rc != 0:
        return
    tf = T.oracle("tensorflow", whole=False)  # fails in CI; else SKIP-PART, visibly
    if tf is None:
        return
    got = tf.train.load_checkpoint(dst)
    want = {v["name"]: v for v in m["variables"] if "/Adam" not in v["name"]}
    check(sorted(got.get_variable_to_shape_map()) == sorted(want),
          "V2 over http: the kept keys")
    for name, v in want.items():
        check(hashlib.sha256(got.get_tensor(name).tobytes()).hexdigest() == v["sha256"],
              "V2 over http: %s has TF's sha256" % name)


def check_interrupt(root, work):
    """Ctrl-C while the server has stopped answering: the export leaves within a few seconds,
    not after its 30 s network timeout, exits 128 + SIGINT saying "interrupted", and leaves
    no file (its temporary one removed). The server answers the index and goes silent on the
    data shard (StallingServer), so the export has its temporary file open when it waits."""
    srv = R.StallingServer(root, "data-00000")
    out = os.path.join(work, "interrupt")
    os.mkdir(out)
    try:
        for name in ("s.safetensors", "v2"):
            env = dict(os.environ, CKPTFS_NET_TIMEOUT="30")
            p = subprocess.Popen([T.ckptfs_path(), "export", "%s/sample/model.ckpt" % srv.url,
                                  os.path.join(out, name)], env=env, stdin=subprocess.DEVNULL,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            held = srv.stalled
            started = T.wait_until(lambda: os.listdir(out) and srv.stalled > held, 20,
                                   "the export's temporary file and its request for data")
            t = time.monotonic()
            p.send_signal(signal.SIGINT)
            try:
                _, err = p.communicate(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                _, err = p.communicate()
            took = time.monotonic() - t
            check(started, "%s: the export began writing before the server went silent" % name)
            check(p.returncode == 128 + signal.SIGINT,
                  "%s: Ctrl-C: exit %d, want %d (%s)" % (name, p.returncode,
                                                        128 + signal.SIGINT, err.strip()[:200]))
            check(took < 5, "%s: Ctrl-C on a silent server: left after %.1f s (timeout 30 s)"
                  % (name, took))
            check("interrupted" in err, "%s: the message says interrupted: %r" % (name, err[:200]))
            check(os.listdir(out) == [], "%s: no file left: %r" % (name, os.listdir(out)))
    finally:
        srv.close()


def main():
    T.ckptfs_path()
    work = tempfile.mkdtemp(prefix="ckpt-remote-export-")
    os.chmod(work, 0o755)  # nginx's workers run as another user
    ngx = None
    try:
        root = os.path.join(work, "root")
        os.makedirs(root)
        for case in ("sample", "partitioned"):
            shutil.copytree(os.path.join(T.fixtures_dir(), case), os.path.join(root, case))
        ngx = R.Nginx(root, work)
        check_safetensors(ngx, root, work, "sample", "model.ckpt")
        check_safetensors(ngx, root, work, "partitioned", "model.ckpt")
        check_v2(ngx, root, work)
        check_interrupt(root, work)
    finally:
        if ngx:
            ngx.close()
        shutil.rmtree(work, ignore_errors=True)
    return R.verdict()


if __name__ == "__main__":
    sys.exit(main())
