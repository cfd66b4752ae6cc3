#!/usr/bin/env python3
"""Promises of docs/mount.md ("Checkpoints behind a URL") that no other test held to
(tests/README.md, "Promises and their tests"):

- 404 and 403 at mount time exit 2 naming the URL and the HTTP status (`ls` is in
  test_remote_http.py), and leave nothing mounted;
- an answer with another ETag (the object changed under the mount) fails the read with EIO
  rather than mixing bytes of two versions;
- `cache_dir=DIR` keeps fetched blocks on disk: a second mount with the same DIR reads a tensor
  without fetching its blocks again (but one: the request that learns the object's ETag);
- `cache_size=SIZE` bounds the memory cache: with 64M a tensor dropped from the page cache is
  read again without a request, with 2M (raised to the 16 MiB floor; 16 MiB of other reads
  since) its blocks are fetched again; a bad SIZE is refused (exit 1, naming the option);
- HTTPS certificates are verified: a server with a self-signed certificate is refused, while
  Python's own client, told to trust that certificate, reads the same file from it.

Truth: the bytes written here with tests/pylib/ckptwriter.py, nginx's access log (what was
fetched), Python's ssl module. Exit 0 pass, 1 fail, 77 skip (no nginx or FUSE; in CI fails).
"""
import errno
import http.server
import os
import re
import shutil
import ssl
import subprocess
import sys
import tempfile
import threading
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import remote_testlib as R  # noqa: E402

T = R.T
check = R.check
MIB = 1 << 20
# Each tensor: 16 blocks, beyond the 4 fetched ahead of a reader, and as big as the memory
# cache's floor (docs/mount.md, `cache_size=`), so that a and b do not both fit in 2M's cache.
N = 16 * MIB
DT_UINT8 = 4
SHARD = "/two/ck.data-00000-of-00001"


def write_two(root):
    """root/two/ck: tensors a and b of N bytes each (values chosen here), one shard."""
    import ckptwriter as cw
    d = os.path.join(root, "two")
    os.makedirs(d)
    a = bytes(range(256)) * (N // 256)
    b = bytes(reversed(range(256))) * (N // 256)
    ents = [(b"", cw.bundle_header(1)),
            (b"a", cw.bundle_entry(DT_UINT8, [N], 0, 0, N, cw.crc32c(a))),
            (b"b", cw.bundle_entry(DT_UINT8, [N], 0, N, N, cw.crc32c(b)))]
    cw.write(os.path.join(d, "ck.index"), cw.table(ents))
    cw.write(os.path.join(d, "ck.data-00000-of-00001"), a + b)
    return {"a": a, "b": b}


def mount(src, mnt, *opts):
    args = ["mount", src, mnt]
    for o in opts:
        args += ["-o", o]
    p = subprocess.run([T.ckptfs_path()] + args, env=R.mount_env(), stdin=subprocess.DEVNULL,
                       capture_output=True, timeout=120)
    return p.returncode, p.stderr.decode("utf-8", "replace")


def shard_bytes(lines):
    """Body bytes nginx sent for the shard in these access-log lines (combined format)."""
    n = 0
    for ln in lines:
        m = re.search(r'"[A-Z]+ (\S+) [^"]*" (\d{3}) (\d+)', ln)
        if m and m.group(1) == SHARD:
            n += int(m.group(3))
    return n


def read(mnt, name, drop_cache=False):
    with open(os.path.join(mnt, name), "rb") as f:
        data = f.read()
        if drop_cache:
            # Forget this file's pages, so the next read reaches the daemon's block cache.
            os.posix_fadvise(f.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)
    return data


def case_mount_errors(ngx, mnt):
    for path, status, word in (("/nope/model.ckpt", "404", "nope/model.ckpt"),
                               ("/forbidden/model.ckpt", "403", "forbidden")):
        rc, err = mount(ngx.url + path, mnt)
        if rc == 0:
            R.unmount(mnt)
        # docs/mount.md: a 404 is "no such checkpoint" naming the URL; a 403 says so.
        check(rc == 2 and word in err and (status == "404" or "HTTP 403" in err)
              and not os.path.ismount(mnt),
              "mount of a %s URL: exit 2 naming the URL (%s: %s)" % (status, rc, err.strip()))


def case_etag_change(ngx, root, mnt, truth):
    rc, err = mount(ngx.url + "/two/ck", mnt)
    if not check(rc == 0, "mount /two/ck: " + err):
        return
    try:
        with open(os.path.join(mnt, "a"), "rb") as f:
            check(f.read(4096) == truth["a"][:4096], "etag: the first bytes of a")
        # nginx's ETag is made of the file's mtime and size: a new mtime is a new version.
        shard = os.path.join(root, SHARD.lstrip("/"))
        st = os.stat(shard)
        os.utime(shard, (st.st_atime, st.st_mtime + 1000))
        e = None
        try:
            read(mnt, "b")
        except OSError as x:
            e = x.errno
        check(e == errno.EIO, "a read after the object's ETag changed: EIO, got %s" % e)
    finally:
        R.unmount(mnt)


def case_cache_dir(ngx, work, mnt, truth):
    cdir = os.path.join(work, "blocks")
    os.mkdir(cdir)
    url = ngx.url + "/two/ck"
    rc, err = mount(url, mnt, "cache_dir=" + cdir)
    if not check(rc == 0, "mount with cache_dir=: " + err):
        return
    try:
        before = len(ngx.settled())
        check(read(mnt, "a") == truth["a"], "cache_dir: a's bytes (first mount)")
        first = shard_bytes(ngx.settled()[before:])
    finally:
        R.unmount(mnt)
    check(first >= N, "cache_dir: the first mount fetched a (%d bytes)" % first)
    check(any(files for _, _, files in os.walk(cdir)), "cache_dir: blocks were kept in it")
    rc, err = mount(url, mnt, "cache_dir=" + cdir)
    if not check(rc == 0, "second mount with cache_dir=: " + err):
        return
    try:
        before = len(ngx.settled())
        check(read(mnt, "a") == truth["a"], "cache_dir: a's bytes (second mount)")
        again = shard_bytes(ngx.settled()[before:])
    finally:
        R.unmount(mnt)
    check(again <= MIB, "cache_dir: the second mount fetched %d shard bytes for a (want at "
          "most the one block that learns the ETag)" % again)


def case_cache_size(ngx, mnt, truth):
    url = ngx.url + "/two/ck"
    rc, err = mount(url, mnt, "cache_size=abc")
    if rc == 0:
        R.unmount(mnt)
    check(rc == 1 and "cache_size" in err, "cache_size=abc refused with exit 1 (%s: %s)"
          % (rc, err.strip()))
    for size, refetch in (("64M", False), ("2M", True)):
        rc, err = mount(url, mnt, "cache_size=" + size)
        if not check(rc == 0, "mount with cache_size=%s: %s" % (size, err)):
            continue
        try:
            check(read(mnt, "a", drop_cache=True) == truth["a"], "cache_size=%s: a" % size)
            check(read(mnt, "b", drop_cache=True) == truth["b"], "cache_size=%s: b" % size)
            before = len(ngx.settled())
            check(read(mnt, "a") == truth["a"], "cache_size=%s: a read again" % size)
            n = shard_bytes(ngx.settled()[before:])
        finally:
            R.unmount(mnt)
        if refetch:
            check(n >= N // 2, "cache_size=2M: a's blocks fetched again (%d bytes)" % n)
        else:
            check(n == 0, "cache_size=64M: a read again from memory (%d bytes fetched)" % n)


class TlsServer:
    """An HTTPS server (a self-signed certificate for 127.0.0.1) serving root, in a thread."""

    def __init__(self, root, work):
        self.cert = os.path.join(work, "cert.pem")
        key = os.path.join(work, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                        "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                        "-keyout", key, "-out", self.cert], check=True, capture_output=True)
        handler = lambda *a, **k: http.server.SimpleHTTPRequestHandler(  # noqa: E731
            *a, directory=root, **k)
        handler.log_message = lambda *a: None
        # Port 0: the kernel picks a free port and the server holds it from the start.
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.cert, key)
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.url = "https://127.0.0.1:%d" % self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def case_https(root, work, mnt):
    if not shutil.which("openssl"):
        T.missing("openssl", "needed to make a certificate", whole=False)
        return
    s = TlsServer(root, work)
    try:
        ctx = ssl.create_default_context(cafile=s.cert)
        with urllib.request.urlopen(s.url + "/two/ck.index", context=ctx, timeout=30) as r:
            with open(os.path.join(root, "two", "ck.index"), "rb") as f:
                check(r.read() == f.read(), "https: Python, trusting the certificate, reads it")
        r = T.ckptfs("ls", s.url + "/two/ck", timeout=60)
        check(r.rc != 0 and r.out == b"" and "certificate" in r.err.lower(),
              "ls of a self-signed https server refused, saying why (%s: %s)"
              % (r.rc, r.err.strip()))
        rc, err = mount(s.url + "/two/ck", mnt)
        if rc == 0:
            R.unmount(mnt)
        check(rc != 0 and not os.path.ismount(mnt) and "certificate" in err.lower(),
              "mount of a self-signed https server refused (%s: %s)" % (rc, err.strip()))
    finally:
        s.close()


def main():
    T.ckptfs_path()
    if not R.fuse_usable():
        T.missing("FUSE", "no /dev/fuse, or not root and no fusermount3")
    work = tempfile.mkdtemp(prefix="ckpt-remote-promises-")
    os.chmod(work, 0o755)  # nginx's workers run as another user
    ngx = None
    try:
        root = os.path.join(work, "root")
        os.makedirs(root)
        truth = write_two(root)
        ngx = R.Nginx(root, work)
        mnt = os.path.join(work, "mnt")
        os.mkdir(mnt)
        case_mount_errors(ngx, mnt)
        case_cache_dir(ngx, work, mnt, truth)
        case_cache_size(ngx, mnt, truth)
        case_https(root, work, mnt)
        case_etag_change(ngx, root, mnt, truth)  # last: it changes the shard's version
    finally:
        if ngx:
            ngx.close()
        for _ in range(5):  # a failed case may have left one behind
            if not os.path.ismount(os.path.join(work, "mnt")) or not R.unmount(
                    os.path.join(work, "mnt")):
                break
        shutil.rmtree(work, ignore_errors=True)
    return R.verdict()


if __name__ == "__main__":
    sys.exit(main())
