#!/usr/bin/env python3
"""Training folders on real FUSE mounts (docs/mount.md, "Training folders").

Truth: tests/fixtures/folder/manifest.json (TF's reading of each step's checkpoint), the folder's
own files and `checkpoint` state file (parsed here), strace's record of what the daemon opened,
and for ../shared/realckpt/estimator_dnn_iris_train_2017 the output of `ckptfs cat` per prefix.

- the root holds one directory per checkpoint, checkpoints.tsv and `latest` -> the state
  file's checkpoint;
- mounting, listing the root and stat'ing its entries open no .index (strace) and open no
  checkpoint (user.ckpt.opened); a checkpoint with a garbage index still mounts, only its own
  directory fails (EIO);
- each checkpoint's directory is that checkpoint's normal view (bytes = TF's);
- inode numbers are stable across mounts and when other checkpoints come and go;
- a 50-checkpoint folder mounts without reading any index; the mount time is printed;
- a state file with another machine's absolute paths still gives `latest`.

Exit 0 pass, 1 fail, 77 skip.
"""
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_mount as tm  # noqa: E402

check = tm.check
FOLDER = os.path.join(tm.FIXTURES, "folder")


def state_latest(d):
    """model_checkpoint_path of d/checkpoint, as a base name (None without one)."""
    p = os.path.join(d, "checkpoint")
    if not os.path.exists(p):
        return None
    for line in open(p):
        m = re.match(r'\s*model_checkpoint_path:\s*"(.*)"\s*$', line)
        if m:
            return os.path.basename(m.group(1))
    return None


def prefixes(d):
    return sorted(f[:-len(".index")] for f in os.listdir(d) if f.endswith(".index"))


def copy_folder(src, dst):
    os.makedirs(dst)
    for f in os.listdir(src):
        if f != "manifest.json":
            shutil.copy(os.path.join(src, f), dst)


def check_root(m, d, what):
    names = set(os.listdir(m.mnt))
    want = set(prefixes(d)) | {"checkpoints.tsv"}
    latest = state_latest(d)
    if latest:
        want.add("latest")
    check(names == want, "%s: root lists %s, want %s" % (what, sorted(names), sorted(want)))
    if latest:
        check(os.readlink(os.path.join(m.mnt, "latest")) == latest,
              "%s: latest -> %r, want %r" % (what, os.readlink(os.path.join(m.mnt, "latest")), latest))


def opened(m):
    return int(os.getxattr(m.mnt, "user.ckpt.opened"))


def check_fixture_folder():
    manifest = json.load(open(os.path.join(FOLDER, "manifest.json")))
    with tm.Mount(FOLDER, what="folder") as m:
        check_root(m, FOLDER, "folder")
        subprocess.run(["ls", "-l", m.mnt], capture_output=True, check=True)
        for p in prefixes(FOLDER):
            os.stat(os.path.join(m.mnt, p))
        check(opened(m) == 0, "folder: ls -l / stat of the root opened %d checkpoints" % opened(m))
        inos = {}
        for step, variables in sorted(manifest["steps"].items()):
            view = tm.expected_view(variables, tm.generated_names(os.path.join(FOLDER, step), variables))
            base = os.path.join(os.fsencode(m.mnt), step.encode())
            got = tm.walk(base)
            exp = {p: ("dir" if e[0] == "dir" else "file") for p, e in view.items()}
            check(got == exp, "folder %s: tree differs: %r" % (step, sorted(set(got) ^ set(exp))[:5]))
            for p, e in view.items():
                full = os.path.join(base, p)
                if e[0] == "data" and e[1]["dtype"] != "string":
                    with open(full, "rb") as f:
                        check(hashlib.sha256(f.read()).hexdigest() == e[1]["sha256"],
                              "folder %s: %r differs from TF" % (step, p))
                elif e[0] == "shape":
                    check(open(full, "rb").read() == (tm.shape_text(e[1]["shape"]) + "\n").encode(),
                          "folder %s: %r" % (step, p))
                inos[os.path.join(step.encode(), p)] = os.stat(full).st_ino
        check(opened(m) == len(manifest["steps"]), "folder: %d opened after reading all" % opened(m))
        # latest/ is the same directory as its target.
        latest = state_latest(FOLDER)
        check(os.stat(os.path.join(m.mnt, "latest")).st_ino == os.stat(os.path.join(m.mnt, latest)).st_ino,
              "folder: latest/ is not its target")
        check(len(set(inos.values())) == len(inos), "folder: duplicate inode numbers")
    with tm.Mount(FOLDER, what="folder again") as m:
        again = {p: os.stat(os.path.join(os.fsencode(m.mnt), p)).st_ino for p in inos}
        check(again == inos, "folder: inode numbers changed between mounts")
    return inos


def check_stable_when_folder_changes(tmp, inos):
    """Remove the first checkpoint: the others keep their inode numbers."""
    d = os.path.join(tmp, "changed")
    copy_folder(FOLDER, d)
    first = prefixes(FOLDER)[0]
    for f in os.listdir(d):
        if f.startswith(first + "."):
            os.unlink(os.path.join(d, f))
    with tm.Mount(d, what="changed folder") as m:
        for p, ino in inos.items():
            if p.startswith(first.encode() + b"/"):
                continue
            check(os.stat(os.path.join(os.fsencode(m.mnt), p)).st_ino == ino,
                  "changed folder: inode of %r moved" % p)


def strace_mount(d, what, actions):
    """Mount d under strace -f; run actions(mnt); return (paths opened, seconds to mount)."""
    log = tempfile.mktemp(prefix="ckptfs-strace-")
    mnt = tempfile.mkdtemp(prefix="ckptfs-mnt-")
    t0 = time.time()
    proc = subprocess.Popen(["strace", "-f", "-qq", "-e", "trace=open,openat,openat2", "-o", log,
                             tm.MOUNT, d, mnt], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 60
    while not tm.is_mounted(mnt) and time.time() < deadline and proc.poll() is None:
        time.sleep(0.01)
    mounted_at = time.time() - t0
    try:
        actions(mnt)
    finally:
        tm.unmount(mnt)
        try:
            proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        os.rmdir(mnt)
    opened_paths = []
    with open(log) as f:
        for line in f:
            m = re.search(r'open(?:at2?)?\((?:AT_FDCWD, |\d+, )?"([^"]*)"', line)
            if m and "ENOENT" not in line:
                opened_paths.append(m.group(1))
    os.unlink(log)
    return opened_paths, mounted_at


def check_no_index_read(tmp):
    """50 checkpoints (hard links of the fixture's), one with a garbage index."""
    d = os.path.join(tmp, "fifty")
    os.makedirs(d)
    src = prefixes(FOLDER)[-1]
    srcfiles = [f for f in os.listdir(FOLDER) if f.startswith(src + ".")]
    for k in range(50):
        name = "model.ckpt-%d" % (1000 * (k + 1))
        for f in srcfiles:
            os.link(os.path.join(FOLDER, f), os.path.join(d, name + f[len(src):]))
    bad = "model.ckpt-7000"
    os.unlink(os.path.join(d, bad + ".index"))
    with open(os.path.join(d, bad + ".index"), "wb") as f:
        f.write(b"\x00garbage" * 40)
    with open(os.path.join(d, "checkpoint"), "w") as f:
        f.write('model_checkpoint_path: "model.ckpt-50000"\n')
        for k in range(50):
            f.write('all_model_checkpoint_paths: "model.ckpt-%d"\n' % (1000 * (k + 1)))

    result = {}

    def actions(mnt):
        subprocess.run(["ls", "-l", mnt], capture_output=True, check=True)
        subprocess.run(["find", mnt, "-maxdepth", "1"], capture_output=True, check=True)
        result["opened_after_ls"] = int(os.getxattr(mnt, "user.ckpt.opened"))
        result["latest"] = os.readlink(os.path.join(mnt, "latest"))
        try:
            os.listdir(os.path.join(mnt, bad))
            result["bad"] = "listed"
        except OSError as ex:
            result["bad"] = ex.errno
        result["good"] = sorted(os.listdir(os.path.join(mnt, "model.ckpt-3000")))

    if shutil.which("strace"):
        paths, secs = strace_mount(d, "fifty", actions)
        index_opens = [p for p in paths if p.endswith(".index")]
        # Only the two checkpoints used above may have had their index opened.
        check(sorted(os.path.basename(p) for p in index_opens) ==
              sorted([bad + ".index", "model.ckpt-3000.index"]),
              "fifty: indexes opened: %r" % index_opens)
        print("fifty: mounted under strace in %.3f s; index files opened: %s" % (
            secs, sorted(os.path.basename(p) for p in index_opens)))
    else:
        print("note: no strace; relying on user.ckpt.opened and the garbage index")
        with tm.Mount(d, what="fifty") as m:
            actions(m.mnt)
    check(result.get("opened_after_ls") == 0, "fifty: listing the root opened %r checkpoints" %
          result.get("opened_after_ls"))
    check(result.get("latest") == "model.ckpt-50000", "fifty: latest -> %r" % result.get("latest"))
    check(result.get("bad") == 5, "fifty: the garbage index gave %r, want EIO" % result.get("bad"))
    check("variables.tsv" in result.get("good", []), "fifty: a good checkpoint did not list")
    # Mount time without strace.
    times = []
    for _ in range(3):
        mnt = tempfile.mkdtemp(prefix="ckptfs-mnt-")
        t0 = time.time()
        r = subprocess.run([tm.MOUNT, d, mnt], capture_output=True)
        times.append(time.time() - t0)
        tm.unmount(mnt)
        tm.wait_no_daemon(mnt, "fifty")
        os.rmdir(mnt)
        check(r.returncode == 0, "fifty: mount failed: %r" % r.stderr)
    print("fifty: mount.ckptfs returned in %.1f ms (best of 3)" % (1000 * min(times)))


def check_foreign_state_file(tmp):
    d = os.path.join(tmp, "foreign")
    copy_folder(FOLDER, d)
    mid = prefixes(FOLDER)[1]
    with open(os.path.join(d, "checkpoint"), "w") as f:
        f.write('model_checkpoint_path: "/home/someone/train/%s"\n' % mid)
        for p in prefixes(FOLDER):
            f.write('all_model_checkpoint_paths: "/home/someone/train/%s"\n' % p)
    with tm.Mount(d, what="foreign") as m:
        check(os.readlink(os.path.join(m.mnt, "latest")) == mid,
              "foreign state file: latest -> %r, want %r" % (os.readlink(os.path.join(m.mnt, "latest")), mid))
        check(set(os.listdir(m.mnt)) == set(prefixes(FOLDER)) | {"latest", "checkpoints.tsv"},
              "foreign state file: root")


def check_v1_sharded():
    """A folder whose state file names a sharded V1 save (model.ckpt-?????-of-00002): the
    checkpoint appears under its prefix's name, its bytes equal TF's (manifest.json)."""
    d = os.path.join(tm.FIXTURES, "v1_sharded")
    if not os.path.isfile(os.path.join(d, "manifest.json")):
        print("note: no v1_sharded fixture")
        return
    manifest = json.load(open(os.path.join(d, "manifest.json")))
    variables = manifest["variables"]
    src = os.path.join(d, manifest["prefix"])
    name = re.sub(r"-\d{5}-of-\d{5}$", "", manifest["prefix"])
    with tm.Mount(d, what="v1_sharded folder") as m:
        want = {name, "checkpoints.tsv"} | ({"latest"} if os.path.exists(os.path.join(d, "checkpoint")) else set())
        check(set(os.listdir(m.mnt)) == want, "v1_sharded folder: root %r, want %r" % (os.listdir(m.mnt), want))
        view = tm.expected_view(variables, tm.generated_names(src, variables))
        base = os.path.join(os.fsencode(m.mnt), name.encode())
        got = tm.walk(base)
        exp = {p: ("dir" if e[0] == "dir" else "file") for p, e in view.items()}
        check(got == exp, "v1_sharded folder: tree differs: %r" % sorted(set(got) ^ set(exp))[:5])
        n = 0
        for p, e in view.items():
            if e[0] == "data" and e[1]["dtype"] != "string":
                with open(os.path.join(base, p), "rb") as f:
                    check(hashlib.sha256(f.read()).hexdigest() == e[1]["sha256"],
                          "v1_sharded folder: %r differs from TF" % p)
                n += 1
            elif e[0] == "data":
                with open(os.path.join(base, p), "rb") as f:
                    check(f.read() == tm.string_text(e[1]), "v1_sharded folder: %r text differs" % p)
                n += 1
        check(n == len(variables), "v1_sharded folder: read %d of %d variables" % (n, len(variables)))
        if "latest" in want:
            check(os.readlink(os.path.join(m.mnt, "latest")) == name, "v1_sharded folder: latest -> %r" %
                  os.readlink(os.path.join(m.mnt, "latest")))
    print("v1_sharded folder: checked %d variables" % len(variables))


def check_real():
    d = os.path.join(tm.REALCKPT, "estimator_dnn_iris_train_2017")
    if not tm.REALCKPT or not os.path.isdir(d):
        print("note: no %s" % d)
        return
    with tm.Mount(d, what="real folder") as m:
        check_root(m, d, "real folder")
        check(opened(m) == 0, "real folder: opened %d at mount" % opened(m))
        for p in prefixes(d):
            ls = subprocess.run([tm.CKPTFS, "ls", "-l", os.path.join(d, p)], capture_output=True)
            with open(os.path.join(m.mnt, p, "variables.tsv"), "rb") as f:
                check(f.read() == ls.stdout, "real folder %s: variables.tsv differs from ckptfs ls" % p)
            for line in ls.stdout.split(b"\n")[1:3]:
                if not line:
                    continue
                name = line.split(b"\t")[0]
                cat = subprocess.run([tm.CKPTFS, "cat", os.path.join(d, p), name], capture_output=True)
                path = os.path.join(os.fsencode(m.mnt), p.encode(), name)
                if not os.path.isfile(path):
                    path += b".raw"
                with open(path, "rb") as f:
                    check(f.read() == cat.stdout, "real folder %s: %r differs from ckptfs cat" % (p, name))
    print("real folder: checked")


def main():
    tm.require_fuse()
    if not os.path.exists(os.path.join(FOLDER, "manifest.json")):
        print("SKIP: no folder fixture at %s" % FOLDER)
        return 77
    steps = []
    try:
        inos = check_fixture_folder()
        steps.append("fixture")
        with tempfile.TemporaryDirectory(prefix="ckptfs-folder-") as tmp:
            check_stable_when_folder_changes(tmp, inos)
            check_no_index_read(tmp)
            check_foreign_state_file(tmp)
        check_v1_sharded()
        check_real()
    except Exception as ex:
        check(False, "%s: %s" % (type(ex).__name__, ex))
        raise
    if tm.failures:
        print("%d failure(s)" % len(tm.failures))
        return 1
    print("all folder mount checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
