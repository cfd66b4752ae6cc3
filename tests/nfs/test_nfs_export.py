#!/usr/bin/env python3
"""A ckptfs mount re-exported over NFS: nfs-ganesha (FSAL VFS, NFSv4 on 127.0.0.1) serves the
mount, and libnfs's userspace client reads it back, so no kernel NFS client is needed.

Checks, against TF's manifest of the sample fixture (sha256 of every tensor's bytes):
- nfs-ls lists the mount's root like a local listing;
- nfs-cat of every variable's bytes (NAME, or NAME.raw where NAME is also a directory) has
  TF's sha256, and a sidecar reads as its text;
- after `echo 3 > /proc/sys/vm/drop_caches` (ganesha then holds only file handles, which the
  daemon must resolve by node id) every tensor still reads right.

Needs root, ganesha.nfsd and nfs-cat (scripts/deps.sh installs nfs-ganesha, nfs-ganesha-vfs,
libnfs-utils). Exit 0 pass, 1 fail, 77 skip.
"""
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
import test_mount as tm  # noqa: E402
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "remote"))
import remote_testlib as rl  # noqa: E402

check = tm.check
FIX = os.environ.get("CKPT_FIXTURES") or os.path.join(HERE, "..", "fixtures")

CONF = """
NFS_CORE_PARAM {{
    Protocols = 4;
    NFS_Port = {port};
    Bind_addr = 127.0.0.1;
    Enable_NLM = false;
    Enable_RQUOTA = false;
}}
NFSv4 {{
    Graceless = true;
    RecoveryBackend = fs;
    RecoveryRoot = {tmp}/recovery;
}}
EXPORT {{
    Export_Id = 1;
    Path = {mnt};
    Pseudo = /ckpt;
    Access_Type = RO;
    Squash = No_Root_Squash;
    SecType = sys;
    Protocols = 4;
    Transports = TCP;
    FSAL {{ Name = VFS; }}
}}
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]




def nfs(tool, port, rel):
    url = "nfs://127.0.0.1/ckpt/%s?version=4&nfsport=%d" % (rel, port)
    return subprocess.run([tool, url], capture_output=True, timeout=60)


def drop_caches():
    os.sync()
    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write("3\n")


def tensor_paths(m, variables):
    """(variable, path relative to the mount) for every variable, as the mount shows it."""
    out = []
    for v in variables:
        rel = v["name"]
        if os.path.isdir(os.path.join(m.mnt, rel)):
            rel += ".raw"
        out.append((v, rel))
    return out


def read_all(port, pairs, when):
    for v, rel in pairs:
        r = nfs("nfs-cat", port, rel)
        if check(r.returncode == 0, "%s: nfs-cat %s failed: %s" % (when, rel, r.stderr.decode(errors="replace")[:200])):
            check(hashlib.sha256(r.stdout).hexdigest() == v["sha256"],
                  "%s: %s over NFS differs from TF's bytes (%d bytes)" % (when, rel, len(r.stdout)))


def main():
    why = tm.fuse_usable()
    if why:
        print("SKIP: FUSE unusable: %s" % why)
        return 77
    ganesha, cat = shutil.which("ganesha.nfsd"), shutil.which("nfs-cat")
    if os.geteuid() != 0 or not ganesha or not cat:
        print("SKIP: needs root, ganesha.nfsd and nfs-cat (scripts/deps.sh installs them)")
        return 77
    man = json.load(open(os.path.join(FIX, "sample", "manifest.json")))
    source = os.path.join(FIX, "sample", man["prefix"])
    with tempfile.TemporaryDirectory(prefix="ckptfs-nfs-") as tmp, tm.Mount(source, what="nfs") as m:
        os.makedirs(os.path.join(tmp, "recovery"))
        conf = os.path.join(tmp, "ganesha.conf")
        log = os.path.join(tmp, "ganesha.log")
        # free_port's port is closed before ganesha binds it, and may be taken meanwhile: ganesha
        # counts as started only once it holds that port's listening socket itself (/proc), and
        # is started again on another port when it exits first.
        for _ in range(5):
            port = free_port()
            with open(conf, "w") as f:
                f.write(CONF.format(port=port, tmp=tmp, mnt=m.mnt))
            proc = subprocess.Popen([ganesha, "-F", "-f", conf, "-L", log, "-p", os.path.join(tmp, "pid"),
                                     "-N", "NIV_EVENT"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            if rl.wait_own_port(port, proc) or proc.poll() is None:
                break
        try:
            if not check(rl.wait_own_port(port, proc, timeout=1),
                         "ganesha did not start: %s" % open(log, errors="replace").read()[-2000:]):
                return 1
            r = nfs("nfs-ls", port, "")
            names = sorted(line.split()[-1] for line in r.stdout.decode().splitlines() if line.strip())
            check(names == sorted(os.listdir(m.mnt)), "nfs-ls of the root: %r, locally %r" % (names[:6], sorted(os.listdir(m.mnt))[:6]))
            pairs = tensor_paths(m, man["variables"])
            read_all(port, pairs, "first read")
            shape = nfs("nfs-cat", port, "dense/kernel.shape").stdout
            check(shape == open(os.path.join(m.mnt, "dense/kernel.shape"), "rb").read(), "sidecar over NFS: %r" % shape)
            drop_caches()
            read_all(port, pairs, "after drop_caches")
            print("nfs: %d tensors read over NFSv4 twice" % len(pairs))
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    return tm.outcome()


if __name__ == "__main__":
    sys.exit(main())
