#!/usr/bin/env python3
"""An archive holding several checkpoints, mounted and listed alone (issue 27,
docs/archives.md "Several checkpoints in one archive").

Archives made here by Python's zipfile and tarfile from TensorFlow-written fixtures:
- a zoo-style tree: zoo/checkpoint/ (keras_tf2 saved as ckpt-0, a state file naming it),
  zoo/saved_model/ (savedmodel/tf2), zoo/extra/one/model.ckpt.* (sample: V2 with a .meta) and
  zoo/odd 50%/model.ckpt (v1: a V1 file), as a deflated zip, a stored zip and a .tar.gz;
- a training folder at the root (folder: three steps and a state file) beside sm/
  (savedmodel/tf1), as a tar.
Each archive alone is mounted for real: its root holds one directory per place, named as
docs/archives.md says (re-implemented here: the shared leading folder left out, '%' as %25,
'/' as %2F, the root as "." which the mount shows as "%."), and every numeric tensor read
through a directory has the sha256 TensorFlow recorded in the fixture's manifest; a training
folder is its latest checkpoint (the manifest's prefix), and ARCHIVE//. mounts the root
training folder with every step (the manifest's steps). `ckptfs ls`, `ls -l`, `ls --json`
list every place's variables (TF's names) under the prefixes the doc gives, `verify` checks
every checkpoint, and `cat` of the archive alone still refuses, naming the places. A zip of
40,000 places lists and mounts in well under a minute.

Exit 0 pass, 1 fail, 77 skip (no usable FUSE, a fixture missing).
"""
import hashlib
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
sys.path.insert(0, os.path.join(HERE, "..", "pylib"))
import test_mount as tm  # noqa: E402
import ckpt_testlib as tl  # noqa: E402

check = tm.check
FIX = tm.FIXTURES


def manifest(case):
    path = os.path.join(FIX, case, "manifest.json")
    if not os.path.isfile(path):
        print("SKIP: fixture %s missing" % case)
        sys.exit(77)
    with open(path) as f:
        return json.load(f)


def copy(src, dst):
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    shutil.copyfile(src, dst)


def copy_savedmodel(case, dst):
    src = os.path.join(FIX, "savedmodel", case)
    for dirpath, _, files in os.walk(src):
        for f in files:
            if f != "manifest.json":
                p = os.path.join(dirpath, f)
                copy(p, os.path.join(dst, os.path.relpath(p, src)))


def zoo_tree(root):
    d = os.path.join(root, "zoo")
    for f in os.listdir(os.path.join(FIX, "keras_tf2")):
        if f.startswith("ckpt."):
            copy(os.path.join(FIX, "keras_tf2", f), os.path.join(d, "checkpoint", "ckpt-0" + f[4:]))
    with open(os.path.join(d, "checkpoint", "checkpoint"), "w") as f:
        f.write('model_checkpoint_path: "ckpt-0"\nall_model_checkpoint_paths: "ckpt-0"\n')
    copy_savedmodel("tf2", os.path.join(d, "saved_model"))
    for f in os.listdir(os.path.join(FIX, "sample")):
        if f.startswith("model.ckpt"):
            copy(os.path.join(FIX, "sample", f), os.path.join(d, "extra", "one", f))
    copy(os.path.join(FIX, "v1", "model.ckpt"), os.path.join(d, "odd 50%", "model.ckpt"))
    with open(os.path.join(d, "pipeline.config"), "w") as f:
        f.write("model { ssd { num_classes: 90 } }\n")


def root_tree(root):
    for f in os.listdir(os.path.join(FIX, "folder")):
        if f != "manifest.json":
            copy(os.path.join(FIX, "folder", f), os.path.join(root, f))
    copy_savedmodel("tf1", os.path.join(root, "sm"))


def files_of(root):
    out = []
    for dirpath, _, files in os.walk(root):
        for f in files:
            p = os.path.join(dirpath, f)
            out.append((p, os.path.relpath(p, root)))
    return sorted(out, key=lambda x: x[1])


def pack(tree, path):
    if path.endswith(".zip"):
        comp = zipfile.ZIP_STORED if ".stored." in path else zipfile.ZIP_DEFLATED
        with zipfile.ZipFile(path, "w", comp) as z:
            for full, rel in files_of(tree):
                z.write(full, rel)
    else:
        with tarfile.open(path, "w:gz" if path.endswith(".gz") else "w") as t:
            for full, rel in files_of(tree):
                t.add(full, rel)
    return path


def dir_name(place, shared):
    """docs/archives.md: the shared leading folder left out, '%' as %25, '/' as %2F, the root
    as "."; then the mount's escape of "." (docs/format.md): "%."."""
    rest = place[len(shared):] if shared else place
    name = rest.replace("%", "%25").replace("/", "%2F") or "."
    return "%." if name == "." else name


def mounted_path(d, key):
    """Where a view shows key: the key, or for a TF 2 key P/.ATTRIBUTES/VARIABLE_VALUE the
    path P; NAME.raw when NAME is also a folder (docs/mount.md)."""
    cands = [key]
    if key.endswith("/.ATTRIBUTES/VARIABLE_VALUE"):
        cands.insert(0, key[: -len("/.ATTRIBUTES/VARIABLE_VALUE")])
    for c in cands:
        p = os.path.join(d, *c.split("/"))
        if os.path.isdir(p) and os.path.isfile(p + ".raw"):
            return p + ".raw"
        if os.path.isfile(p):
            return p
    return os.path.join(d, *key.split("/"))


def check_tensors(label, d, variables):
    n = 0
    for v in variables:
        if v["dtype"] == "string" or "strings_hex" in v:
            continue
        p = mounted_path(d, v["name"])
        try:
            with open(p, "rb") as f:
                got = hashlib.sha256(f.read()).hexdigest()
        except OSError as e:
            got = str(e)
        check(got == v["sha256"], "%s: %s through the mount equals TF's (%s)" % (label, v["name"], got))
        n += 1
    check(n > 0, "%s: some numeric tensor checked" % label)


def mount(source):
    mnt = tempfile.mkdtemp(prefix="ckptfs-mnt-")
    r = subprocess.run([tm.MOUNT, source, mnt], capture_output=True, timeout=60,
                       stdin=subprocess.DEVNULL)
    if not check(r.returncode == 0, "mount %s: exit %d: %s" % (source, r.returncode, r.stderr[-400:])):
        os.rmdir(mnt)
        return None
    return mnt


def unmount(mnt, what):
    tm.unmount(mnt)
    tm.wait_no_daemon(mnt, what)
    if not tm.is_mounted(mnt):
        os.rmdir(mnt)


def ck(*args):
    r = subprocess.run([tm.CKPTFS] + list(args), capture_output=True, timeout=60,
                       stdin=subprocess.DEVNULL)
    return r.returncode, r.stdout, r.stderr.decode("utf-8", "replace")


def ls_blocks(out, headers):
    """`ls` of several checkpoints: {header: body bytes}, each block "PREFIX:" then its lines,
    an empty line between blocks."""
    blocks, cur = {}, None
    heads = {h.encode() + b":": h for h in headers}
    for line in out.split(b"\n"):
        if line in heads:
            cur = heads[line]
            blocks[cur] = b""
        elif cur is not None and line:
            blocks[cur] += line + b"\n"
    return blocks


def check_commands(label, path, places, inner):
    """places: {prefix (the SOURCE ls names it by): TF's variables}; inner: the places' paths
    inside the archive, which a command taking one checkpoint names to pick from."""
    rc, out, err = ck("ls", path)
    check(rc == 0, "%s: ls of the archive alone: exit %s %s" % (label, rc, err[-300:]))
    heads = [l[:-1].decode() for l in out.split(b"\n") if l.endswith(b":") and b"//" in l]
    check(heads == sorted(places, key=lambda p: order[label][p]),
          "%s: ls heads one block per place, in the order of their names: %s" % (label, heads))
    blocks = ls_blocks(out, places)
    for prefix, variables in places.items():
        got = sorted(tl.unescape(x) for x in blocks.get(prefix, b"").splitlines())
        check(got == sorted(v["name"].encode() for v in variables),
              "%s: ls lists TF's names under %s (%d of %d)" % (label, prefix, len(got), len(variables)))
    rc, out, err = ck("ls", "-l", path)
    blocks = ls_blocks(out, places)
    for prefix, variables in places.items():
        rows = tl.parse_ls(blocks.get(prefix, b"-\n"))
        check(sorted(x.name for x in rows) == sorted(v["name"].encode() for v in variables),
              "%s: ls -l lists TF's names under %s" % (label, prefix))
    rc, out, err = ck("ls", "--json", path)
    by = {}
    for line in out.splitlines():
        o = json.loads(line)
        by.setdefault(o.get("checkpoint"), []).append(o["name"])
    check(rc == 0 and sorted(by) == sorted(places),
          "%s: ls --json names each object's checkpoint: %s" % (label, sorted(by)))
    for prefix, variables in places.items():
        check(sorted(by.get(prefix, [])) == sorted(v["name"] for v in variables),
              "%s: ls --json lists TF's names of %s" % (label, prefix))
    rc, out, err = ck("cat", path, "global_step")
    check(rc == 1 and all("%s//%s" % (path, p) in err for p in inner) and "name one" in err,
          "%s: cat of the archive alone still asks for one: exit %s %s" % (label, rc, err[-200:]))


order = {}


def check_zoo(tmp, kinds):
    tree = os.path.join(tmp, "zoo-tree")
    zoo_tree(tree)
    m = {"checkpoint": manifest("keras_tf2"), "saved_model": manifest("savedmodel/tf2"),
         "extra/one/model.ckpt": manifest("sample"), "odd 50%/model.ckpt": manifest("v1")}
    places = {"zoo/checkpoint": "checkpoint", "zoo/saved_model": "saved_model",
              "zoo/extra/one/model.ckpt": "extra/one/model.ckpt",
              "zoo/odd 50%/model.ckpt": "odd 50%/model.ckpt"}
    resolved = {"zoo/checkpoint": "zoo/checkpoint/ckpt-0",
                "zoo/saved_model": "zoo/saved_model/variables/variables"}
    for kind in kinds:
        path = pack(tree, os.path.join(tmp, "zoo." + kind))
        label = "zoo." + kind
        names = {dir_name(p, "zoo/"): m[k] for p, k in places.items()}
        mnt = mount(path)
        if mnt:
            try:
                got = sorted(os.listdir(mnt))
                check(got == sorted(list(names) + ["checkpoints.tsv"]),
                      "%s: the root holds one directory per place: %s" % (label, got))
                for name, mf in names.items():
                    check_tensors("%s/%s" % (label, name), os.path.join(mnt, name), mf["variables"])
                sm = os.listdir(os.path.join(mnt, "saved_model"))
                check("signatures.txt" in sm and "saved_model.pbtxt" in sm,
                      "%s: the SavedModel's directory shows its graph files" % label)
                check("signatures.txt" not in os.listdir(os.path.join(mnt, "checkpoint")),
                      "%s: a checkpoint's directory has no SavedModel files" % label)
                with open(os.path.join(mnt, "checkpoints.tsv")) as f:
                    rows = [l.split("\t")[0] for l in f.read().splitlines()[1:]]
                check(sorted(rows) == sorted(names), "%s: checkpoints.tsv: %s" % (label, rows))
            finally:
                unmount(mnt, label)
        prefixes = {"%s//%s" % (path, resolved.get(p, p)): m[k]["variables"]
                    for p, k in places.items()}
        order[label] = {"%s//%s" % (path, resolved.get(p, p)): dir_name(p, "zoo/")
                        for p in places}
        check_commands(label, path, prefixes, places)
        rc, out, err = ck("verify", path)
        check(rc == 0 and out.count(b"all intact") == 4 and b"total: 4 checkpoints" in out,
              "%s: verify checks the 4 checkpoints inside: exit %s %r %s" % (label, rc, out[-400:], err[-200:]))


def check_root(tmp):
    """A training folder at the root beside a SavedModel: "." (shown "%.") is the folder's
    latest, ARCHIVE//. the folder itself with every step."""
    tree = os.path.join(tmp, "root-tree")
    root_tree(tree)
    folder, sm = manifest("folder"), manifest("savedmodel/tf1")
    path = pack(tree, os.path.join(tmp, "root.tar"))
    mnt = mount(path)
    if mnt:
        try:
            got = sorted(os.listdir(mnt))
            check(got == sorted(["%.", "sm", "checkpoints.tsv"]), "root.tar: the root: %s" % got)
            check_tensors("root.tar/%.", os.path.join(mnt, "%."), folder["steps"][folder["prefix"]])
            check_tensors("root.tar/sm", os.path.join(mnt, "sm"), sm["variables"])
        finally:
            unmount(mnt, "root.tar")
    mnt = mount(path + "//.")
    if mnt:
        try:
            got = sorted(os.listdir(mnt))
            check(got == sorted(list(folder["steps"]) + ["latest", "checkpoints.tsv"]),
                  "root.tar//.: the root training folder itself: %s" % got)
            check(os.readlink(os.path.join(mnt, "latest")) == folder["prefix"],
                  "root.tar//.: latest is the state file's")
            for step, variables in folder["steps"].items():
                check_tensors("root.tar//./" + step, os.path.join(mnt, step), variables)
        finally:
            unmount(mnt, "root.tar//.")
    rc, out, err = ck("verify", path)
    check(rc == 0 and out.count(b"all intact") == 4,
          "root.tar: verify checks the 3 steps and the SavedModel: exit %s %r" % (rc, out[-400:]))
    # ls names each by a SOURCE every command takes: the root's as ARCHIVE//.
    rc, out, err = ck("ls", path)
    heads = [l[:-1].decode() for l in out.split(b"\n") if l.endswith(b":") and b"//" in l]
    latest = "%s//./%s" % (path, folder["prefix"])
    check(rc == 0 and heads == [latest, path + "//sm/variables/variables"],
          "root.tar: ls heads: %s %s" % (heads, err[-200:]))
    for v in folder["steps"][folder["prefix"]]:
        rc, out, err = ck("cat", latest, v["name"])
        check(rc == 0 and hashlib.sha256(out).hexdigest() == v["sha256"],
              "root.tar: cat %s of ls's %s equals TF's: %s" % (v["name"], latest, err[-200:]))


def check_many(tmp):
    """Many places cost about what listing them does: 20,000 prefixes at a zip's root and
    20,000 each in a folder of its own (empty .index members: each fails to open, as its own
    error). Listing each folder per place, or comparing every place with every other, took
    minutes here; the bound is a timeout far above the seconds it takes."""
    path = os.path.join(tmp, "many.zip")
    # CI's sanitizer tier asks for fewer (scripts/test.sh): the cost is the plain build's to show.
    n = int(os.environ.get("CKPT_ARCHIVE_MANY", "20000"))
    with zipfile.ZipFile(path, "w") as z:
        for i in range(n):
            z.writestr("m%05d.index" % i, b"")
            z.writestr("d%05d/m.index" % i, b"")
    try:
        r = subprocess.run([tm.CKPTFS, "ls", path], capture_output=True, timeout=60,
                           stdin=subprocess.DEVNULL)
        err = r.stderr.decode("utf-8", "replace")
        check(r.returncode != 0 and err.count("corrupt table") == 2 * n,
              "many.zip: ls names each of the %d places that fail: exit %s, %d" % (
                  2 * n, r.returncode, err.count("corrupt table")))
        r = subprocess.run([tm.CKPTFS, "verify", path], capture_output=True, timeout=60,
                           stdin=subprocess.DEVNULL)
        check(r.returncode != 0 and (b"total: %d checkpoints" % (2 * n)) in r.stdout,
              "many.zip: verify names each of the %d places: exit %s %r" % (
                  2 * n, r.returncode, r.stdout[-200:]))
    except subprocess.TimeoutExpired:
        check(False, "many.zip: ls or verify of %d places did not finish in 60 s" % (2 * n))
    mnt = mount(path)
    if mnt:
        try:
            got = sorted(os.listdir(mnt))
            want = sorted(["m%05d" % i for i in range(n)] + ["d%05d%%2Fm" % i for i in range(n)] +
                          ["checkpoints.tsv"])
            check(got == want, "many.zip: the root holds one directory per place (%d of %d)" % (
                len(got), len(want)))
        finally:
            unmount(mnt, "many.zip")


def main():
    tm.require_fuse()
    tmp = tempfile.mkdtemp(prefix="ckpt-e2e-places-")
    try:
        check_zoo(tmp, ("deflated.zip", "stored.zip", "tar.gz"))
        check_root(tmp)
        check_many(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    sys.exit(tm.outcome())


if __name__ == "__main__":
    main()
