#!/usr/bin/env python3
"""Training folders mounted from s3://, gs:// and http:// (issue 13).

A folder URL with a `checkpoint` state file (or, in a bucket, more than one *.index) mounts as
a training folder, as a local one does: a directory per checkpoint, `latest` -> the one the
state file names, checkpoints.tsv. Over S3/GCS the checkpoints come from ListObjectsV2; over
plain HTTP, which cannot be listed, from the state file's names.

Truths, none of them ckptfs over the network: the fixture folder's manifest (TF's sha256 of
every tensor of every step, and the step the state file names), the file names uploaded, and
the numbers of requests in the servers' own logs.

Exit 0 pass, 1 fail, 77 skip (moto or nginx missing, or no usable FUSE).
"""
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import remote_testlib as R  # noqa: E402

T = R.T
check = R.check


def mount(src, mnt, env=None):
    return subprocess.run([T.ckptfs_path(), "mount", src, mnt], env=R.mount_env(env),
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def check_steps(mnt, steps, what):
    """Every tensor of every step through the mount against TF's sha256."""
    got = sorted(n for n in os.listdir(mnt) if n not in ("latest", "checkpoints.tsv"))
    check(got == sorted(steps), "%s lists exactly the checkpoints %s (%s)" % (what, sorted(steps), got))
    for step, variables in steps.items():
        names = set(v["name"] for v in variables)
        ok = True
        for v in variables:
            p = os.path.join(mnt, step, v["name"])
            if any(o.startswith(v["name"] + "/") for o in names):
                p += ".raw"
            ok &= os.path.exists(p) and sha(p) == v["sha256"]
        check(ok, "%s: every tensor of %s matches TF's sha256" % (what, step))


def check_folder_mount(src, mnt, mf, what, env=None):
    p = mount(src, mnt, env)
    check(p.returncode == 0, "mount %s" % src + ("" if p.returncode == 0 else ": " + p.stderr))
    if p.returncode != 0:
        return
    try:
        check(os.readlink(os.path.join(mnt, "latest")) == mf["prefix"],
              "%s: latest -> %s, the state file's latest" % (what, mf["prefix"]))
        check_steps(mnt, mf["steps"], what)
        with open(os.path.join(mnt, "checkpoints.tsv")) as f:
            rows = f.read().splitlines()
        check(len(rows) == 1 + len(mf["steps"]), "%s: checkpoints.tsv has a row per checkpoint" % what)
    finally:
        R.unmount(mnt)


def s3_part(work, fixtures, mf, mnt):
    if T.oracle("boto3", whole=False) is None:  # fails in CI
        return
    moto = R.Moto()
    try:
        s3 = moto.client("s3")
        moto.upload_tree(s3, "runs", os.path.join(fixtures, "folder"))
        # A second folder with two checkpoints and no state file: known by listing alone.
        for case in ("sample", "dtypes"):
            d = os.path.join(fixtures, case)
            with open(os.path.join(d, "manifest.json")) as f:
                prefix = json.load(f)["prefix"]
            for fn in os.listdir(d):
                if fn.startswith((prefix + ".index", prefix + ".data-")):
                    s3.upload_file(os.path.join(d, fn), "runs", "multi/" + case + fn[len(prefix):])
        home = os.path.join(work, "home")
        os.makedirs(home, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "GS_"))}
        env.update(HOME=home, AWS_ENDPOINT_URL=moto.url, AWS_ACCESS_KEY_ID="testing",
                   AWS_SECRET_ACCESS_KEY="testing", AWS_REGION="us-east-1")
        # moto.upload_tree put the folder's files at the bucket's top: the folder is the bucket.
        check_folder_mount("s3://runs", mnt, mf, "s3 folder", env)
        genv = {k: v for k, v in env.items() if not k.startswith("AWS_")}
        genv.update(CKPTFS_GCS_ENDPOINT=moto.url, GS_ACCESS_KEY_ID="testing",
                    GS_SECRET_ACCESS_KEY="testing")
        check_folder_mount("gs://runs/", mnt, mf, "gs folder", genv)

        listed = sorted(o["Key"][len("multi/"):] for o in
                        s3.list_objects_v2(Bucket="runs", Prefix="multi/")["Contents"]
                        if o["Key"].endswith(".index"))
        p = mount("s3://runs/multi", mnt, env)
        check(p.returncode == 0, "mount s3://runs/multi (no state file, %d indexes)" % len(listed)
              + ("" if p.returncode == 0 else ": " + p.stderr))
        if p.returncode == 0:
            try:
                got = sorted(n for n in os.listdir(mnt) if n != "checkpoints.tsv")
                check(got == [n[:-len(".index")] for n in listed],
                      "s3://runs/multi lists one directory per *.index the bucket holds (%s)" % got)
                check(not os.path.lexists(os.path.join(mnt, "latest")),
                      "no state file: no `latest`")
                mfs = json.load(open(os.path.join(fixtures, "sample", "manifest.json")))
                v = next(v for v in mfs["variables"] if v["name"] == "dense/kernel/Adam")
                check(sha(os.path.join(mnt, "sample", "dense", "kernel", "Adam")) == v["sha256"],
                      "a tensor of a listed-only checkpoint matches TF's sha256")
            finally:
                R.unmount(mnt)
        r = subprocess.run([T.ckptfs_path(), "verify", "s3://runs"], env=env, capture_output=True,
                           text=True, timeout=120)
        intact = [ln for ln in r.stdout.splitlines() if ln.endswith("all intact")]
        check(r.returncode == 0 and len(intact) == len(mf["steps"]),
              "ckptfs verify s3://runs checks every checkpoint the folder lists (%d of %d)"
              % (len(intact), len(mf["steps"])))
        # `ls` of the same folder URL still means its latest checkpoint, as before.
        r = subprocess.run([T.ckptfs_path(), "ls", "s3://runs"], env=env, capture_output=True,
                           timeout=120)
        local = T.ckptfs("ls", os.path.join(fixtures, "folder"))
        check(r.returncode == 0 and r.stdout == local.out,
              "ckptfs ls s3://runs is still the latest checkpoint's listing")
    finally:
        moto.close()


def http_part(work, fixtures, mf, mnt):
    root = os.path.join(work, "root")
    shutil.copytree(os.path.join(fixtures, "folder"), os.path.join(root, "folder"))
    os.chmod(work, 0o755)  # nginx's workers run as another user
    # nginx failing to start is a failure (R.Nginx raises); only its absence skips.
    ngx = R.Nginx(root, work)
    try:
        before = len(ngx.requests())
        check_folder_mount(ngx.url + "/folder/", mnt, mf, "http folder")
        n = len(ngx.settled()) - before
        # state file + (per checkpoint: the .index probe, its read, the shard) is the budget.
        print("requests for the http folder mount and every tensor of 3 checkpoints: %d" % n)
        check(n <= 2 + 3 * 4, "http folder: %d requests (at most %d)" % (n, 2 + 3 * 4))
    finally:
        ngx.close()


def main():
    T.ckptfs_path()
    if not R.fuse_usable():
        T.missing("FUSE", "no /dev/fuse, or not root and no fusermount3")
    fixtures = T.fixtures_dir()
    with open(os.path.join(fixtures, "folder", "manifest.json")) as f:
        mf = json.load(f)
    work = tempfile.mkdtemp(prefix="ckpt-remote-folder-")
    mnt = os.path.join(work, "mnt")
    os.mkdir(mnt)
    try:
        s3_part(work, fixtures, mf, mnt)
        http_part(work, fixtures, mf, mnt)
    finally:
        R.unmount(mnt)
        shutil.rmtree(work, ignore_errors=True)
    return R.verdict()


if __name__ == "__main__":
    sys.exit(main())
