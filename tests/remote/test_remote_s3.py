#!/usr/bin/env python3
"""Checkpoints in s3:// and gs:// (issue 13), against moto's S3 server holding the fixtures.

moto checks every signature after the few unsigned setup requests it is told to allow
(INITIAL_NO_AUTH_ACTION_COUNT), so the right keys passing and wrong ones getting 403 shows
that ckptfs signs requests as S3 wants. gs:// goes to the same server through
CKPTFS_GCS_ENDPOINT with GS_ACCESS_KEY_ID/GS_SECRET_ACCESS_KEY (GCS's S3-compatible XML API).
Truths: `ckptfs ls` of the local copy and TF's manifests; TF's sha256 of every tensor.

Exit 0 pass, 1 fail, 77 skip (moto not installed).
"""
import hashlib
import json
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import remote_testlib as R  # noqa: E402

T = R.T
check = R.check


def ckptfs_env(env, *args):
    import subprocess
    p = subprocess.run([T.ckptfs_path()] + list(args), env=env, stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300)
    return p.returncode, p.stdout, p.stderr.decode("utf-8", "replace")


def main():
    T.ckptfs_path()
    T.oracle("boto3")  # skips without it; fails in CI
    # create_user, create_access_key, put_user_policy go unsigned; moto checks all after.
    moto = R.Moto(no_auth=3)
    work = tempfile.mkdtemp(prefix="ckpt-remote-s3-")
    try:
        iam = moto.client("iam")
        iam.create_user(UserName="ckptfs")
        key = iam.create_access_key(UserName="ckptfs")["AccessKey"]
        iam.put_user_policy(UserName="ckptfs", PolicyName="all", PolicyDocument=json.dumps(
            {"Version": "2012-10-17",
             "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
        kid, secret = key["AccessKeyId"], key["SecretAccessKey"]
        s3 = moto.client("s3", kid, secret)
        root = T.fixtures_dir()
        moto.upload_tree(s3, "ckpts", root)
        home = os.path.join(work, "home")
        os.makedirs(os.path.join(home, ".aws"))
        base = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "GS_"))}
        base["HOME"] = home
        env = dict(base, AWS_ENDPOINT_URL=moto.url, AWS_ACCESS_KEY_ID=kid,
                   AWS_SECRET_ACCESS_KEY=secret, AWS_REGION="us-east-1")

        for case, rel in R.case_sources(root):
            local = T.ckptfs("ls", "-l", os.path.join(root, rel))
            rc, out, err = ckptfs_env(env, "ls", "-l", "s3://ckpts/" + rel)
            check(rc == 0 and out == local.out, "ls s3://ckpts/%s equals the local ls" % rel
                  + ("" if rc == 0 else ": " + err.strip()))
        # A folder with one *.index and no state file: found by listing the bucket.
        rc, out, err = ckptfs_env(env, "ls", "-l", "s3://ckpts/dtypes/")
        check(rc == 0 and out == T.ckptfs("ls", "-l", os.path.join(root, "dtypes")).out,
              "ls s3://ckpts/dtypes/ finds its one checkpoint by ListObjectsV2" + ("" if rc == 0 else ": " + err.strip()))

        # Every tensor byte-exact, against TF's sha256.
        for case in ("sample", "sharded", "dtypes"):
            mf = json.load(open(os.path.join(root, case, "manifest.json")))
            prefix = "s3://ckpts/%s/%s" % (case, mf["prefix"])
            ok = True
            for v in mf["variables"]:
                if "sha256" not in v or v["dtype"] in ("string", "variant"):
                    continue
                rc, out, err = ckptfs_env(env, "cat", prefix, v["name"])
                ok &= rc == 0 and hashlib.sha256(out).hexdigest() == v["sha256"]
            check(ok, "cat of every numeric tensor of %s over s3 matches TF's sha256" % case)

        # Credentials from a profile of ~/.aws/credentials.
        with open(os.path.join(home, ".aws", "credentials"), "w") as f:
            f.write("[default]\naws_access_key_id = nobody\naws_secret_access_key = x\n\n"
                    "[ckpt]\naws_access_key_id = %s\naws_secret_access_key = %s\n" % (kid, secret))
        penv = dict(base, AWS_ENDPOINT_URL=moto.url, AWS_PROFILE="ckpt")
        rc, out, err = ckptfs_env(penv, "ls", "-l", "s3://ckpts/sample/model.ckpt")
        check(rc == 0, "AWS_PROFILE picks the profile's keys" + ("" if rc == 0 else ": " + err.strip()))

        # Wrong keys: 403, exit 2, naming the URL.
        bad = dict(env, AWS_SECRET_ACCESS_KEY="wrong")
        rc, out, err = ckptfs_env(bad, "ls", "-l", "s3://ckpts/sample/model.ckpt")
        check(rc == 2 and "403" in err and "s3://ckpts/sample/model.ckpt" in err,
              "wrong credentials: exit 2, access denied (%s: %s)" % (rc, err.strip()))
        rc, out, err = ckptfs_env(env, "ls", "-l", "s3://ckpts/nope/model.ckpt")
        check(rc == 2 and "s3://ckpts/nope/model.ckpt" in err,
              "a missing key: exit 2 naming the URL (%s: %s)" % (rc, err.strip()))

        # gs:// through the S3-compatible API at an overridden endpoint, HMAC keys.
        genv = dict(base, CKPTFS_GCS_ENDPOINT=moto.url, GS_ACCESS_KEY_ID=kid,
                    GS_SECRET_ACCESS_KEY=secret)
        rc, out, err = ckptfs_env(genv, "ls", "-l", "gs://ckpts/sample/model.ckpt")
        check(rc == 0 and out == T.ckptfs("ls", "-l", os.path.join(root, "sample", "model.ckpt")).out,
              "ls gs://ckpts/sample/model.ckpt equals the local ls" + ("" if rc == 0 else ": " + err.strip()))
        rc, out, err = ckptfs_env(genv, "ls", "-l", "gs://ckpts/folder")
        check(rc == 0 and out == T.ckptfs("ls", "-l", os.path.join(root, "folder")).out,
              "ls gs://ckpts/folder follows its state file")

        if R.fuse_usable():
            mnt = os.path.join(work, "mnt")
            os.mkdir(mnt)
            import subprocess
            p = subprocess.run([T.ckptfs_path(), "mount", "s3://ckpts/sample/model.ckpt", mnt],
                               env=R.mount_env(env), capture_output=True, text=True, timeout=120)
            check(p.returncode == 0, "mount s3://ckpts/sample/model.ckpt" + ("" if p.returncode == 0 else ": " + p.stderr))
            if p.returncode == 0:
                try:
                    mf = json.load(open(os.path.join(root, "sample", "manifest.json")))
                    names = set(v["name"] for v in mf["variables"])
                    ok = True
                    for v in mf["variables"]:
                        path = os.path.join(mnt, v["name"])
                        if any(o.startswith(v["name"] + "/") for o in names):
                            path += ".raw"
                        ok &= hashlib.sha256(open(path, "rb").read()).hexdigest() == v["sha256"]
                    check(ok, "every tensor of sample through an s3 mount matches TF's sha256")
                    check(open(os.path.join(mnt, "dense", "kernel", "Adam.shape")).read() == "[784, 10]\n",
                          "a sidecar of the s3 mount")
                finally:
                    R.unmount(mnt)
        else:
            T.missing("FUSE", "no /dev/fuse, or not root and no fusermount3", whole=False)
    finally:
        moto.close()
        shutil.rmtree(work, ignore_errors=True)
    return R.verdict()


if __name__ == "__main__":
    sys.exit(main())
