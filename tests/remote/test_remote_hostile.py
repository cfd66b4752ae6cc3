#!/usr/bin/env python3
"""A hostile web server (issue 23, findings 2, 3 and 4, and the gzip and 1 TB answers).

The server is scripted here, on 127.0.0.1 (port 0), over a checkpoint written by the tests'
own writer (tests/pylib/ckptwriter.py): tensor `a` (17 MiB, bytes i % 251) at offset 0 and `b`
(4 KiB of random bytes) at offset 17 MiB of the one data shard. The first path component picks
how the server misbehaves:

- `wrongrange`: every range of the shard answered 206 "bytes 0-..." with the bytes at 0. A
  mounted `pread` at 5 MiB and `cat b` must fail, never return the bytes at 0.
- `drip`: the shard (or, for `dripindex`, the index) sent at 2 bytes a second. With a 3 s
  net_timeout a mounted read fails with EIO within 10 s and `ckptfs --net-timeout 3 ls`
  exits within 10 s; with net_timeout=30, a daemon unmounted while a request hangs (its
  reader killed) exits within 8 s.
- `huge`: the shard's ranges ignored, 200 with Content-Length 1 TB and the bytes after the
  file's end never ending: `cat a` still gives a's bytes, `cat b` fails within 10 s and the
  server has sent less than 64 MiB.
- `gzip`: every answer gzip-encoded (Content-Encoding: gzip): a clear error naming it.
- `auth`: Basic auth alice:PASSWORD required. `ls` of http://alice:PASSWORD@... works; the
  password appears in no message, nor (mounted) in /proc/mounts, the root xattrs, the daemon's
  /proc/PID/cmdline or its log lines (`-f`).

Truth: the bytes the writer wrote, the server's own count of bytes sent, the clock, /proc.
Exit 0 pass, 1 fail, 77 skip (no ckptfs); the mount parts need FUSE.
"""
import errno
import gzip
import http.server
import os
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import remote_testlib as R  # noqa: E402

T = R.T
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import ckptwriter as W  # noqa: E402

check = R.check
PASSWORD = "Pw-7fK2-not-for-eyes"
A_SIZE = 17 << 20
DT_UINT8 = 4


def write_ckpt(d):
    os.makedirs(d)
    a = bytes(i % 251 for i in range(251)) * (A_SIZE // 251 + 1)
    a = a[:A_SIZE]
    b = os.urandom(4096)
    w = W.V2Writer(os.path.join(d, "model.ckpt"))
    w.add(b"a", DT_UINT8, [A_SIZE], a)
    w.add(b"b", DT_UINT8, [4096], b)
    w.close()
    return a, b


class Hostile:
    """The scripted server; sent counts the body bytes written per mode."""

    def __init__(self, root):
        outer = self
        self.done = False
        self.sent = {}
        self.active = {}   # mode -> requests being answered now
        self.drips = 0     # dripped answers begun
        self.lock = threading.Lock()

        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def count(self, mode, n):
                with outer.lock:
                    outer.sent[mode] = outer.sent.get(mode, 0) + n

            def do_GET(self):
                mode = self.path.lstrip("/").split("/", 1)[0]
                with outer.lock:
                    outer.active[mode] = outer.active.get(mode, 0) + 1
                try:
                    self.answer()
                finally:
                    with outer.lock:
                        outer.active[mode] -= 1

            def answer(self):
                parts = self.path.lstrip("/").split("/", 1)
                mode, rel = parts[0], parts[1] if len(parts) > 1 else ""
                p = os.path.join(root, rel)
                if mode == "auth":
                    import base64
                    want = "Basic " + base64.b64encode(("alice:" + PASSWORD).encode()).decode()
                    if self.headers.get("Authorization") != want:
                        self.send_response(401)
                        self.send_header("WWW-Authenticate", 'Basic realm="x"')
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                if not os.path.isfile(p):
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                with open(p, "rb") as f:
                    data = f.read()
                size = len(data)
                a, b = 0, size - 1
                rng = self.headers.get("Range")
                if rng and rng.startswith("bytes="):
                    x, y = rng[6:].split("-")
                    a, b = int(x), min(int(y), size - 1)
                shard = ".data-" in rel
                if mode == "huge" and shard:
                    self.send_response(200)
                    self.send_header("Content-Length", str(1 << 40))
                    self.end_headers()
                    # Counted 64 KiB at a time as each is taken: the client hangs up in the
                    # middle, and what went before that counts.
                    try:
                        for i in range(0, len(data), 1 << 16):
                            self.wfile.write(data[i:i + (1 << 16)])
                            self.count(mode, len(data[i:i + (1 << 16)]))
                        zeros = bytes(1 << 16)
                        while not outer.done:
                            self.wfile.write(zeros)
                            self.count(mode, len(zeros))
                    except OSError:
                        pass
                    return
                if mode == "wrongrange" and shard:
                    n = b - a + 1
                    a, b = 0, n - 1
                body = data[a:b + 1]
                if mode == "gzip":
                    body = gzip.compress(body)
                self.send_response(206 if rng else 200)
                if rng:
                    self.send_header("Content-Range", "bytes %d-%d/%d" % (a, b, size))
                if mode == "gzip":
                    self.send_header("Content-Encoding", "gzip")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("ETag", '"v1"')
                self.end_headers()
                drip = (mode == "drip" and shard) or (mode == "dripindex" and rel.endswith(".index"))
                try:
                    if not drip:
                        self.wfile.write(body)
                        self.count(mode, len(body))
                        return
                    with outer.lock:
                        outer.drips += 1
                    for i in range(0, len(body), 2):
                        if outer.done:
                            return
                        self.wfile.write(body[i:i + 2])
                        self.wfile.flush()
                        self.count(mode, 2)
                        time.sleep(1)  # the drip itself: 2 bytes a second is the misbehaviour
                except OSError:
                    pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.url = "http://127.0.0.1:%d" % self.port
        self.t = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.t.start()

    def close(self):
        self.done = True
        self.httpd.shutdown()
        self.httpd.server_close()


def timed(*args, timeout=60):
    t0 = time.monotonic()
    r = T.ckptfs(*args, timeout=timeout)
    return r, time.monotonic() - t0


def check_cli(srv, a, b):
    u = srv.url
    r = T.ckptfs("ls", "-l", u + "/ok/model.ckpt")
    check(r.rc == 0 and [x.name for x in T.parse_ls(r.out)] == [b"a", b"b"],
          "the well-behaved server: ls lists a and b (%s)" % r.describe())
    r = T.ckptfs("cat", u + "/ok/model.ckpt", "b")
    check(r.rc == 0 and r.out == b, "the well-behaved server: cat b gives the written bytes")

    # finding 2: a 206 for another range
    r, dt = timed("cat", u + "/wrongrange/model.ckpt", "b")
    check(r.rc == 7 and b not in r.out and r.out[:4096] != a[:4096] and "answered bytes 0-" in r.err,
          "206 for bytes 0-... when asked 17 MiB on: cat b exits 7 naming the ranges, no bytes "
          "(%s)" % r.describe())

    # the 1 TB 200 answer
    r = T.ckptfs("cat", u + "/huge/model.ckpt", "a", timeout=60)
    check(r.rc == 0 and r.out == a, "200 with a 1 TB body: cat a (offset 0) still gives a's bytes "
          "(%s)" % r.describe())
    before = srv.sent.get("huge", 0)
    r, dt = timed("cat", u + "/huge/model.ckpt", "b")
    # Counted once the server has stopped sending (it writes until the client has gone).
    T.wait_until(lambda: not srv.active.get("huge"), 30, "the 1 TB answer's end")
    sent = srv.sent.get("huge", 0) - before
    check(r.rc == 7 and dt < 10 and sent < (64 << 20) and "Range" in r.err,
          "200 with a 1 TB body to a range at 17 MiB: cat b exits 7 in %.1f s after %d MiB sent "
          "(%s)" % (dt, sent >> 20, r.describe()))

    # gzip
    r, dt = timed("ls", u + "/gzip/model.ckpt")
    check(r.rc == 7 and "Content-Encoding: gzip" in r.err and "162 bytes" not in r.err,
          "gzip-encoded answers: ls exits 7 naming the encoding (%s)" % r.describe())

    # finding 3 for the command: the index dripped at 2 B/s
    r, dt = timed("--net-timeout", "3", "ls", u + "/dripindex/model.ckpt", timeout=120)
    check(r.rc == 7 and dt < 10, "index dripped at 2 B/s, --net-timeout 3: ls exits 7 in %.1f s "
          "(%s)" % (dt, r.describe()))
    r = T.ckptfs("--net-timeout", "0", "ls", u + "/ok/model.ckpt")
    check(r.rc == 1 and "net-timeout" in r.err, "--net-timeout 0 is a usage error (%s)" % r.describe())

    # finding 4 for the command
    au = "http://alice:%s@127.0.0.1:%d" % (PASSWORD, srv.port)
    r = T.ckptfs("ls", "-l", au + "/auth/model.ckpt")
    check(r.rc == 0 and [x.name for x in T.parse_ls(r.out)] == [b"a", b"b"],
          "a password in the URL is sent: ls through Basic auth lists a and b (%s)" % r.describe())
    r = T.ckptfs("ls", "http://alice:wrong@127.0.0.1:%d/auth/model.ckpt" % srv.port)
    check(r.rc == 2 and "wrong" not in r.err, "a wrong password: exit 2, not shown (%s)" % r.describe())
    for args in (["ls", au + "/auth/nope/model.ckpt"], ["cat", au + "/auth/model.ckpt", "nope"],
                 ["verify", au + "/auth/nope/"], ["graph", au + "/auth/model.ckpt"],
                 ["diff", au + "/auth/model.ckpt", au + "/auth/nope/model.ckpt"]):
        r = T.ckptfs(*args)
        check(r.rc != 0 and PASSWORD not in r.err and "alice@127.0.0.1" in r.err,
              "`ckptfs %s` with a password in the URL: its message names alice@host, never the "
              "password (%s)" % (args[0], r.describe().replace(PASSWORD, "<PASSWORD>")))


def mount(src, mnt, *opts, foreground_log=None):
    args = [T.ckptfs_path(), "mount", src, mnt]
    for o in opts:
        args += ["-o", o]
    if foreground_log is not None:
        return subprocess.Popen(args + ["-f"], env=R.mount_env(), stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=foreground_log)
    p = subprocess.run(args, env=R.mount_env(), stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    return T.Result(args, p.returncode, p.stdout, p.stderr.decode("utf-8", "replace"))


def daemon_pids(mnt):
    out = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                cmd = f.read()
        except OSError:
            continue
        if mnt.encode() in cmd and b"mount" in cmd:
            out.append((int(pid), cmd))
    return out


def wait_gone(pids, limit):
    end = time.monotonic() + limit
    while time.monotonic() < end:
        if not any(os.path.exists("/proc/%d" % p) for p in pids):
            return True
        time.sleep(0.1)
    return False


def mounted(mnt):
    with open("/proc/mounts") as f:
        return [l for l in f.read().splitlines() if (" %s " % mnt) in l]


def check_mounts(srv, a, b, mnt, work):
    u = srv.url
    # finding 2 under a mount: pread at 5 MiB
    r = mount(u + "/wrongrange/model.ckpt", mnt, "verify=off")
    check(r.rc == 0, "mount of the wrongrange server (%s)" % r.describe())
    if r.rc == 0:
        e, got = None, None
        try:
            fd = os.open(os.path.join(mnt, "a"), os.O_RDONLY)
            try:
                got = os.pread(fd, 80, 5 << 20)
            finally:
                os.close(fd)
        except OSError as x:
            e = x.errno
        check(e == errno.EIO and got is None, "206 for bytes 0-...: pread(80, 5 MiB) of a fails "
              "with EIO, not the bytes at 0 (%s, %r)" % (e, got[:8] if got else got))
        R.unmount(mnt)

    # finding 3 under a mount: a read, then a lazy unmount while a reader waits
    r = mount(u + "/drip/model.ckpt", mnt, "net_timeout=3")
    check(r.rc == 0, "mount of the dripping server (%s)" % r.describe())
    if r.rc == 0:
        t0, e = time.monotonic(), None
        try:
            with open(os.path.join(mnt, "b"), "rb") as f:
                f.read()
        except OSError as x:
            e = x.errno
        dt = time.monotonic() - t0
        check(e == errno.EIO and dt < 10, "shard dripped at 2 B/s, net_timeout=3: a read fails "
              "with EIO in %.1f s (%s)" % (dt, e))
        R.unmount(mnt)

    # ... and a daemon unmounted while a request hangs exits at once, not when its 30 s are
    # up: the reader is killed mid-read (so nothing holds the mount), then a plain unmount.
    r = mount(u + "/drip/model.ckpt", mnt, "net_timeout=30")
    check(r.rc == 0, "mount of the dripping server, net_timeout=30 (%s)" % r.describe())
    if r.rc == 0:
        pids = [p for p, _ in daemon_pids(mnt)]
        drips = srv.drips
        rd = subprocess.Popen([sys.executable, "-c",
                               "import sys; f = open(sys.argv[1], 'rb'); f.seek(9 << 20); "
                               "f.read(4096)", os.path.join(mnt, "a")])
        # Killed once its read hangs in the daemon: the server has begun dripping an answer.
        check(T.wait_until(lambda: srv.drips > drips, 30, "the reader's request at the server"),
              "the reader's read reached the dripping server (so it hangs in the daemon)")
        rd.kill()
        rd.wait(30)
        t0 = time.monotonic()
        un = subprocess.run(["fusermount3", "-u", mnt], capture_output=True)
        gone = wait_gone(pids, 10)
        dt = time.monotonic() - t0
        check(un.returncode == 0 and pids and gone and dt < 8,
              "unmounted while a request to the dripping server hangs (net_timeout=30): the "
              "daemon exits in %.1f s (pids %s, %s)" % (dt, pids, un.stderr.decode().strip()))
        if not gone:
            for p in pids:
                try:
                    os.kill(p, 9)
                except OSError:
                    pass
            R.unmount(mnt)

    # finding 4 under a mount
    au = "http://alice:%s@127.0.0.1:%d/auth/model.ckpt" % (PASSWORD, srv.port)
    log_path = os.path.join(work, "daemon.log")
    with open(log_path, "wb") as log:
        p = mount(au, mnt, "allow_other", foreground_log=log)
        end = time.monotonic() + 30
        while time.monotonic() < end and not mounted(mnt) and p.poll() is None:
            time.sleep(0.1)
        try:
            lines = mounted(mnt)
            check(len(lines) == 1 and PASSWORD not in lines[0] and "alice@127.0.0.1" in lines[0],
                  "/proc/mounts names the source without the password: %s" %
                  (lines[0].split()[0] if lines else "not mounted").replace(PASSWORD, "<PASSWORD>"))
            if lines:
                with open(os.path.join(mnt, "b"), "rb") as f:
                    check(f.read() == b, "the mount reads b through Basic auth")
                pref = os.getxattr(mnt, "user.ckpt.prefix").decode("utf-8", "replace")
                check(PASSWORD not in pref and pref.endswith("/auth/model.ckpt"),
                      "the root xattr user.ckpt.prefix has no password: %s" % pref.replace(PASSWORD, "<PASSWORD>"))
                with open("/proc/%d/cmdline" % p.pid, "rb") as f:
                    cmd = f.read()
                check(PASSWORD.encode() not in cmd and b"alice:" in cmd,
                      "the daemon's /proc/PID/cmdline has the password starred out: %r" % cmd.split(b"\0")[2])
                # a failing read logs its URL: delete nothing, ask for a tensor past the end
                srv_root_shard = os.path.join(work, "root", "model.ckpt.data-00000-of-00001")
                os.rename(srv_root_shard, srv_root_shard + ".away")
                try:
                    with open(os.path.join(mnt, "a"), "rb") as f:
                        f.seek(12 << 20)
                        f.read(4096)
                except OSError:
                    pass
                os.rename(srv_root_shard + ".away", srv_root_shard)
        finally:
            R.unmount(mnt)
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
    with open(log_path, "rb") as f:
        log = f.read().decode("utf-8", "replace")
    check(PASSWORD not in log and "alice@127.0.0.1" in log,
          "the daemon's log lines name alice@host, never the password (%d bytes: %s)" %
          (len(log), log.strip().replace(PASSWORD, "<PASSWORD>")[-300:]))


def main():
    T.ckptfs_path()
    work = tempfile.mkdtemp(prefix="ckpt-remote-hostile-")
    srv = None
    try:
        a, b = write_ckpt(os.path.join(work, "root"))
        srv = Hostile(os.path.join(work, "root"))
        check_cli(srv, a, b)
        if not R.fuse_usable() or os.geteuid() != 0:
            R.T.missing("FUSE", "no usable FUSE as root: the mount parts", whole=False)
        else:
            mnt = os.path.join(work, "mnt")
            os.mkdir(mnt)
            check_mounts(srv, a, b, mnt, work)
    finally:
        if srv:
            srv.close()
        subprocess.run(["rm", "-rf", work])
    return R.verdict()


if __name__ == "__main__":
    sys.exit(main())
