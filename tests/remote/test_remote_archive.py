#!/usr/bin/env python3
"""Checkpoints inside archives at a URL (issue 27), against nginx on 127.0.0.1.

Checks, each against a truth that is not ckptfs: `ckptfs ls` of a checkpoint in a stored zip
costs what docs/archives.md says (the size, the archive's last block with the central
directory and the index member: at most 3 requests and 3 MiB of a 17 MiB archive, counted in
nginx's access log); `cat` of a small tensor reads none of the 16 MiB tensor's blocks; the
16 MiB tensor read through the URL equals the bytes tests/pylib/ckptwriter.py wrote; every
tensor of a TF-written checkpoint in a deflated zip and a .tar.gz at a URL has the sha256 TF
recorded in its manifest, by `cat` and through a mount (when FUSE is usable); a mount of the
.tar.gz with cache_dir= keeps its index, and the next mount asks nginx for no byte of the
stream before a tensor is read; a .tar.gz URL holding a checkpoint and a SavedModel is listed,
verified (the stream fetched once) and mounted whole, one directory each, every tensor TF's.

Exit 0 pass, 1 fail, 77 skip (no nginx).
"""
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "scripts"))
import remote_testlib as R  # noqa: E402
import synthckpt  # noqa: E402  (the tests' own writer, tests/pylib/ckptwriter.py)

T = R.T
check = R.check
BIG_MIB = 16


def log_cost(lines):
    """(requests, body bytes) of nginx access-log lines in the combined format."""
    n = b = 0
    for line in lines:
        parts = line.split('"')
        if len(parts) < 3:
            continue
        fields = parts[2].split()
        n += 1
        b += int(fields[1]) if len(fields) > 1 and fields[1].isdigit() else 0
    return n, b


def cost_of(ngx, fn):
    before = len(ngx.settled(quiet=0.3))
    r = fn()
    after = ngx.settled(quiet=0.5)
    return r, log_cost(after[before:])


def big_bytes():
    return b"".join(synthckpt.big(BIG_MIB))


def make_root(root):
    fx = T.fixtures_dir()
    # A BERT-style stored zip of a checkpoint whose data shard holds a 16 MiB tensor.
    synth = os.path.join(root, "build", "uncased", "bert_model.ckpt")
    synthckpt.write(synth, 200, 16, BIG_MIB)
    with zipfile.ZipFile(os.path.join(root, "bert.zip"), "w", zipfile.ZIP_STORED) as z:
        d = os.path.dirname(synth)
        for f in sorted(os.listdir(d), key=lambda f: (not f.endswith("-00001"), f)):
            z.write(os.path.join(d, f), "uncased/" + f)
    # TF-written checkpoints, deflated and in a .tar.gz.
    with zipfile.ZipFile(os.path.join(root, "sample.zip"), "w", zipfile.ZIP_DEFLATED) as z:
        for f in sorted(os.listdir(os.path.join(fx, "sample"))):
            if f.startswith("model.ckpt"):
                z.write(os.path.join(fx, "sample", f), "m/" + f)
    with tarfile.open(os.path.join(root, "zoo.tar.gz"), "w:gz") as t:
        for f in sorted(os.listdir(os.path.join(fx, "keras_tf2"))):
            if f.startswith("ckpt."):
                t.add(os.path.join(fx, "keras_tf2", f), "zoo/checkpoint/" + f)
    # Two places in one archive: a training folder's checkpoint/ (a state file) and a
    # SavedModel.
    sm = os.path.join(fx, "savedmodel", "tf2")
    with tarfile.open(os.path.join(root, "zoo2.tar.gz"), "w:gz") as t:
        for f in sorted(os.listdir(os.path.join(fx, "keras_tf2"))):
            if f.startswith("ckpt."):
                t.add(os.path.join(fx, "keras_tf2", f), "zoo2/checkpoint/" + f)
        state = b'model_checkpoint_path: "ckpt"\n'
        info = tarfile.TarInfo("zoo2/checkpoint/checkpoint")
        info.size = len(state)
        t.addfile(info, io.BytesIO(state))
        for dirpath, _, files in sorted(os.walk(sm)):
            for f in sorted(files):
                if f != "manifest.json":
                    p = os.path.join(dirpath, f)
                    t.add(p, "zoo2/saved_model/" + os.path.relpath(p, sm))
    shutil.rmtree(os.path.join(root, "build"))


def manifest(case):
    with open(os.path.join(T.fixtures_dir(), case, "manifest.json")) as f:
        return json.load(f)


def check_cats(label, source, m):
    for v in m["variables"]:
        r = T.cat_variable(source, v["name"])
        if "strings_hex" in v:
            ok = r.rc == 0 and r.out == T.text_form([bytes.fromhex(h) for h in v["strings_hex"]])
        elif v["dtype"] == "string":
            continue
        else:
            ok = r.rc == 0 and hashlib.sha256(r.out).hexdigest() == v["sha256"]
        check(ok, "%s: cat %s equals TF's (%s)" % (label, v["name"], r.err.strip()[:200]))


def mount(src, mnt, *opts):
    args = [T.ckptfs_path(), "mount", src, mnt]
    for o in opts:
        args += ["-o", o]
    return subprocess.run(args, env=R.mount_env(), stdin=subprocess.DEVNULL,
                          capture_output=True, timeout=120)


def check_mounts(ngx, tmp):
    if not R.fuse_usable():
        print("no usable FUSE: the mount part is left out")
        return
    m = manifest("keras_tf2")
    mnt = os.path.join(tmp, "mnt")
    cache = os.path.join(tmp, "cache")
    os.makedirs(mnt)
    os.makedirs(cache)
    url = ngx.url + "/zoo.tar.gz//zoo/checkpoint/ckpt"
    p, (n1, b1) = cost_of(ngx, lambda: mount(url, mnt, "cache_dir=" + cache))
    check(p.returncode == 0, "mount of a .tar.gz URL: %s" % p.stderr.decode()[:300])
    if p.returncode != 0:
        return
    try:
        listed = subprocess.run(["ls", "-R", mnt], capture_output=True).stdout
        check(len(listed) > 0, "the mount lists its tree")
    finally:
        R.unmount(mnt)
    size = os.path.getsize(os.path.join(ngx_root(ngx), "zoo.tar.gz"))
    check(b1 >= size, "first mount read the whole stream once to index it (%d of %d bytes)" %
          (b1, size))
    check(any(f.endswith(".idx") for f in os.listdir(cache)),
          "the index is kept in cache_dir=: %s" % os.listdir(cache))
    p, (n2, b2) = cost_of(ngx, lambda: mount(url, mnt, "cache_dir=" + cache))
    check(p.returncode == 0, "second mount: %s" % p.stderr.decode()[:300])
    if p.returncode != 0:
        return
    try:
        # The kept index answers the tree; the block cache in cache_dir= answers the bytes.
        check(n2 <= 2, "second mount: %d requests (at most: the size, the index's block)" % n2)
        for v in m["variables"]:
            if "strings_hex" in v or v["dtype"] == "string":
                continue
            path = mounted_path(mnt, v["name"])
            with open(path, "rb") as f:
                got = f.read()
            check(hashlib.sha256(got).hexdigest() == v["sha256"],
                  "mounted %s equals TF's" % v["name"])
    finally:
        R.unmount(mnt)


def check_places(ngx, tmp):
    """A .tar.gz URL holding a checkpoint and a SavedModel, alone: `ls` lists both under
    their prefixes, `verify` checks both, and a mount shows a directory for each
    (docs/archives.md, "Several checkpoints in one archive") whose tensors are TF's."""
    url = ngx.url + "/zoo2.tar.gz"
    want = {url + "//zoo2/checkpoint/ckpt": manifest("keras_tf2"),
            url + "//zoo2/saved_model/variables/variables": manifest("savedmodel/tf2")}
    r = T.ckptfs("ls", url)
    heads = [l[:-1].decode() for l in r.out.split(b"\n") if l.endswith(b":")]
    check(r.rc == 0 and heads == sorted(want), "ls of a URL archive of two places: %s %s" %
          (heads, r.describe()))
    r, (n, b) = cost_of(ngx, lambda: T.ckptfs("verify", url))
    check(r.rc == 0 and r.out.count(b"all intact") == 2,
          "verify of a URL archive of two places checks both: " + r.describe())
    size = os.path.getsize(os.path.join(ngx_root(ngx), "zoo2.tar.gz"))
    check(b < 2 * size, "verify opened the archive once: %d bytes of a %d-byte .tar.gz "
          "(%d requests)" % (b, size, n))
    if not R.fuse_usable():
        return
    mnt = os.path.join(tmp, "mnt-places")
    os.makedirs(mnt)
    p = mount(url, mnt)
    if not check(p.returncode == 0, "mount of a URL archive of two places: %s" %
                 p.stderr.decode()[:300]):
        return
    try:
        got = sorted(os.listdir(mnt))
        check(got == ["checkpoint", "checkpoints.tsv", "saved_model"],
              "the mount's root: a directory per place: %s" % got)
        for d, m in (("checkpoint", want[url + "//zoo2/checkpoint/ckpt"]),
                     ("saved_model", want[url + "//zoo2/saved_model/variables/variables"])):
            for v in m["variables"]:
                if "strings_hex" in v or v["dtype"] == "string":
                    continue
                with open(mounted_path(os.path.join(mnt, d), v["name"]), "rb") as f:
                    got = f.read()
                check(hashlib.sha256(got).hexdigest() == v["sha256"],
                      "mounted %s/%s equals TF's" % (d, v["name"]))
    finally:
        R.unmount(mnt)


def mounted_path(mnt, key):
    """Where a mount shows key: the key itself, or in a checkpoint with an object graph P for
    P/.ATTRIBUTES/VARIABLE_VALUE (docs/format.md); NAME.raw when NAME is also a folder."""
    cands = [key]
    if key.endswith("/.ATTRIBUTES/VARIABLE_VALUE"):
        cands.insert(0, key[: -len("/.ATTRIBUTES/VARIABLE_VALUE")])
    for c in cands:
        p = os.path.join(mnt, *c.split("/"))
        if os.path.isdir(p) and os.path.isfile(p + ".raw"):
            return p + ".raw"
        if os.path.isfile(p):
            return p
    return os.path.join(mnt, *key.split("/"))


_ROOTS = {}


def ngx_root(ngx):
    return _ROOTS[ngx.url]


def main():
    T.ckptfs_path()
    tmp = tempfile.mkdtemp(prefix="ckpt-remote-archive-")
    os.chmod(tmp, 0o755)  # nginx's workers read the files as another user
    root = os.path.join(tmp, "www")
    os.makedirs(root)
    make_root(root)
    ngx = R.Nginx(root, os.path.join(tmp, "nginx"))
    _ROOTS[ngx.url] = root
    try:
        zsize = os.path.getsize(os.path.join(root, "bert.zip"))
        url = ngx.url + "/bert.zip"
        names = synthckpt.names(200) + [b"zz_big/tensor"]
        r, (n, b) = cost_of(ngx, lambda: T.ckptfs("ls", "-l", url))
        check(r.rc == 0, "ls of a zip URL: " + r.describe())
        if r.rc == 0:
            got = sorted(x.name for x in T.parse_ls(r.out))
            check(got == sorted(names), "ls lists what the writer wrote (%d names)" % len(got))
        check(n <= 3 and b <= 3 << 20,
              "ls of a %d-byte zip: %d requests, %d bytes (at most 3 and 3 MiB)" % (zsize, n, b))
        small = synthckpt.names(200)[0]
        r, (n, b) = cost_of(ngx, lambda: T.ckptfs("cat", url, small))
        check(r.rc == 0 and len(r.out) == 64, "cat of a small tensor: " + r.describe())
        check(b <= 4 << 20 and b < BIG_MIB << 20,
              "cat of a small tensor: %d requests, %d bytes: not the 16 MiB tensor" % (n, b))
        r = T.ckptfs("cat", url, "zz_big/tensor")
        check(r.rc == 0 and r.out == big_bytes(),
              "the 16 MiB tensor through the zip URL is the writer's bytes: " + r.describe())
        check_cats("sample.zip", ngx.url + "/sample.zip", manifest("sample"))
        check_cats("zoo.tar.gz", ngx.url + "/zoo.tar.gz", manifest("keras_tf2"))
        r = T.ckptfs("ls", ngx.url + "/absent.zip")
        check(r.rc not in (0, "timeout") and "absent.zip" in r.err,
              "a missing archive URL fails naming it: " + r.describe())
        check_mounts(ngx, tmp)
        check_places(ngx, tmp)
    finally:
        ngx.close()
        shutil.rmtree(tmp, ignore_errors=True)
    sys.exit(R.verdict())


if __name__ == "__main__":
    main()
