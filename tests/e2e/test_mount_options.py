#!/usr/bin/env python3
"""Mount behaviour of issue 12: -o timeout (idle unmount), -d (every request printed), missing
data shards (mounted, EIO and a log line naming the variable), syslog of a daemonized mount.

Truth: /proc/mounts, the daemon's process, errno, the log lines' text as documented in
docs/mount.md, the fixture's manifest for the bytes.
"""
import errno
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_mount as tm  # noqa: E402

check = tm.check
SAMPLE = os.path.join(tm.FIXTURES, "sample", "model.ckpt")
SHARDED = os.path.join(tm.FIXTURES, "sharded")


def wait_until(cond, secs):
    return tm.testlib().wait_until(cond, secs)


def case_timeout(tmp):
    mnt = tempfile.mkdtemp(dir=tmp)
    r = subprocess.run([tm.MOUNT, SAMPLE, mnt, "-o", "timeout=2"], capture_output=True)
    check(r.returncode == 0 and tm.is_mounted(mnt), "timeout=2 mounts: %r" % r.stderr)
    # Requests keep it alive (an open always reaches the daemon; listings may be cached). The
    # sleep is the point here: it spaces the requests, each well inside the 2 s timeout.
    for _ in range(6):
        with open(os.path.join(mnt, "global_step"), "rb"):
            pass
        time.sleep(0.5)
    check(tm.is_mounted(mnt), "timeout=2: still mounted while used every 0.5 s")
    t0 = time.time()
    gone = wait_until(lambda: not tm.is_mounted(mnt), 8)
    check(gone and time.time() - t0 >= 1.5, "timeout=2: unmounted %.1f s after the last request"
          % (time.time() - t0))
    tm.wait_no_daemon(mnt, "timeout")
    # An open file keeps it, however long it is idle; closing it lets it go. How long is long
    # enough is a control's business, not a fixed sleep's: a second timeout=1 mount made after
    # the file was opened, with nothing open, goes idle later than the first did; once it has
    # unmounted itself, the first would have too, but for the open file.
    r = subprocess.run([tm.MOUNT, SAMPLE, mnt, "-o", "timeout=1"], capture_output=True)
    check(r.returncode == 0 and tm.is_mounted(mnt), "timeout=1 mounts: %d %r"
          % (r.returncode, r.stderr))
    f = open(os.path.join(mnt, "global_step"), "rb")
    control = tempfile.mkdtemp(dir=tmp)
    r = subprocess.run([tm.MOUNT, SAMPLE, control, "-o", "timeout=1"], capture_output=True)
    check(r.returncode == 0 and tm.is_mounted(control), "timeout=1 control mounts: %d %r"
          % (r.returncode, r.stderr))
    check(wait_until(lambda: not tm.is_mounted(control), 10),
          "timeout=1: the control mount, nothing open, did not unmount itself")
    tm.wait_no_daemon(control, "timeout control")
    check(tm.is_mounted(mnt), "timeout=1: stays mounted while a file is open")
    f.close()
    check(wait_until(lambda: not tm.is_mounted(mnt), 6), "timeout=1: unmounted once closed")
    tm.unmount(mnt)
    # The documented log line (docs/mount.md, `timeout=`), on stderr in the foreground; the
    # daemon's own exit is the condition waited for.
    p = subprocess.Popen([tm.CKPTFS, "mount", "-f", "-o", "timeout=1", SAMPLE, mnt],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _, err = p.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        tm.unmount(mnt)
        _, err = p.communicate()
    check(p.returncode == 0 and b"idle for 1 s (-o timeout): unmounting" in err
          and not tm.is_mounted(mnt), "timeout=1 -f: exit %s, log %r" % (p.returncode, err[-300:]))
    for bad in ("timeout=0", "timeout=abc", "timeout=", "timeout=99999999999"):
        r = subprocess.run([tm.MOUNT, SAMPLE, mnt, "-o", bad], capture_output=True)
        check(r.returncode == tm.EXIT_USAGE and b"timeout" in r.stderr and not tm.is_mounted(mnt),
              "-o %s refused with exit 1: %d %r" % (bad, r.returncode, r.stderr))
        tm.unmount(mnt)


def case_debug(tmp):
    mnt = tempfile.mkdtemp(dir=tmp)
    p = subprocess.Popen([tm.CKPTFS, "mount", "-d", SAMPLE, mnt], stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE)
    try:
        check(wait_until(lambda: tm.is_mounted(mnt), 10), "-d: mounted in the foreground")
        os.stat(os.path.join(mnt, "global_step.shape"))
        with open(os.path.join(mnt, "global_step"), "rb") as f:
            f.read()
    finally:
        tm.unmount(mnt)
        try:
            _, err = p.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()
            _, err = p.communicate()
    for op in (b"INIT", b"LOOKUP", b"OPEN", b"READ", b"RELEASE"):
        check(b"opcode: " + op in err, "-d prints every request: no %s in %r" % (op, err[-400:]))


def partial_copy(tmp):
    d = os.path.join(tmp, "partial")
    shutil.copytree(SHARDED, d)
    os.unlink(os.path.join(d, "model.ckpt.data-00001-of-00002"))
    rows = tm.subprocess.run([tm.CKPTFS, "ls", "-l", os.path.join(d, "model.ckpt")],
                             capture_output=True).stdout.split(b"\n")[1:-1]
    on1 = [r.split(b"\t")[0] for r in rows if r.split(b"\t")[4] == b"1"]
    on0 = [r.split(b"\t")[0] for r in rows if r.split(b"\t")[4] == b"0"]
    return os.path.join(d, "model.ckpt"), on0, on1


def case_missing_shard_foreground(tmp):
    src, on0, on1 = partial_copy(tmp)
    mnt = tempfile.mkdtemp(dir=tmp)
    p = subprocess.Popen([tm.CKPTFS, "mount", "-f", src, mnt], stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE)
    try:
        check(wait_until(lambda: tm.is_mounted(mnt), 10), "missing shard: mounted with -f")
        with open(os.path.join(os.fsencode(mnt), on0[0]), "rb") as f:
            check(len(f.read()) > 0, "a variable of the present shard reads")
        try:
            with open(os.path.join(os.fsencode(mnt), on1[0]), "rb") as f:
                f.read()
            check(False, "a variable of the missing shard must fail")
        except OSError as e:
            check(e.errno == errno.EIO, "missing shard read gives EIO, got %s" % e)
    finally:
        tm.unmount(mnt)
        _, err = p.communicate(timeout=20)
    check(b"data-00001-of-00002" in err and on1[0] in err,
          "the log line names the variable and the missing file: %r" % err[-500:])


def private_syslog(tmp, what):
    """(namespace, socket): a private mount namespace (ckpt_testlib.MountNamespace) whose
    /dev/log is a datagram socket of this test's own, so that the only lines on it come from
    what runs in that namespace: under ctest -j the other tests' daemons log elsewhere, and no
    logger of the machine is touched. (None, None), noting why `what` is left out, where no
    private namespace can be made (not root)."""
    T = tm.testlib()
    why = T.MountNamespace.usable()
    if why:
        T.skip_part("%s: no private mount namespace for a /dev/log of the test's own: %s"
                    % (what, why))
        return None, None
    d = tempfile.mkdtemp(dir=tmp)
    os.mkdir(os.path.join(d, "dev"))
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(os.path.join(d, "log.sock"))
    ns = T.MountNamespace()
    try:
        ns.private_dev(os.path.join(d, "dev"))
        ns.bind_file(os.path.join(d, "log.sock"), "/dev/log")
    except Exception:
        ns.close()
        sock.close()
        raise
    return ns, sock


# Run in the namespace: read the file named, print the errno's name (or OK and the length).
READ_ERRNO = ("import errno,sys\ntry:\n    print('OK', len(open(sys.argv[1],'rb').read()))\n"
              "except OSError as e:\n    print(errno.errorcode[e.errno])\n")


def case_syslog(tmp):
    """A daemonized mount logs to syslog: caught on the /dev/log of a private mount namespace,
    a socket of the test's own, where the mount is made and read."""
    ns, sock = private_syslog(os.path.join(tmp, "sys"), "syslog check")
    if ns is None:
        return
    # Drain the socket all along: the daemon must never wait for a logger (fs/logger.h); nor
    # should this test lose lines.
    got = []
    stop = threading.Event()

    def drain():
        sock.settimeout(0.2)
        while not stop.is_set():
            try:
                got.append(sock.recv(65536))
            except socket.timeout:
                pass
            except OSError:
                return

    t = threading.Thread(target=drain, daemon=True)
    t.start()
    try:
        src, _, on1 = partial_copy(os.path.join(tmp, "sys"))
        mnt = tempfile.mkdtemp(dir=tmp)
        r = ns.run([tm.MOUNT, src, mnt])
        check(r.returncode == 0 and ns.is_mounted(mnt),
              "daemonized mount with a missing shard: %r" % r.stderr)
        pids = tm.daemon_pids(mnt)
        check(len(pids) == 1, "one daemon for the syslog mount: %s" % pids)
        tags = [b"ckptfs[%d]:" % p for p in pids]
        r = ns.run([sys.executable, "-c", READ_ERRNO, os.path.join(os.fsencode(mnt), on1[0])])
        check(r.stdout.strip() == b"EIO", "syslog mount: a variable of the missing shard gives "
              "%r, want EIO (%r)" % (r.stdout.strip(), r.stderr[-200:]))

        def ours():
            return [g for g in list(got) if on1[0] in g and any(t in g for t in tags)]
        tm.testlib().wait_until(ours, 10, "the daemon's syslog line")
        r = ns.run(["fusermount3", "-u", mnt])
        check(r.returncode == 0 and not ns.is_mounted(mnt), "syslog mount: unmount: %r" % r.stderr)
        tm.wait_no_daemon(mnt, "syslog mount")
        check(ours(), "syslog got this daemon's (%s) line naming the variable: %r"
              % (pids, got[-3:]))
        # The socket is the namespace's alone: every line on it is this mount's.
        others = [g for g in list(got) if not any(t in g for t in tags)]
        check(not others, "the private /dev/log got lines of another process: %r" % others[:3])
        print("syslog: %d line(s) on the private /dev/log, e.g. %r" % (len(got), got[:1]))
    finally:
        stop.set()
        t.join()
        ns.close()
        sock.close()


def case_syslog_stalled(tmp):
    """A logger that takes no lines (a socket bound at the namespace's /dev/log, never read:
    its queue fills) must not stall the daemon: 2,000 reads that each log a line all answer
    EIO promptly (lines are dropped)."""
    ns, sock = private_syslog(os.path.join(tmp, "stall"), "stalled-logger check")
    if ns is None:
        return
    try:
        src, _, on1 = partial_copy(os.path.join(tmp, "stall"))
        mnt = tempfile.mkdtemp(dir=tmp)
        r = ns.run([tm.MOUNT, src, mnt])
        check(r.returncode == 0 and ns.is_mounted(mnt),
              "daemonized mount with a missing shard: %r" % r.stderr)
        code = ("import errno,os,sys\nn = 0\nfor _ in range(2000):\n    try:\n"
                "        open(sys.argv[1],'rb').read()\n    except OSError as e:\n"
                "        n += e.errno == errno.EIO\nprint(n)\n")
        try:
            r = ns.run([sys.executable, "-c", code, os.path.join(os.fsencode(mnt), on1[0])],
                       timeout=60)
            check(r.stdout.strip() == b"2000", "stalled logger: %r of 2000 reads gave EIO (%r)"
                  % (r.stdout.strip(), r.stderr[-200:]))
        except subprocess.TimeoutExpired:
            check(False, "reads logging to a stalled logger hung the daemon")
        r = ns.run(["fusermount3", "-u", mnt])
        check(r.returncode == 0, "stalled logger: unmount: %r" % r.stderr)
        tm.wait_no_daemon(mnt, "stalled-logger mount")
    finally:
        ns.close()
        sock.close()


def main():
    tm.require_fuse()
    tmp = tempfile.mkdtemp(prefix="ckptfs-opts-")
    os.makedirs(os.path.join(tmp, "sys"))
    os.makedirs(os.path.join(tmp, "stall"))
    try:
        case_timeout(tmp)
        case_debug(tmp)
        case_missing_shard_foreground(tmp)
        case_syslog(tmp)
        case_syslog_stalled(tmp)
    finally:
        for line in open("/proc/mounts"):
            m = line.split()[1]
            if m.startswith(tmp):
                tm.unmount(m)
        shutil.rmtree(tmp, ignore_errors=True)
    print("%d failures" % len(tm.failures))
    return 1 if tm.failures else 0


if __name__ == "__main__":
    sys.exit(main())
