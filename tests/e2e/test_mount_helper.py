#!/usr/bin/env python3
"""mount(8) integration: `mount -t fuse.ckptfs SRC MNT` and an fstab line (docs/mount.md).

mount(8) runs /sbin/mount.fuse.ckptfs (here /usr/sbin, which /sbin usually links to); the test
installs it as a symlink to the built daemon, mount.ckptfs, for its duration and removes it in a finally
block (only if it created it). Truth: the fixture's manifest.json (TF's bytes), /proc/mounts.

Exit 0 pass, 1 fail, 77 skip (not root, no mount(8), a foreign helper already installed).
"""
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_mount as tm  # noqa: E402

check = tm.check
HELPER = "/usr/sbin/mount.fuse.ckptfs"


def mounts_line(mnt):
    with open("/proc/mounts") as f:
        for line in f:
            p = line.split()
            if p[1] == mnt:
                return p
    return None


def check_mounted(mnt, source, manifest, what, npy=False):
    line = mounts_line(mnt)
    if not check(line is not None, "%s: not in /proc/mounts" % what):
        return
    check(line[2] == "fuse.ckptfs", "%s: type %s" % (what, line[2]))
    check(line[0] == os.path.realpath(source), "%s: source %s" % (what, line[0]))
    check("ro" in line[3].split(","), "%s: not read-only: %s" % (what, line[3]))
    view = tm.expected_view(manifest["variables"], tm.generated_names(source, manifest["variables"]), npy=npy)
    n = 0
    for p, e in view.items():
        if e[0] == "data" and e[1]["dtype"] != "string":
            with open(os.path.join(os.fsencode(mnt), p), "rb") as f:
                check(hashlib.sha256(f.read()).hexdigest() == e[1]["sha256"], "%s: %r differs" % (what, p))
            n += 1
        if e[0] == "npy":
            check(os.path.exists(os.path.join(os.fsencode(mnt), p)), "%s: no %r" % (what, p))
    check(n > 0, "%s: nothing read" % what)


def main():
    tm.require_fuse()
    if os.geteuid() != 0 or not shutil.which("mount") or not os.access(os.path.dirname(HELPER), os.W_OK):
        print("SKIP: needs root and mount(8) to install %s" % HELPER)
        return 77
    if os.path.lexists(HELPER):
        print("SKIP: %s already exists; not replacing it" % HELPER)
        return 77
    fx = [f for f in tm.fixtures() if f[0] == "sample"] or tm.fixtures()
    name, source, manifest = fx[0]
    daemon = os.path.realpath(tm.MOUNT)
    os.symlink(daemon, HELPER)
    mnt = tempfile.mkdtemp(prefix="ckptfs-mnt-")
    try:
        r = subprocess.run(["mount", "-t", "fuse.ckptfs", source, mnt], capture_output=True, timeout=60)
        if check(r.returncode == 0, "mount -t fuse.ckptfs: exit %d %r" % (r.returncode, r.stderr)):
            check_mounted(mnt, source, manifest, "mount -t")
            r = subprocess.run(["umount", mnt], capture_output=True, timeout=60)
            check(r.returncode == 0 and not tm.is_mounted(mnt), "umount: %r" % r.stderr)
            tm.wait_no_daemon(mnt, "mount -t")
        # Options through mount(8), as an fstab line would give them.
        r = subprocess.run(["mount", "-t", "fuse.ckptfs", "-o", "npy,nofail,noatime", source, mnt],
                           capture_output=True, timeout=60)
        if check(r.returncode == 0, "mount -t -o npy: exit %d %r" % (r.returncode, r.stderr)):
            check_mounted(mnt, source, manifest, "mount -t -o npy", npy=True)
            tm.unmount(mnt)
            tm.wait_no_daemon(mnt, "mount -t -o npy")
        # An fstab line, through mount --fstab (util-linux) so /etc/fstab stays untouched.
        with tempfile.NamedTemporaryFile("w", suffix=".fstab", delete=False) as f:
            f.write("%s %s fuse.ckptfs ro,allow_other,nofail 0 0\n" % (os.path.realpath(source), mnt))
            fstab = f.name
        try:
            r = subprocess.run(["mount", "--fstab", fstab, mnt], capture_output=True, timeout=60)
            if check(r.returncode == 0, "fstab line: exit %d %r" % (r.returncode, r.stderr)):
                check_mounted(mnt, source, manifest, "fstab")
                check("allow_other" in mounts_line(mnt)[3], "fstab: allow_other not passed on")
                tm.unmount(mnt)
                tm.wait_no_daemon(mnt, "fstab")
        finally:
            os.unlink(fstab)
        # A bad source still gives its own exit status through mount(8).
        r = subprocess.run(["mount", "-t", "fuse.ckptfs", source + "-nope", mnt], capture_output=True, timeout=60)
        check(r.returncode != 0 and not tm.is_mounted(mnt), "bad source through mount(8) mounted")
    finally:
        tm.unmount(mnt)
        os.rmdir(mnt)
        os.unlink(HELPER)
    if tm.failures:
        print("%d failure(s)" % len(tm.failures))
        return 1
    print("all mount(8) helper checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
