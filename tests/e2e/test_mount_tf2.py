#!/usr/bin/env python3
"""TF 2 checkpoints by the names people know (tests/fixtures/tf2_*, written by TF 2.21 with
scripts/make_fixtures_tf2.py; each manifest holds TF's get_tensor of every key and the full
names and slot links TF's own TrackableObjectGraph parser read).

For every fixture, through a real mount and the command:
- Python's glob('**', recursive=True) reaches every variable's bytes with no dot component on
  the way, each equal to TF's (sha256 of get_tensor);
- by_name/FULL_NAME (NAME~k for a shared one, in key order) is a link to the variable whose
  full_name TF recorded, its bytes equal TF's; cp -rL of by_name copies them;
- `ckptfs cat` by key, by visible path and by full_name gives TF's bytes; `ckptfs ls SRC PAT`
  matches full names ('*kernel*' finds every variable TF names *kernel*); a shared full_name
  is refused naming its by_name forms; a typo gets the closest names;
- the JSON of `ckptfs ls --json` and the files' user.ckpt.full_name / slot_of / slot xattrs
  carry TF's full_name and slot links; du -sb of a subtree is
  the bytes of its files (directories count 0).
And: a real tf.train.CheckpointManager loop started after mounting its empty directory shows
every checkpoint it keeps; a second mount on a ckptfs mountpoint is refused with exit 5.
"""
import fnmatch
import glob
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import test_mount as tm  # noqa: E402
import tf2names  # noqa: E402

FAILS = []


def check(cond, msg):
    if not cond:
        FAILS.append(msg)
        print("FAIL: " + msg)
    return cond


def cases():
    out = []
    for case in sorted(os.listdir(tm.FIXTURES)):
        if case.startswith("tf2_"):
            with open(os.path.join(tm.FIXTURES, case, "manifest.json"), encoding="utf-8") as f:
                out.append((case, json.load(f)))
    return out


def ckptfs(*args):
    return subprocess.run([tm.CKPTFS] + list(args), capture_output=True, timeout=60)


def sha(data):
    return hashlib.sha256(data).hexdigest()


def check_case(case, m):
    src = os.path.join(tm.FIXTURES, case, m["prefix"])
    byname = {v["name"]: v for v in m["variables"]}
    full = m["full_names"]
    numeric = {k: v for k, v in byname.items() if "nbytes" in v}
    keys = [k.encode() for k in byname]
    vis = tf2names.visible_paths(keys, True)
    check(len(full) > 0, "%s: TF recorded no full names" % case)
    with tm.Mount(src, what=case) as mnt:
        root = mnt.mnt
        # glob('**') sees every tensor, no dot component anywhere on the way.
        seen = {}
        for p in glob.glob("**", root_dir=root, recursive=True):
            full_p = os.path.join(root, p)
            if p.startswith(("by_name", "tf/")) or os.path.isdir(full_p) or \
                    p.endswith((".shape", ".dtype")) or p in ("variables.tsv", "object_graph.pbtxt", "model.safetensors"):
                continue
            check(not any(c.startswith(".") for c in p.split("/")), "%s: %s has a dot component" % (case, p))
            name = os.getxattr(full_p, "user.ckpt.name").decode()
            with open(full_p, "rb") as f:
                seen[name] = f.read()
        for k, v in numeric.items():
            check(k in seen, "%s: glob('**') did not reach %s" % (case, k))
            if k in seen:
                check(sha(seen[k]) == v["sha256"], "%s: bytes of %s differ from TF" % (case, k))
            # the visible path is the key without the ending
            comps = vis[k.encode()].split(b"/")
            p = b"/".join(tm.esc_component(c, i == 0, True) for i, c in enumerate(comps)).decode()
            fp = os.path.join(root, p)
            fp = fp + ".raw" if os.path.isdir(fp) else fp
            check(os.path.isfile(fp) and os.getxattr(fp, "user.ckpt.name") == k.encode(),
                  "%s: %s not at its visible path %s" % (case, k, p))
            if os.path.isfile(fp):
                xa = {x: os.getxattr(fp, x) for x in os.listxattr(fp)
                      if x in ("user.ckpt.full_name", "user.ckpt.slot_of", "user.ckpt.slot")}
                slot = {sl[0]: sl for sl in m["slots"]}.get(k)
                want = {}
                if k in full:
                    want["user.ckpt.full_name"] = full[k].encode()
                if slot:
                    want["user.ckpt.slot_of"], want["user.ckpt.slot"] = slot[1].encode(), slot[2].encode()
                check(xa == want, "%s: xattrs of %s: %r, TF says %r" % (case, p, xa, want))
        # by_name: unique full names bare, shared ones numbered in key order.
        links = tf2names.by_name_links({k.encode(): f.encode() for k, f in full.items()})
        shared = {f for f in full.values() if list(full.values()).count(f) > 1}
        for ln, key in links.items():
            lp = os.path.join(root, "by_name", ln.decode())
            if os.path.isdir(lp) and not os.path.islink(lp):  # a name that is also a directory
                lp += ".raw"
            if not check(os.path.islink(lp), "%s: by_name/%s is not a link" % (case, ln.decode())):
                continue
            v = byname[key.decode()]
            if "nbytes" in v:
                with open(lp, "rb") as f:
                    check(sha(f.read()) == v["sha256"], "%s: by_name/%s bytes differ from TF's %s" % (case, ln.decode(), key.decode()))
            check(os.getxattr(lp, "user.ckpt.name") == key, "%s: by_name/%s names %r" % (case, ln.decode(), os.getxattr(lp, "user.ckpt.name")))
        for f in shared:
            check(not os.path.lexists(os.path.join(root, "by_name", f)), "%s: shared name %s is bare in by_name" % (case, f))
        # cp -rL of by_name copies the model's weights by layer names.
        dst = tempfile.mkdtemp(prefix="ckptfs-tf2-")
        try:
            r = subprocess.run(["cp", "-rL", os.path.join(root, "by_name"), dst], capture_output=True)
            check(r.returncode == 0, "%s: cp -rL by_name: %s" % (case, r.stderr[:200]))
            for ln, key in links.items():
                v = byname[key.decode()]
                cp = os.path.join(dst, "by_name", ln.decode())
                cp = cp + ".raw" if os.path.isdir(cp) else cp
                if check(os.path.isfile(cp), "%s: cp -rL has no %s" % (case, cp)) and "nbytes" in v:
                    with open(cp, "rb") as f:
                        check(sha(f.read()) == v["sha256"], "%s: cp -rL copy of %s" % (case, ln.decode()))
        finally:
            shutil.rmtree(dst, ignore_errors=True)
        # du -sb: the files' bytes, directories 0 (links 0 too: -b counts their target's length).
        sub = os.path.join(root, vis[keys[-1]].decode().split("/")[0])
        if os.path.isdir(sub):
            total = 0
            for d, dirs, files in os.walk(sub):
                total += sum(os.lstat(os.path.join(d, x)).st_size for x in files + dirs
                             if not os.path.isdir(os.path.join(d, x)) or os.path.islink(os.path.join(d, x)))
            r = subprocess.run(["du", "-sb", sub], capture_output=True, text=True)
            check(int(r.stdout.split()[0]) == total, "%s: du -sb %s = %s, files hold %d" % (case, sub, r.stdout.split()[0], total))
    # The command: cat by key, visible path and full name.
    for k, v in numeric.items():
        want = v["sha256"]
        for how, name in (("key", k), ("path", vis[k.encode()].decode()), ("full_name", full.get(k))):
            if name is None or (how == "full_name" and name in shared):
                continue
            r = ckptfs("cat", src, name)
            check(r.returncode == 0 and sha(r.stdout) == want, "%s: cat by %s %s: exit %d %s" % (case, how, name, r.returncode, r.stderr[:200]))
    for f in shared:
        r = ckptfs("cat", src, f)
        check(r.returncode == 2 and b"~1" in r.stderr, "%s: cat of shared %s: exit %d %s" % (case, f, r.returncode, r.stderr))
    # ls PATTERN matches full names.
    for pat in ("*kernel*", "*bias*", "*moving_mean*", "*/Adam*"):
        want = sorted(k for k in byname if fnmatch.fnmatchcase(k, pat) or
                      fnmatch.fnmatchcase(vis[k.encode()].decode(), pat) or
                      (k in full and fnmatch.fnmatchcase(full[k], pat)))
        r = ckptfs("ls", src, pat)
        got = sorted(r.stdout.decode().splitlines())
        check(r.returncode == 0 and got == want, "%s: ls %s gave %s, want %s" % (case, pat, got, want))
    # --json: full_name and slot links as TF recorded them.
    r = ckptfs("ls", "--json", src)
    rows = {j["name"]: j for j in map(json.loads, r.stdout.decode().splitlines())}
    for k in byname:
        check(rows[k].get("full_name") == full.get(k), "%s: --json full_name of %s" % (case, k))
    slots = {s[0]: (s[1], s[2]) for s in m["slots"]}
    for k in byname:
        got = (rows[k].get("slot_of"), rows[k].get("slot"))
        check(got == slots.get(k, (None, None)), "%s: --json slot of %s = %s" % (case, k, got))
    # A typo: the closest names, and a non-zero exit.
    some = sorted(full.values())[0]
    r = ckptfs("cat", src, some[:-1] + ("x" if some[-1] != "x" else "y"))
    check(r.returncode == 2 and b"did you mean" in r.stderr, "%s: typo gave %d %s" % (case, r.returncode, r.stderr[:200]))


def check_stacking():
    src = os.path.join(tm.FIXTURES, "tf2_keras_adam", "ckpt")
    other = os.path.join(tm.FIXTURES, "sample", "model.ckpt")
    with tm.Mount(src, what="stack") as mnt:
        r = subprocess.run([tm.MOUNT, other, mnt.mnt], capture_output=True, timeout=60)
        check(r.returncode == 5 and os.path.realpath(src).encode() in r.stderr and b"already has a ckptfs mount" in r.stderr,
              "stacking: exit %d %s" % (r.returncode, r.stderr[:300]))
        check(os.path.exists(os.path.join(mnt.mnt, "by_name", "regressor", "encoder", "kernel")),
              "stacking: the first mount is no longer what the mountpoint shows")


LOOP = r'''
import os, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import tensorflow as tf
d = sys.argv[1]
v = tf.Variable(tf.zeros([4]), name="v")
step = tf.Variable(0, dtype=tf.int64)
ck = tf.train.Checkpoint(v=v, step=step)
mgr = tf.train.CheckpointManager(ck, d, max_to_keep=2)
for s in range(1, 5):
    v.assign_add(tf.ones([4]))
    step.assign(s)
    mgr.save(checkpoint_number=s)
print(" ".join(os.path.basename(p) for p in mgr.checkpoints))
'''


def check_live_manager():
    # Without TF: a SKIP-PART line (a failure in CI: tests/README.md "Skips").
    if tm.testlib().oracle("tensorflow", whole=False) is None:
        return
    run = tempfile.mkdtemp(prefix="ckptfs-run-")
    try:
        with tm.Mount(run, what="empty run") as mnt:
            check("waiting" in mnt.stderr, "empty run: no waiting line: %r" % mnt.stderr)
            check(sorted(os.listdir(mnt.mnt)) == ["checkpoints.tsv"], "empty run shows %s" % os.listdir(mnt.mnt))
            r = subprocess.run([sys.executable, "-c", LOOP, run], capture_output=True, text=True, timeout=300)
            if not check(r.returncode == 0, "CheckpointManager loop failed: %s" % r.stderr[-500:]):
                return
            kept = r.stdout.split()
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and sorted(x for x in os.listdir(mnt.mnt) if x.startswith("ckpt-")) != sorted(kept):
                time.sleep(0.05)
            shown = sorted(x for x in os.listdir(mnt.mnt) if x.startswith("ckpt-"))
            check(shown == sorted(kept), "live run: mount shows %s, TF keeps %s" % (shown, kept))
            check(os.readlink(os.path.join(mnt.mnt, "latest")) == kept[-1], "live run: latest is %s" % os.readlink(os.path.join(mnt.mnt, "latest")))
            import numpy as np
            import tensorflow as tf
            for k in kept:
                r2 = tf.train.load_checkpoint(os.path.join(run, k))
                for key, path in (("v/.ATTRIBUTES/VARIABLE_VALUE", "v"), ("step/.ATTRIBUTES/VARIABLE_VALUE", "step")):
                    with open(os.path.join(mnt.mnt, k, path), "rb") as f:
                        check(f.read() == np.ascontiguousarray(r2.get_tensor(key)).tobytes(), "live run: %s/%s differs from TF" % (k, path))
        # the state file as SOURCE means its folder
        r = ckptfs("ls", os.path.join(run, "checkpoint"))
        check(r.returncode == 0 and b"step/.ATTRIBUTES/VARIABLE_VALUE" in r.stdout, "ls run/checkpoint: %d %s" % (r.returncode, r.stderr[:200]))
    finally:
        shutil.rmtree(run, ignore_errors=True)


def main():
    tm.require_fuse()
    cs = cases()
    if not cs:
        print("FAIL: no tests/fixtures/tf2_* fixtures")
        sys.exit(1)
    for case, m in cs:
        check_case(case, m)
        print("checked %s (%d variables, %d full names)" % (case, len(m["variables"]), len(m["full_names"])))
    check_stacking()
    check_live_manager()
    n = len(FAILS)
    print("%d failure(s)" % n if n else "all TF 2 name checks passed")
    sys.exit(1 if n else 0)


if __name__ == "__main__":
    main()
