#!/usr/bin/env python3
"""What a mount lets whom do (docs/mount.md, "Who may read what").

Truth: the modes and owners of the source files (set here), the bytes tests/pylib/ckptwriter.py
wrote, the escape rules of docs/format.md re-implemented in test_mount.py, and the kernel's own
answers to another user (uid 65534, through setpriv).

- read-only in the daemon itself: with the kernel's `ro` lifted (`mount -i -o remount,rw`),
  every call that would change the mount still fails with EROFS (test_mount.py checks the same
  calls on the `ro` mount, and the mount options);
- modes never grant more than the source files: files of a checkpoint whose files are 0640 are
  0440 and its directories 0550; a shard more private than its index makes every file as
  private as the shard; never a write or execute bit on a file;
- `allow_other` is off unless asked (another user gets EACCES at the mountpoint); with it,
  `default_permissions` holds the other user to those modes: a 0644 checkpoint reads (bytes as
  written), a 0640 one or one with a 0640 shard does not;
- a checkpoint the mounting user cannot read (its .index, or one data shard, 0600 root's) is
  refused before anything is mounted: a message naming the file and "Permission denied", exit
  7, for `mount.ckptfs` and `ckptfs ls` alike. The same checkpoint readable passes those checks,
  mounts and reads as written (the mounts as that user are made in a private mount namespace
  whose /dev/fuse is 0666, as on a desktop, since containers often make it root's alone);
- names that would climb out of the mount ("../x", "a/../../b", "/abs/../y", ".", "..") or
  meet a generated file ("x.shape", "x.raw", "variables.tsv") are each at the path the escape
  rules give, with their own bytes, on the mount's own device.

The parts that act as another user need root (and setpriv); without it they are left out with
a note. Exit 0 pass, 1 fail, 77 skip (no usable FUSE).
"""
import hashlib
import os
import random
import shutil
import stat
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import test_mount as tm  # noqa: E402
import test_mount_robust as rb  # noqa: E402
import ckptwriter as cw  # noqa: E402

check = tm.check
NOBODY = 65534
EXIT_READ = 7


def write_checkpoint(d, names=(b"layer/kernel", b"layer/bias", b"step"), seed=3):
    """A two-shard checkpoint at d/model.ckpt (names spread over the shards); returns
    (prefix, {name: bytes})."""
    os.makedirs(d, exist_ok=True)
    rng = random.Random(seed)
    prefix = os.path.join(d, "model.ckpt")
    w = cw.V2Writer(prefix, num_shards=2)
    truth = {}
    for k, name in enumerate(names):
        truth[name] = rng.randbytes(4 * (16 + k))
        w.add(name, cw.DT_FLOAT, [16 + k], truth[name], shard=k % 2)
    w.close()
    return prefix, truth


def source_files(prefix):
    d = os.path.dirname(prefix)
    base = os.path.basename(prefix)
    return sorted(os.path.join(d, f) for f in os.listdir(d) if f.startswith(base + "."))


def set_modes(prefix, modes):
    """modes: {suffix or "*": mode}, applied to the checkpoint's files."""
    for f in source_files(prefix):
        suffix = f[len(prefix):]
        os.chmod(f, modes.get(suffix, modes.get("*", 0o644)))


def readable(d):
    """d, made if need be, that other users can reach (mkdtemp makes its directories 0700)."""
    os.makedirs(d, exist_ok=True)
    os.chmod(d, 0o755)
    return d


def as_nobody(args, **kw):
    return subprocess.run(["setpriv", "--reuid=%d" % NOBODY, "--regid=%d" % NOBODY, "--clear-groups"]
                          + list(args), capture_output=True, timeout=60, **kw)


# Run as the other user: read each path given, print "path errno-name-or-OK sha-or-dash".
PROBE = r"""
import errno, hashlib, os, sys
for p in sys.argv[1:]:
    try:
        with open(p, "rb") as f:
            print(p, "OK", hashlib.sha256(f.read()).hexdigest())
    except OSError as e:
        print(p, errno.errorcode[e.errno], "-")
"""


def probe_as_nobody(paths):
    r = as_nobody([sys.executable, "-c", PROBE] + list(paths))
    out = {}
    for line in r.stdout.decode().splitlines():
        p, what, digest = line.rsplit(" ", 2)
        out[p] = (what, digest)
    return out


def sha(b):
    return hashlib.sha256(b).hexdigest()


# --- read-only in the daemon ----------------------------------------------------------------------

def case_read_only_daemon(tmp):
    prefix, _ = write_checkpoint(os.path.join(tmp, "rw"))
    with tm.Mount(prefix, what="remount rw") as m:
        r = subprocess.run(["mount", "-i", "-o", "remount,rw", m.mnt], capture_output=True)
        if r.returncode:
            tm.testlib().skip_part("cannot remount rw (%s): the daemon's own EROFS is not "
                                   "reached" % r.stderr.decode(errors="replace").strip())
            return
        opts = [l.split()[3] for l in open("/proc/mounts") if l.split()[1] == m.mnt][0].split(",")
        check("rw" in opts, "remount rw: /proc/mounts still says %s" % opts)
        tm.check_read_only("remounted rw", m.mnt, os.path.join(m.mnt, "layer", "kernel"),
                           os.path.join(m.mnt, "layer"))


# --- modes ----------------------------------------------------------------------------------------

def tree_modes(mnt):
    """{relative path: (is_dir, permission bits)} of everything on the mount."""
    out = {}
    for dirpath, dirs, files in os.walk(mnt):
        for n in dirs + files:
            p = os.path.join(dirpath, n)
            st = os.lstat(p)
            out[os.path.relpath(p, mnt)] = (stat.S_ISDIR(st.st_mode), stat.S_IMODE(st.st_mode))
    return out


def expected_modes(prefix):
    """docs/mount.md: files get the read bits the .index and every shard all grant; directories
    the .index's read bits plus the search bit of the same classes."""
    index = stat.S_IMODE(os.stat(prefix + ".index").st_mode) & 0o444
    files = index
    for f in source_files(prefix):
        files &= os.stat(f).st_mode
    return files & 0o444, index | (index >> 2)


def case_modes(tmp):
    for what, modes in (("all 0640", {"*": 0o640}),
                        ("shard 1 0640 under a 0644 index", {"*": 0o644, ".data-00001-of-00002": 0o640}),
                        ("index 0640, shards 0644", {"*": 0o644, ".index": 0o640}),
                        ("shard 0 0600", {"*": 0o644, ".data-00000-of-00002": 0o600})):
        prefix, _ = write_checkpoint(os.path.join(tmp, "modes-" + what.replace(" ", "_")))
        set_modes(prefix, modes)
        fmode, dmode = expected_modes(prefix)
        src_union = 0
        for f in source_files(prefix):
            src_union |= stat.S_IMODE(os.stat(f).st_mode)
        with tm.Mount(prefix, what=what) as m:
            got = tree_modes(m.mnt)
            got["."] = (True, stat.S_IMODE(os.stat(m.mnt).st_mode))
            check(len(got) > 5, "%s: only %d entries" % (what, len(got)))
            for p, (is_dir, mode) in sorted(got.items()):
                want = dmode if is_dir else fmode
                check(mode == want, "%s: %s is %o, want %o" % (what, p, mode, want))
                if not is_dir:
                    check(mode & ~src_union & 0o777 == 0 and mode & 0o333 == 0,
                          "%s: %s (%o) grants what no source file (%o) does" % (what, p, mode, src_union))


# --- allow_other and default_permissions -----------------------------------------------------------

def case_other_user(tmp):
    base = readable(os.path.join(tmp, "other"))
    cases = [("0644", {"*": 0o644}, True), ("0640", {"*": 0o640}, False),
             ("shard 0640", {"*": 0o644, ".data-00000-of-00002": 0o640}, False)]
    for what, modes, may_read in cases:
        d = readable(os.path.join(base, what.replace(" ", "_")))
        prefix, truth = write_checkpoint(d)
        set_modes(prefix, modes)
        want = {os.path.join("layer", "kernel"): truth[b"layer/kernel"], "step": truth[b"step"]}
        with tm.Mount(prefix, what=what) as m:
            r = as_nobody(["stat", m.mnt])
            check(r.returncode != 0 and b"Permission denied" in r.stderr,
                  "%s: without allow_other another user got at the mount: %r" % (what, r.stdout[-200:]))
        with tm.Mount(prefix, ["-o", "allow_other"], what=what + " allow_other") as m:
            got = probe_as_nobody([os.path.join(m.mnt, p) for p in sorted(want)])
            for p, data in sorted(want.items()):
                res = got.get(os.path.join(m.mnt, p))
                if may_read:
                    check(res == ("OK", sha(data)), "%s allow_other: %s read by another user: %r" % (what, p, res))
                else:
                    check(res is not None and res[0] == "EACCES",
                          "%s allow_other: %s gave another user %r, want EACCES" % (what, p, res))


# --- a checkpoint the mounting user cannot read -----------------------------------------------------

def user_fuse_namespace(scratch):
    """A private mount namespace (ckpt_testlib.MountNamespace) where another user may mount
    FUSE as on a desktop: a /dev/fuse node of mode 0666 (c 10 229, made on a tmpfs of the
    namespace's own) bound over the host's, which containers often make 0600. fusermount3, set
    uid root, mounts for the user there. Returns (namespace, None), or (None, why not)."""
    T = tm.testlib()
    why = T.MountNamespace.usable()
    if why:
        return None, why
    fm = shutil.which("fusermount3")
    if not fm:
        return None, "no fusermount3"
    st = os.stat(fm)
    if st.st_uid != 0 or not st.st_mode & stat.S_ISUID:
        return None, "%s is not set-uid root" % fm
    ns = T.MountNamespace()
    try:
        ns.must(["mount", "-t", "tmpfs", "-o", "mode=755", "ckpt-test-fuse", scratch], "a tmpfs")
        node = os.path.join(scratch, "fuse")
        ns.must(["mknod", "-m", "0666", node, "c", "10", "229"], "a /dev/fuse node")
        ns.bind_file(node, "/dev/fuse")
    except Exception:
        ns.close()
        raise
    return ns, None


def case_unreadable(tmp):
    base = readable(os.path.join(tmp, "unreadable"))
    ckptfs = tm.CKPTFS or os.path.join(os.path.dirname(tm.MOUNT), "ckptfs")
    probe = as_nobody([ckptfs, "--help"])
    if probe.returncode != 0:
        tm.testlib().skip_part("uid %d cannot run %s (%r): unreadable checkpoints not checked"
                               % (NOBODY, ckptfs, probe.stderr[-200:]))
        return
    mnt = os.path.join(base, "mnt")
    os.mkdir(mnt)
    os.chown(mnt, NOBODY, NOBODY)
    scratch = os.path.join(base, "dev")
    os.mkdir(scratch)
    # The mounts as uid 65534 are made where that user may mount FUSE at all, so that a refusal
    # is ckptfs's, not the kernel's: a private namespace with a 0666 /dev/fuse.
    ns, why = user_fuse_namespace(scratch)
    if ns is None:
        tm.testlib().skip_part("uid %d cannot mount FUSE here: %s" % (NOBODY, why))
    try:
        for what, private in (("index", ".index"), ("shard", ".data-00001-of-00002"), ("nothing", None)):
            d = readable(os.path.join(base, what))
            prefix, truth = write_checkpoint(d)
            set_modes(prefix, {"*": 0o644, private: 0o600} if private else {"*": 0o644})
            for cmd in ([tm.MOUNT, prefix, mnt], [ckptfs, "ls", prefix]):
                mounting = cmd[0] == tm.MOUNT
                if mounting and ns is None:
                    continue
                r = ns.run(cmd, uid=NOBODY) if mounting else as_nobody(cmd)
                err = r.stderr.decode(errors="replace")
                who = "%s private: %s" % (what, " ".join(os.path.basename(c) for c in cmd[:2]))
                if private:
                    check(r.returncode == EXIT_READ and prefix + private in err and "Permission denied" in err,
                          "%s: exit %d %r, want %d naming %s" % (who, r.returncode, err, EXIT_READ, private))
                    check(not (ns.is_mounted(mnt) if mounting else tm.is_mounted(mnt)),
                          "%s: mounted all the same" % who)
                elif mounting:
                    # Past every check of the source: the user's own mount, read by the user.
                    check(r.returncode == 0 and ns.is_mounted(mnt), "%s: exit %d %r"
                          % (who, r.returncode, err))
                    if r.returncode == 0:
                        got = ns.run([sys.executable, "-c", PROBE, os.path.join(mnt, "step")],
                                     uid=NOBODY).stdout.decode().split()
                        check(got[1:] == ["OK", sha(truth[b"step"])],
                              "%s: the user's own mount does not read step's bytes: %r" % (who, got))
                        u = ns.run(["fusermount3", "-u", mnt], uid=NOBODY)
                        check(u.returncode == 0 and not ns.is_mounted(mnt),
                              "%s: the user's fusermount3 -u: %r" % (who, u.stderr))
                        tm.wait_no_daemon(mnt, who)
                else:
                    check(r.returncode == 0, "%s: exit %d %r" % (who, r.returncode, err))
    finally:
        if ns is not None:
            ns.close()
    tm.unmount(mnt)


# --- names ----------------------------------------------------------------------------------------

CLIMBING = [b"../x", b"a/../../b", b"../../../../etc/passwd", b"/abs/../y", b".", b"..", b"a/.",
            b"x", b"x.shape", b"x.raw", b"x/..", b"variables.tsv", b"variables.tsv.shape", b"%..",
            b"a/b/../c"]


def case_names(tmp):
    prefix, truth = write_checkpoint(os.path.join(tmp, "names"), names=sorted(CLIMBING))
    variables = [{"name": n.decode(), "dtype": "float32", "shape": [len(truth[n]) // 4]}
                 for n in sorted(truth)]
    view = tm.expected_view(variables, tm.generated_names(prefix, variables))
    with tm.Mount(prefix, what="climbing names") as m:
        dev = os.stat(m.mnt).st_dev
        got = tm.walk(m.mnt)
        check(set(got) == set(view), "names: tree differs: missing %r extra %r" %
              (sorted(set(view) - set(got))[:5], sorted(set(got) - set(view))[:5]))
        for p, e in sorted(view.items()):
            full = m.path(p)
            check(os.lstat(full).st_dev == dev, "names: %r is not on the mount" % p)
            if e[0] == "data":
                with open(full, "rb") as f:
                    data = f.read()
                n = e[1]["name"].encode()
                check(data == truth[n], "names: %r (variable %r) does not hold its bytes" % (p, n))
                check(os.getxattr(full, "user.ckpt.name") == n, "names: %r xattr name" % p)
            elif e[0] == "shape":
                with open(full, "rb") as f:
                    check(f.read() == b"[%d]\n" % e[1]["shape"][0], "names: %r wrong" % p)
        for dirpath, dirs, files in os.walk(m.mnt):
            for n in dirs + files:
                check(n not in (".", "..") and "/" not in n, "names: %r listed in %r" % (n, dirpath))


def main():
    tm.require_fuse()
    root = os.geteuid() == 0 and shutil.which("setpriv")
    if not root:
        tm.testlib().skip_part("not root or no setpriv: the other-user and remount parts are "
                               "left out")
    with tempfile.TemporaryDirectory(prefix="ckptfs-sec-") as tmp:
        readable(tmp)
        cases = [("modes", case_modes), ("names", case_names)]
        if root:
            cases += [("read-only daemon", case_read_only_daemon), ("other user", case_other_user),
                      ("unreadable checkpoint", case_unreadable)]
        for name, fn in cases:
            rb.run_case(name, lambda: fn(tmp))
    return tm.outcome()


if __name__ == "__main__":
    sys.exit(main())
