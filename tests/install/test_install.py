#!/usr/bin/env python3
"""Install like a filesystem: `cmake --install` layout, the CPack .deb, and the installed
binaries at work.

1. `cmake --install` into a temporary DESTDIR (prefix /usr): bin/ckptfs, sbin/mount.ckptfs and
   sbin/mount.fuse.ckptfs (where mount(8) looks for helpers), man pages ckptfs(1) and
   mount.ckptfs(8).
2. `cpack -G DEB` builds the package; its Depends name packages that exist (apt-cache), and
   every library a packaged binary needs (readelf's NEEDED, resolved by ldd) belongs to a
   package it depends on (dpkg-query -S): the Depends are computed by dpkg-shlibdeps.
3. The package extracted (`dpkg-deb -x`) into a clean root: its ckptfs runs, mounts the sample
   fixture through its own mount.ckptfs and serves a tensor's bytes as TensorFlow wrote them
   (the manifest's sha256); `man -l` renders both pages.
4. As root with dpkg and no foreign helper present: `dpkg -i`, then `mount -t fuse.ckptfs`
   through the installed helper, then `dpkg -r` so the machine stays as it was.
5. As root with debootstrap: a minimal Debian root of this release (minbase, made once from
   the archive apt uses and cached), the package installed there by apt with exactly its
   declared dependencies, and its ckptfs run on the sample and on a URL (libcurl).

Skips (exit 77) without CKPT_BUILD_DIR, cmake/cpack or dpkg-deb; the FUSE parts are left out
(not failed) without /dev/fuse, step 4 when not root or a mount.fuse.ckptfs is already there.
"""
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import ckpt_testlib as tl  # noqa: E402

T = tl.Checks()
BUILD = os.environ.get("CKPT_BUILD_DIR") or os.path.join(tl.REPO, "build")
SAMPLE = os.path.join(tl.fixtures_dir(), "sample", "model.ckpt")
HELPER = "/usr/sbin/mount.fuse.ckptfs"


def sh(argv, **kw):
    return subprocess.run(argv, capture_output=True, timeout=600, **kw)


def mounted(mnt):
    with open("/proc/mounts") as f:
        return any(line.split()[1] == mnt for line in f)


def want_sha(name):
    with open(os.path.join(os.path.dirname(SAMPLE), "manifest.json")) as f:
        m = json.load(f)
    return next(v["sha256"] for v in m["variables"] if v["name"] == name)


def daemon_exe(mnt):
    """The executable of the process whose command line ends with mnt (the daemon)."""
    for d in os.listdir("/proc"):
        try:
            argv = open("/proc/%s/cmdline" % d, "rb").read().split(b"\0")
            if d.isdigit() and mnt.encode() in argv:
                return os.readlink("/proc/%s/exe" % d)
        except OSError:
            continue
    return None


def check_mount(mount_argv, mnt, label, daemon=None):
    r = sh(mount_argv)
    if not T.ok(r.returncode == 0 and mounted(mnt), "%s: mount: %r" % (label, r.stderr[-300:])):
        return
    try:
        if daemon:
            T.eq(daemon_exe(mnt), os.path.realpath(daemon), label + ": the daemon run")
        with open(os.path.join(mnt, "dense", "kernel.raw"), "rb") as f:
            T.eq(hashlib.sha256(f.read()).hexdigest(), want_sha("dense/kernel"),
                 label + ": dense/kernel bytes")
        with open(os.path.join(mnt, "dense", "kernel.shape")) as f:
            T.eq(f.read(), "[784, 10]\n", label + ": dense/kernel.shape")
    finally:
        sh(["fusermount3", "-u", mnt]) if shutil.which("fusermount3") else sh(["umount", mnt])
        end = time.time() + 5
        while mounted(mnt) and time.time() < end:
            time.sleep(0.05)
        T.ok(not mounted(mnt), label + ": unmounted")


def check_man(path, label):
    r = sh(["man", "-l", path], env=dict(os.environ, MANWIDTH="80", MANPAGER="cat", PAGER="cat"))
    out = r.stdout.decode("utf-8", "replace")
    T.ok(r.returncode == 0 and "NAME" in out and "SYNOPSIS" in out and "ckptfs" in out
         and "warning" not in r.stderr.decode("utf-8", "replace").lower(),
         "%s: man -l renders: %s" % (label, r.stderr[-300:]))


def owning_package(path):
    """The package dpkg says owns path (tried as given and as resolved: /lib vs /usr/lib on a
    merged /usr), without its :arch, or None."""
    for p in dict.fromkeys([path, os.path.realpath(path),
                            path.replace("/usr/lib/", "/lib/", 1) if path.startswith("/usr/lib/")
                            else path.replace("/lib/", "/usr/lib/", 1)]):
        r = sh(["dpkg-query", "-S", p])
        if r.returncode == 0:
            return r.stdout.decode().split(":")[0].split(",")[0].strip()
    return None


def needed_libs(path):
    """Every library path loads: its NEEDED entries and, through ldd, theirs."""
    libs = [l.split("[", 1)[1].rstrip("]") for l in
            sh(["readelf", "-d", path]).stdout.decode().splitlines() if "(NEEDED)" in l]
    libs += [l.split()[0] for l in sh(["ldd", path]).stdout.decode().splitlines() if l.strip()]
    T.ok(len(libs) >= 3, "readelf/ldd list %s's libraries: %r" % (path, libs[:5]))
    return libs


def check_needed_declared(root, depends):
    if not shutil.which("dpkg-query") or not shutil.which("ldd") or not shutil.which("readelf"):
        tl.skip_part("no dpkg-query/ldd/readelf: the needed libraries are not checked")
        return
    checked = 0
    for d, _, files in os.walk(root):
        for f in files:
            p = os.path.join(d, f)
            if os.path.islink(p) or not os.access(p, os.X_OK):
                continue
            needed = [l.split("[", 1)[1].rstrip("]") for l in
                      sh(["readelf", "-d", p]).stdout.decode().splitlines() if "(NEEDED)" in l]
            where = {}
            for l in sh(["ldd", p]).stdout.decode().splitlines():
                if "=>" in l and "/" in l.split("=>", 1)[1]:
                    lib, path = l.split("=>", 1)
                    where[lib.strip()] = path.split("(")[0].strip()
            for lib in needed:
                path = where.get(lib)
                pkg = owning_package(path) if path else None
                T.ok(pkg is not None and pkg in depends,
                     "%s needs %s (%s, package %s): declared in Depends %s"
                     % (os.path.relpath(p, root), lib, path, pkg, sorted(depends)))
                checked += 1
    T.ok(checked >= 5, "the packaged binaries' NEEDED libraries were checked (%d)" % checked)


def host_mirror():
    """The Debian mirror this machine's apt uses (deb822 or one-line sources), or None."""
    import glob
    for f in sorted(glob.glob("/etc/apt/sources.list.d/*.sources")) + ["/etc/apt/sources.list"]:
        try:
            text = open(f).read()
        except OSError:
            continue
        for line in text.splitlines():
            w = line.split()
            if line.startswith("URIs:") and len(w) > 1 and "security" not in w[1]:
                return w[1]
            if len(w) > 2 and w[0] == "deb" and "security" not in w[1]:
                return w[1]
    return None


def check_clean_root(deb, tmp):
    """debootstrap a minimal Debian of this machine's release (minbase: no libcurl, no fuse),
    install the .deb there with apt, which brings exactly its declared dependencies, and run
    the installed ckptfs on the sample: a dependency missing from Depends fails to load.
    The minbase tarball is made once (network) and kept in CKPT_DEBOOTSTRAP_CACHE (default
    /var/cache/ckptfs-tests); without debootstrap, root or the archive this part is left out."""
    if os.geteuid() != 0 or not shutil.which("debootstrap") or not shutil.which("chroot"):
        tl.skip_part("not root or no debootstrap (apt-get install debootstrap): the clean-root "
                     "install is left out")
        return
    try:
        suite = [l.split("=", 1)[1].strip().strip('"') for l in open("/etc/os-release")
                 if l.startswith("VERSION_CODENAME=")][0]
    except (OSError, IndexError):
        tl.skip_part("no VERSION_CODENAME in /etc/os-release: the clean-root install is left out")
        return
    mirror = host_mirror()
    cache = os.environ.get("CKPT_DEBOOTSTRAP_CACHE", "/var/cache/ckptfs-tests")
    tarball = os.path.join(cache, "%s-minbase.tgz" % suite)
    if not os.path.exists(tarball):
        os.makedirs(cache, exist_ok=True)
        r = sh(["debootstrap", "--variant=minbase", "--make-tarball=" + tarball, suite,
                os.path.join(tmp, "dbs-work"), mirror or "http://deb.debian.org/debian"])
        if r.returncode != 0:
            tl.skip_part("debootstrap could not fetch %s (%s): the clean-root install is left out"
                         % (suite, r.stderr.decode(errors="replace").strip()[-200:]))
            return
    root = os.path.join(tmp, "clean")
    r = sh(["debootstrap", "--variant=minbase", "--unpack-tarball=" + tarball, suite, root,
            mirror or "http://deb.debian.org/debian"])
    if not T.ok(r.returncode == 0, "debootstrap a clean %s root: %r" % (suite, r.stderr[-300:])):
        return
    r = sh(["chroot", root, "dpkg-query", "-W", "-f", "${Package}\\n"])
    before = set(r.stdout.decode().split())
    T.ok("libcurl4" not in before and "libfuse3-3" not in before,
         "the clean root lacks libcurl4 and libfuse3-3 before the install")
    shutil.copy(deb, os.path.join(root, "tmp", "ckptfs.deb"))
    shutil.copytree(os.path.dirname(SAMPLE), os.path.join(root, "tmp", "sample"))
    r = sh(["chroot", root, "apt-get", "update"])
    if r.returncode != 0:
        tl.skip_part("apt-get update in the clean root failed (%s): install left out"
                     % r.stderr.decode(errors="replace").strip()[-200:])
        return
    r = sh(["chroot", root, "env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "install", "-y",
            "--no-install-recommends", "/tmp/ckptfs.deb"])
    if not T.ok(r.returncode == 0, "apt-get install ckptfs.deb in the clean root: %r"
                % r.stderr[-400:]):
        return
    r = sh(["chroot", root, "/usr/bin/ckptfs", "--version"])
    T.ok(r.returncode == 0 and r.stdout.startswith(b"ckptfs "),
         "the clean root's ckptfs runs with only the declared dependencies: %r" % r.stderr[-300:])
    r = sh(["chroot", root, "/usr/bin/ckptfs", "cat", "/tmp/sample/model.ckpt", "dense/kernel"])
    T.eq(hashlib.sha256(r.stdout).hexdigest(), want_sha("dense/kernel"),
         "the clean root's ckptfs cat dense/kernel")
    r = sh(["chroot", root, "/usr/bin/ckptfs", "--net-timeout", "2", "ls",
            "http://127.0.0.1:9/x/model.ckpt"])
    T.ok(r.returncode == 7 and b"127.0.0.1" in r.stderr,
         "the clean root's ckptfs reaches libcurl (a refused URL, exit 7): %r" % r.stderr[-200:])
    # The commands without FUSE: libfuse3 taken away, ckptfs still reads; the daemon cannot
    # start (the loader refuses it), and `ckptfs mount` says so with a failure status.
    r = sh(["chroot", root, "dpkg", "--remove", "--force-depends", "libfuse3-3"])
    T.ok(r.returncode == 0, "dpkg --remove --force-depends libfuse3-3: %r" % r.stderr[-300:])
    r = sh(["chroot", root, "dpkg-query", "-W", "-f", "${Package} ${Status}\\n"])
    T.ok(not any(l.startswith("libfuse3-3 ") and l.split()[-1] == "installed"
                 for l in r.stdout.decode().splitlines()), "libfuse3-3 is gone from the root")
    r = sh(["chroot", root, "/usr/bin/ckptfs", "cat", "/tmp/sample/model.ckpt", "dense/kernel"])
    T.eq(hashlib.sha256(r.stdout).hexdigest(), want_sha("dense/kernel"),
         "without libfuse3, the clean root's ckptfs cat dense/kernel")
    r = sh(["chroot", root, "/usr/bin/ckptfs", "verify", "/tmp/sample/model.ckpt"])
    T.ok(r.returncode == 0, "without libfuse3, ckptfs verify: %r" % r.stderr[-300:])
    r = sh(["chroot", root, "/usr/bin/ckptfs", "mount", "/tmp/sample/model.ckpt", "/mnt"])
    T.ok(r.returncode != 0 and b"libfuse3" in r.stderr,
         "without libfuse3, ckptfs mount fails naming the library: %r" % r.stderr[-300:])


def main():
    for tool in ("cmake", "cpack", "dpkg-deb"):
        if not shutil.which(tool):
            tl.skip("%s not installed" % tool)
    if not os.path.isfile(os.path.join(BUILD, "CPackConfig.cmake")):
        tl.skip("no configured build at %s (set CKPT_BUILD_DIR)" % BUILD)
    fuse = os.path.exists("/dev/fuse") and os.geteuid() == 0
    tmp = tempfile.mkdtemp(prefix="ckptfs-install-")
    installed = False
    try:
        # 1. cmake --install
        dest = os.path.join(tmp, "destdir")
        r = sh(["cmake", "--install", BUILD, "--prefix", "/usr"], env=dict(os.environ, DESTDIR=dest))
        T.ok(r.returncode == 0, "cmake --install: %r" % r.stderr[-300:])
        u = os.path.join(dest, "usr")
        T.ok(os.access(os.path.join(u, "bin", "ckptfs"), os.X_OK), "bin/ckptfs installed")
        daemon = os.path.join(u, "sbin", "mount.ckptfs")
        T.ok(os.access(daemon, os.X_OK) and not os.path.islink(daemon),
             "sbin/mount.ckptfs is the daemon, a program of its own")
        p = os.path.join(u, "sbin", "mount.fuse.ckptfs")
        T.ok(os.path.islink(p) and os.path.realpath(p) == daemon,
             "sbin/mount.fuse.ckptfs links to sbin/mount.ckptfs")
        # Only the daemon links libfuse3: the commands run where FUSE is not installed.
        T.ok(not any("libfuse" in l for l in needed_libs(os.path.join(u, "bin", "ckptfs"))),
             "bin/ckptfs needs no libfuse (readelf NEEDED, ldd)")
        T.ok(any("libfuse3" in l for l in needed_libs(daemon)),
             "sbin/mount.ckptfs links libfuse3 (the check above can see it)")
        for page in ("man1/ckptfs.1", "man8/mount.ckptfs.8"):
            T.ok(os.path.isfile(os.path.join(u, "share", "man", page)), page + " installed")

        # 2. the package
        pkgdir = os.path.join(tmp, "pkg")
        r = sh(["cpack", "-G", "DEB", "--config", os.path.join(BUILD, "CPackConfig.cmake"),
                "-B", pkgdir])
        debs = [f for f in os.listdir(pkgdir) if f.endswith(".deb")] if os.path.isdir(pkgdir) else []
        if not T.ok(r.returncode == 0 and len(debs) == 1, "cpack -G DEB: %r" % r.stdout[-400:]):
            return
        deb = os.path.join(pkgdir, debs[0])
        print("package: %s (%d bytes)" % (debs[0], os.path.getsize(deb)))
        dep = sh(["dpkg-deb", "-f", deb, "Depends"]).stdout.decode().strip()
        names = [d.strip().split()[0] for d in dep.split(",") if d.strip()]
        T.ok("fuse3" in names, "Depends names fuse3 (fusermount3): %r" % dep)
        if shutil.which("apt-cache"):
            for n in names:
                T.ok(sh(["apt-cache", "show", n]).returncode == 0, "Depends: %s is a package" % n)
        listing = sh(["dpkg-deb", "-c", deb]).stdout.decode()
        for p in ("./usr/bin/ckptfs", "./usr/sbin/mount.fuse.ckptfs", "./usr/sbin/mount.ckptfs",
                  "./usr/share/man/man1/ckptfs.1", "./usr/share/man/man8/mount.ckptfs.8"):
            T.ok(p in listing, "package holds %s" % p)

        # 2b. every library the packaged binaries need comes from a declared dependency: the
        # dynamic linker's own resolution (ldd) of each NEEDED entry, and dpkg's record of
        # which package owns that file, against the package's Depends.
        pre = os.path.join(tmp, "pre")
        sh(["dpkg-deb", "-x", deb, pre])
        check_needed_declared(pre, set(names))

        # 3. extracted into a clean root
        root = os.path.join(tmp, "root")
        r = sh(["dpkg-deb", "-x", deb, root])
        T.ok(r.returncode == 0, "dpkg-deb -x: %r" % r.stderr)
        binary = os.path.join(root, "usr", "bin", "ckptfs")
        r = sh([binary, "--version"])
        T.ok(r.returncode == 0 and r.stdout.startswith(b"ckptfs "), "installed ckptfs --version")
        r = sh([binary, "cat", SAMPLE, "dense/kernel"])
        T.eq(hashlib.sha256(r.stdout).hexdigest(), want_sha("dense/kernel"),
             "installed ckptfs cat dense/kernel")
        check_man(os.path.join(root, "usr", "share", "man", "man1", "ckptfs.1"), "ckptfs(1)")
        check_man(os.path.join(root, "usr", "share", "man", "man8", "mount.ckptfs.8"),
                  "mount.ckptfs(8)")
        if fuse:
            mnt = os.path.join(tmp, "mnt")
            os.mkdir(mnt)
            check_mount([os.path.join(root, "usr", "sbin", "mount.ckptfs"), SAMPLE, mnt], mnt,
                        "extracted mount.ckptfs")
            check_mount([binary, "mount", SAMPLE, mnt], mnt, "extracted ckptfs mount",
                        daemon=os.path.join(root, "usr", "sbin", "mount.ckptfs"))
        else:
            tl.skip_part("no /dev/fuse or not root: mounts left out")

        # 4. dpkg -i, mount(8) through the helper, dpkg -r
        if not (fuse and shutil.which("dpkg") and shutil.which("mount")):
            tl.skip_part("not root or no dpkg/mount(8): dpkg -i left out")
        elif os.path.lexists(HELPER) or sh(["dpkg", "-s", "ckptfs"]).returncode == 0:
            tl.skip_part("%s or a ckptfs package already present: dpkg -i left out" % HELPER)
        else:
            r = sh(["dpkg", "-i", deb])
            installed = r.returncode == 0
            if T.ok(installed, "dpkg -i: %r" % r.stderr[-400:]):
                T.ok(os.path.islink(HELPER), "dpkg -i put %s in place" % HELPER)
                mnt = os.path.join(tmp, "mnt2")
                os.mkdir(mnt)
                check_mount(["mount", "-t", "fuse.ckptfs", SAMPLE, mnt], mnt,
                            "mount -t fuse.ckptfs (installed helper)")
                # Minimal images tell dpkg to skip man pages (path-exclude); only then no page.
                if os.path.exists("/usr/share/man/man1/ckptfs.1"):
                    r = sh(["man", "-w", "ckptfs"])
                    T.ok(r.returncode == 0 and b"ckptfs.1" in r.stdout, "man finds ckptfs(1)")
                else:
                    tl.skip_part("dpkg excludes man pages here (path-exclude): man -w left out")
        # 5. a clean Debian root with only the package's declared dependencies
        check_clean_root(deb, tmp)
    finally:
        if installed:
            r = sh(["dpkg", "-r", "ckptfs"])
            T.ok(r.returncode == 0 and not os.path.lexists(HELPER)
                 and not os.path.exists("/usr/bin/ckptfs"), "dpkg -r removes it all: %r" % r.stderr)
        shutil.rmtree(tmp, ignore_errors=True)
    T.summary()


if __name__ == "__main__":
    main()
