"""Servers the remote tests start on 127.0.0.1 and stop: nginx, moto's S3, and misbehaving ones.

Each server is a child process (or thread) of the test, on a free port, serving a temporary
copy of the fixtures; nothing outside the test's own temporary directory is touched.
"""
import http.server
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import ckpt_testlib as T  # noqa: E402


fails = []


def check(cond, what):
    """One check's verdict on stdout, and its truth; failures are counted for verdict()."""
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        fails.append(what)
    return bool(cond)


def verdict():
    """The exit status of a test: 0 when every check passed."""
    print("%d failed" % len(fails))
    return 1 if fails else 0


def _listening_inodes(port):
    """Socket inodes listening on 127.0.0.1/any address at TCP port, from /proc/net/tcp{,6}."""
    out = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                lines = f.read().splitlines()[1:]
        except OSError:
            continue
        for ln in lines:
            parts = ln.split()
            if len(parts) > 9 and parts[3] == "0A" and int(parts[1].rsplit(":", 1)[1], 16) == port:
                out.add(parts[9])
    return out


def _holds_socket(pid, inodes):
    try:
        fds = os.listdir("/proc/%d/fd" % pid)
    except OSError:
        return False
    for fd in fds:
        try:
            link = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            continue
        if link.startswith("socket:[") and link[8:-1] in inodes:
            return True
    return False


def wait_own_port(port, proc, timeout=30):
    """True once proc itself listens on port: its own listening socket, found through /proc,
    not whatever answers there (free_port's port may be taken by someone else before proc binds
    it). False when proc exits first (e.g. the port was taken) or after timeout seconds."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            return False
        if _holds_socket(proc.pid, _listening_inodes(port)):
            return True
        time.sleep(0.05)
    return False


def start_server(start, what, tries=5):
    """(proc, port) of a server start(port) launched on a free port, retried on another port
    when it exits before listening (the race of free_port: the port is closed before the server
    binds it); RuntimeError with start's stderr after `tries` attempts or a timeout."""
    err = ""
    for _ in range(tries):
        port = free_port()
        proc = start(port)
        if wait_own_port(port, proc):
            return proc, port
        alive = proc.poll() is None
        stop(proc)
        err = proc.stderr.read().decode("utf-8", "replace") if proc.stderr else ""
        if alive:
            break  # not listening after the timeout: no point in another port
    raise RuntimeError("%s did not start listening: %s" % (what, err.strip()[-1000:]))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port, proc=None, timeout=30):
    end = time.time() + timeout
    while time.time() < end:
        if proc is not None and proc.poll() is not None:
            return False
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            time.sleep(0.1)
    return False


def stop(proc):
    if proc and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class Nginx:
    """nginx serving root on a free port; its access log counts our requests."""

    def __init__(self, root, workdir):
        self.exe = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
        if not self.exe:
            T.missing("nginx", "not installed (scripts/deps.sh installs nginx-light)")
        self.dir = workdir
        self.log = os.path.join(workdir, "access.log")
        os.makedirs(os.path.join(workdir, "tmp"), exist_ok=True)
        conf = os.path.join(workdir, "nginx.conf")
        # The port is filled in by start(), which writes the config for each port tried.
        self.conf_text = """daemon off;
worker_processes 1;
pid %(d)s/nginx.pid;
error_log %(d)s/error.log;
events { worker_connections 256; }
http {
  access_log %(d)s/access.log;
  log_format timing '$msec $request_time $status $bytes_sent $uri';
  access_log %(d)s/timing.log timing;
  client_body_temp_path %(d)s/tmp;
  proxy_temp_path %(d)s/tmp;
  fastcgi_temp_path %(d)s/tmp;
  uwsgi_temp_path %(d)s/tmp;
  scgi_temp_path %(d)s/tmp;
  sendfile on;
  server {
    listen 127.0.0.1:%(p)d;
    root %(r)s;
    location /forbidden/ { return 403; }
  }
}
"""

        def start(port):
            with open(conf, "w") as f:
                f.write(self.conf_text % {"d": workdir, "p": port, "r": root})
            return subprocess.Popen([self.exe, "-c", conf, "-p", workdir],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        # nginx failing to start is an error of the test run, never a skip.
        self.proc, self.port = start_server(start, "nginx")
        self.url = "http://127.0.0.1:%d" % self.port

    def requests(self):
        """Lines of the access log so far."""
        try:
            with open(self.log) as f:
                return [l for l in f.read().splitlines() if l.strip()]
        except FileNotFoundError:
            return []

    def intervals(self):
        """(start, end, status, bytes, uri) of each completed request so far, in seconds since
        the epoch at nginx's millisecond resolution: end is when nginx logged it, start that
        minus its request time."""
        out = []
        try:
            with open(os.path.join(self.dir, "timing.log")) as f:
                for line in f:
                    p = line.split()
                    if len(p) == 5:
                        end = float(p[0])
                        out.append((end - float(p[1]), end, int(p[2]), int(p[3]), p[4]))
        except FileNotFoundError:
            pass
        return out

    def settled(self, quiet=1.0, limit=20.0):
        """The access log's lines once it has not grown for `quiet` seconds. nginx logs a
        request when it completes, and a read-ahead the daemon started for a reader may still
        be running when that reader's last read returns: counted straight away, its line can
        land in the next step's count instead."""
        lines, t_end = self.requests(), time.monotonic() + limit
        while time.monotonic() < t_end:
            time.sleep(quiet)
            now = self.requests()
            if len(now) == len(lines):
                break
            lines = now
        return lines

    def close(self):
        stop(self.proc)


def moto_command():
    """How to start moto's server here, or None."""
    exe = shutil.which("moto_server")
    if exe:
        return [exe]
    try:
        import moto.server  # noqa: F401
        return [sys.executable, "-m", "moto.server"]
    except ImportError:
        return None


class Moto:
    """moto's S3 (and IAM) server on a free port. no_auth: how many first requests it lets
    through unsigned before it checks every signature (None: it never checks)."""

    def __init__(self, no_auth=None):
        cmd = moto_command()
        if not cmd:
            T.missing("moto", "moto_server / moto.server not found; " + T.ORACLE_HINTS["moto"])
        env = dict(os.environ)
        if no_auth is not None:
            env["INITIAL_NO_AUTH_ACTION_COUNT"] = str(no_auth)
        log = tempfile.TemporaryFile()  # its request log is long: a file, not a pipe

        def start(port):
            log.seek(0)
            log.truncate()
            return subprocess.Popen(cmd + ["-H", "127.0.0.1", "-p", str(port)], env=env,
                                    stdout=subprocess.DEVNULL, stderr=log)
        try:
            self.proc, self.port = start_server(start, "moto_server")
        except RuntimeError as e:
            log.seek(0)
            raise RuntimeError("%s; its stderr: %s" % (
                e, log.read().decode("utf-8", "replace").strip()[-1000:])) from None
        self.url = "http://127.0.0.1:%d" % self.port

    def client(self, service, key="testing", secret="testing"):
        import boto3
        return boto3.client(service, endpoint_url=self.url, region_name="us-east-1",
                            aws_access_key_id=key, aws_secret_access_key=secret)

    def upload_tree(self, s3, bucket, root):
        s3.create_bucket(Bucket=bucket)
        for d, _, files in os.walk(root):
            for fn in files:
                p = os.path.join(d, fn)
                s3.upload_file(p, bucket, os.path.relpath(p, root))

    def close(self):
        stop(self.proc)


class SilentServer:
    """Accepts connections and never answers: the server that stops answering."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.url = "http://127.0.0.1:%d" % self.port
        self.conns = []
        self.done = False
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _run(self):
        self.sock.settimeout(0.2)
        while not self.done:
            try:
                c, _ = self.sock.accept()
                self.conns.append(c)
            except OSError:
                pass

    def close(self):
        self.done = True
        self.t.join()
        for c in self.conns:
            c.close()
        self.sock.close()


class StallingServer:
    """Serves files of root with Range support, but goes silent on paths containing stall:
    a server that dies after the mount."""

    def __init__(self, root, stall):
        outer = self

        class H(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                if stall in self.path:
                    with outer.lock:
                        outer.stalled += 1
                    while not outer.done:
                        time.sleep(0.1)
                    return
                p = os.path.join(root, self.path.lstrip("/"))
                if not os.path.isfile(p):
                    self.send_error(404)
                    return
                data = open(p, "rb").read()
                rng = self.headers.get("Range")
                if rng and rng.startswith("bytes="):
                    a, b = rng[6:].split("-")
                    a, b = int(a), min(int(b), len(data) - 1)
                    self.send_response(206)
                    self.send_header("Content-Range", "bytes %d-%d/%d" % (a, b, len(data)))
                    data = data[a:b + 1]
                else:
                    self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.send_header("ETag", '"%x"' % int(os.stat(p).st_mtime))
                self.end_headers()
                self.wfile.write(data)

        self.done = False
        self.stalled = 0  # requests held silent so far
        self.lock = threading.Lock()
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.httpd.daemon_threads = True
        self.url = "http://127.0.0.1:%d" % self.httpd.server_address[1]
        self.t = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.t.start()

    def close(self):
        self.done = True
        self.httpd.shutdown()
        self.httpd.server_close()


def mount_env(env=None):
    """The environment for `ckptfs mount`: its parent process exits right after the fork and
    leaves everything to the daemon (fs/mount.c), which a leak checker would report."""
    env = dict(os.environ if env is None else env)
    opts = env.get("ASAN_OPTIONS", "")
    env["ASAN_OPTIONS"] = (opts + ":" if opts else "") + "detect_leaks=0"
    return env


def fuse_usable():
    return os.path.exists("/dev/fuse") and (os.geteuid() == 0 or shutil.which("fusermount3"))


def unmount(mnt):
    for cmd in (["fusermount3", "-u", mnt], ["umount", mnt]):
        if shutil.which(cmd[0]) and subprocess.run(cmd, stderr=subprocess.DEVNULL).returncode == 0:
            return True
    return False


def case_sources(fixtures):
    """(case, relative source) for every fixture: the folder when it resolves alone over HTTP
    (a state file or a SavedModel), else its one prefix."""
    out = []
    for case in sorted(os.listdir(fixtures)):
        d = os.path.join(fixtures, case)
        if not os.path.isfile(os.path.join(d, "manifest.json")):
            for sub in sorted(os.listdir(d)) if os.path.isdir(d) else []:
                if os.path.isfile(os.path.join(d, sub, "saved_model.pb")):
                    out.append((case + "/" + sub, case + "/" + sub))
            continue
        if os.path.exists(os.path.join(d, "checkpoint")):
            out.append((case, case))
            continue
        idx = [f[:-6] for f in os.listdir(d) if f.endswith(".index")]
        if len(idx) == 1:
            out.append((case, case + "/" + idx[0]))
    return out
