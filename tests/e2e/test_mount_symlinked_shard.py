#!/usr/bin/env python3
"""A planted symlink must not hand another user root's file (issue 23, finding 1).

uid 65534 can write into a training folder that root mounts with `-o allow_other`. It plants
its own `.index` (written here with tests/pylib/ckptwriter.py: one 4 MiB uint8 tensor) and,
as the data shard, a symlink to a root-only file (0600 in a 0700 directory). The rule
(docs/mount.md, "Who may read what"): a file's owner and mode come from the file the daemon
reads its bytes from, as opened, never more than the .index grants. So as uid 65534 (setpriv)
every read of the variable fails with EACCES, in every read mode (`verify=off`, `read=splice`
included), in a folder mount and in a mount of the prefix; root still reads the secret's bytes
through the link (links are followed on purpose); and a link to a file 65534 may read keeps
working for 65534.

Truth: the secret's bytes written here, the kernel's answers to another user, os.stat.
Exit 0 pass, 1 fail, 77 skip (no FUSE, not root, no setpriv).
"""
import os
import shutil
import stat
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import test_mount as tm  # noqa: E402
import test_mount_robust as rb  # noqa: E402
import test_mount_security as sec  # noqa: E402
import ckptwriter as cw  # noqa: E402

check = tm.check
NOBODY = sec.NOBODY
SIZE = 4 << 20
DT_UINT8 = 4

# As the other user: pread 80 bytes at 2 MiB of each path, print "path OK hex" or "path ERRNO -".
PREAD = r"""
import errno, os, sys
for p in sys.argv[1:]:
    try:
        fd = os.open(p, os.O_RDONLY)
        try:
            print(p, "OK", os.pread(fd, 80, 2 << 20).hex())
        finally:
            os.close(fd)
    except OSError as e:
        print(p, errno.errorcode[e.errno], "-")
"""


def pread_as_nobody(paths):
    r = sec.as_nobody([sys.executable, "-c", PREAD] + list(paths))
    out = {}
    for line in r.stdout.decode().splitlines():
        p, what, data = line.rsplit(" ", 2)
        out[p] = (what, data)
    return out


def plant(run, step, target):
    """The other user's checkpoint model.ckpt-STEP in run: its own index, the shard a link."""
    prefix = os.path.join(run, "model.ckpt-%d" % step)
    w = cw.V2Writer(prefix)
    w.add(b"v", DT_UINT8, [SIZE], bytes(SIZE))  # the attacker does not know the bytes
    w.close()
    shard = prefix + ".data-00000-of-00001"
    os.unlink(shard)
    os.symlink(target, shard)
    for p in (prefix + ".index",):
        os.chown(p, NOBODY, NOBODY)
        os.chmod(p, 0o644)
    os.lchown(shard, NOBODY, NOBODY)
    return prefix


def main():
    tm.require_fuse()
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        print("SKIP: needs root and setpriv (util-linux) to act as uid %d" % NOBODY)
        return 77
    with tempfile.TemporaryDirectory(prefix="ckptfs-symlink-") as tmp:
        sec.readable(tmp)
        private = os.path.join(tmp, "root-only")
        os.mkdir(private, 0o700)
        secret = os.urandom(SIZE)
        spath = os.path.join(private, "secret")
        with open(spath, "wb") as f:
            f.write(secret)
        os.chmod(spath, 0o600)
        pub = sec.readable(os.path.join(tmp, "pub"))
        public = os.urandom(SIZE)
        ppath = os.path.join(pub, "data")
        with open(ppath, "wb") as f:
            f.write(public)
        os.chown(ppath, NOBODY, NOBODY)
        os.chmod(ppath, 0o644)

        run = sec.readable(os.path.join(tmp, "run"))
        os.chown(run, NOBODY, NOBODY)
        os.chmod(run, 0o777)
        evil = plant(run, 41, spath)
        plant(run, 42, ppath)
        with open(os.path.join(run, "checkpoint"), "w") as f:
            f.write('model_checkpoint_path: "model.ckpt-42"\n'
                    'all_model_checkpoint_paths: "model.ckpt-41"\n'
                    'all_model_checkpoint_paths: "model.ckpt-42"\n')

        for opts in ([], ["verify=off"], ["read=splice"], ["verify=off", "read=splice"]):
            o = ["-o", ",".join(["allow_other"] + opts)]
            what = "folder, -o %s" % o[1]

            def folder_case():
                with tm.Mount(run, o, what=what) as m:
                    bad = os.path.join(m.mnt, "model.ckpt-41", "v")
                    ok = os.path.join(m.mnt, "model.ckpt-42", "v")
                    got = pread_as_nobody([bad, ok])
                    check(got.get(bad, ("?",))[0] == "EACCES",
                          "%s: uid %d's pread of the link to a root-only file: %r, want EACCES"
                          % (what, NOBODY, got.get(bad, ("?", ""))[0]))
                    check(got.get(ok) == ("OK", public[2 << 20:(2 << 20) + 80].hex()),
                          "%s: uid %d reads the link to its own 0644 file: %r"
                          % (what, NOBODY, got.get(ok, ("?",))[0]))
                    st = os.stat(bad)
                    check(st.st_uid == 0 and stat.S_IMODE(st.st_mode) == 0o400,
                          "%s: the planted variable is owned by the secret's owner, mode 0400: "
                          "uid %d mode %o" % (what, st.st_uid, stat.S_IMODE(st.st_mode)))
                    if "verify=off" in opts:
                        fd = os.open(bad, os.O_RDONLY)
                        try:
                            data = os.pread(fd, 80, 2 << 20)
                        finally:
                            os.close(fd)
                        check(data == secret[2 << 20:(2 << 20) + 80],
                              "%s: root still reads through the link (links are followed)" % what)

            rb.run_case(what, folder_case)

        what = "prefix model.ckpt-41, -o allow_other,verify=off"

        def prefix_case():
            with tm.Mount(evil, ["-o", "allow_other,verify=off"], what=what) as m:
                p = os.path.join(m.mnt, "v")
                got = pread_as_nobody([p])
                check(got.get(p, ("?",))[0] == "EACCES",
                      "%s: uid %d's pread: %r, want EACCES" % (what, NOBODY, got.get(p, ("?",))[0]))

        rb.run_case(what, prefix_case)
    return tm.outcome()


if __name__ == "__main__":
    sys.exit(main())
