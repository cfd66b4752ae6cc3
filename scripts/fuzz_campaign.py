#!/usr/bin/env python3
"""A fuzz campaign counted in CPU time: run the libFuzzer targets until each has spent SECONDS of
CPU (user + sys) in total, over as many runs as it takes. See docs/fuzzing.md.

    python3 scripts/fuzz_campaign.py 3600                 # an hour of CPU for every target
    python3 scripts/fuzz_campaign.py 3600 -j 2 table v1   # two targets at a time
    python3 scripts/fuzz_campaign.py --report             # the table so far, nothing run
    python3 scripts/fuzz_campaign.py --merge              # keep what grew coverage

Wall time is a poor measure on a shared machine (a fuzzer at nice 19 beside a build gets a
fraction of a core), so each run's CPU is what counts. OUT (default /var/tmp/ckptfs-fuzz) keeps,
per target, the growing corpus (seeded from every committed input: tests/fuzz/corpus, grown and
regressions), crashes/, and a log.STAMP and time.STAMP per run. The time file is rewritten
every minute while the run goes, so a campaign killed with its machine loses at most a minute;
a new invocation goes on from the totals. The least-fuzzed targets go first; fuzzers run at nice 19. SIGTERM or ^C stops
them cleanly.
Exit 0 when no target found anything.
"""
import argparse
import glob
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
TICK = os.sysconf("SC_CLK_TCK")
MERGE_MAX = 8 << 10  # grown/ is committed and replayed by every build: small inputs only
TIME_RE = re.compile(r"cpu ([\d.]+) user ([\d.]+) sys")


def targets_in_tree():
    return sorted(os.path.basename(p)[5:-2] for p in glob.glob(ROOT + "/tests/fuzz/fuzz_*.c")
                  if not p.endswith("fuzz_util.c"))


def run_cpu(tfile):
    """CPU seconds a run's time file records, or None (no file, or killed before it wrote)."""
    try:
        with open(tfile) as fh:
            m = TIME_RE.search(fh.read())
    except OSError:
        return None
    return float(m.group(1)) + float(m.group(2)) if m else None


def spent(d):
    """CPU seconds of every run of the target whose folder is d."""
    return sum(run_cpu(f) or 0.0 for f in glob.glob(d + "/time.*"))


def log_figures(d):
    """(executions, newest coverage) of the target's runs. Executions count only for runs whose
    CPU is counted: a run that ended reports them in its final stats, one that was killed in its
    last status line."""
    execs, cov, newest = 0, None, -1
    for f in glob.glob(d + "/log.*"):
        stamp = f.rsplit(".", 1)[1]
        with open(f, errors="replace") as fh:
            text = fh.read()
        covs = re.findall(r"cov: (\d+)", text)
        if covs and int(stamp) > newest:
            cov, newest = int(covs[-1]), int(stamp)
        if run_cpu("%s/time.%s" % (d, stamp)) is None:
            continue
        m = re.search(r"stat::number_of_executed_units: *(\d+)", text)
        lines = re.findall(r"^#(\d+)\s", text, re.M)
        execs += int(m.group(1)) if m else (int(lines[-1]) if lines else 0)
    return execs, cov


def cpu_of(pid):
    """(user, sys) CPU seconds of a running process, or None once it is gone."""
    try:
        with open("/proc/%d/stat" % pid) as fh:
            f = fh.read().rsplit(")", 1)[1].split()
        return int(f[11]) / TICK, int(f[12]) / TICK
    except (OSError, IndexError):
        return None


def write_time(path, user, sys_):
    with open(path + ".tmp", "w") as fh:
        fh.write("cpu %.2f user %.2f sys\n" % (user, sys_))
    os.replace(path + ".tmp", path)


def run_one(a, t, stop):
    """One run of target t until its total reaches the goal or stop is set."""
    d = os.path.join(a.out, t)
    os.makedirs(d + "/crashes", exist_ok=True)
    if not os.path.isdir(d + "/corpus"):
        os.makedirs(d + "/corpus")
        for f in stored_inputs(t):
            shutil.copy(f, d + "/corpus")
    need = a.seconds - spent(d)
    if need <= 5:
        return
    stamp = int(time.time())
    tfile = "%s/time.%d" % (d, stamp)
    cmd = [os.path.join(a.build, "fuzz_" + t), d + "/corpus", "-max_total_time=10000000",
           "-timeout=10", "-rss_limit_mb=2048", "-malloc_limit_mb=1024",
           "-artifact_prefix=%s/crashes/" % d, "-print_final_stats=1"]
    with open("%s/log.%d" % (d, stamp), "w") as log:
        p = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    os.setpriority(os.PRIO_PROCESS, p.pid, 19)
    last_write, interrupted = 0.0, False
    while True:
        pid, status, ru = os.wait4(p.pid, os.WNOHANG)
        if pid:
            break
        time.sleep(2)
        now = cpu_of(p.pid)
        if now is None:
            continue
        if time.monotonic() - last_write >= 60:
            write_time(tfile, *now)
            last_write = time.monotonic()
        if (sum(now) >= need or stop.is_set()) and not interrupted:
            # libFuzzer prints its final stats on SIGINT. Not p.send_signal: it polls first,
            # and a reaped child leaves wait4 above nothing to wait for.
            os.kill(p.pid, signal.SIGINT)
            interrupted = True
    write_time(tfile, ru.ru_utime, ru.ru_stime)
    rc = os.waitstatus_to_exitcode(status)
    # A ^C at the terminal reaches libFuzzer too, before this loop sends its own SIGINT.
    if rc == 72 and (interrupted or stop.is_set()):
        how = "stopped"
    else:
        how = "FOUND something (exit %d), see %s" % (rc, d)
    print("%s: run %s, %.0f CPU s in all" % (t, how, spent(d)), flush=True)


def stored_inputs(t):
    """The committed inputs of t: the seeds, what earlier campaigns grew, and the regressions."""
    return [f for sub in ("corpus", "grown", "regressions")
            for f in glob.glob("%s/tests/fuzz/%s/%s/*" % (ROOT, sub, t))]


def merge(a, t):
    """Add to tests/fuzz/grown/t the campaign's inputs of at most MERGE_MAX bytes that reach
    coverage the committed inputs do not (libFuzzer's -merge=1 over a copy of them)."""
    d = os.path.join(a.out, t)
    if not os.path.isdir(d + "/corpus"):
        return
    with tempfile.TemporaryDirectory() as tmp:
        have, small = tmp + "/have", tmp + "/small"
        os.makedirs(have)
        os.makedirs(small)
        for f in stored_inputs(t):
            shutil.copy(f, have)
        before = set(os.listdir(have))
        for f in glob.glob(d + "/corpus/*"):
            if os.path.getsize(f) <= MERGE_MAX:
                shutil.copy(f, small)
        subprocess.run([os.path.join(a.build, "fuzz_" + t), "-merge=1", have, small],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        added = sorted(set(os.listdir(have)) - before)
        dest = "%s/tests/fuzz/grown/%s" % (ROOT, t)
        os.makedirs(dest, exist_ok=True)
        for f in added:
            shutil.copy(os.path.join(have, f), dest)
        print("%s: %d inputs added to tests/fuzz/grown/%s" % (t, len(added), t))


def report(a, targets):
    print("| target | CPU s | executions | cov (edges) | findings |")
    print("|---|---|---|---|---|")
    total, found = 0.0, 0
    for t in targets:
        d = os.path.join(a.out, t)
        cpu = spent(d)
        execs, cov = log_figures(d)
        n = len(os.listdir(d + "/crashes")) if os.path.isdir(d + "/crashes") else 0
        total, found = total + cpu, found + n
        print("| %s | %.0f | %.1f M | %s | %d |" % (t, cpu, execs / 1e6, cov, n))
    print("| all | %.0f (%.2f CPU-hours) | | | %d |" % (total, total / 3600, found))
    return found


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("seconds", type=float, nargs="?", default=3600, help="CPU s per target")
    ap.add_argument("targets", nargs="*", help="default: every tests/fuzz/fuzz_*.c")
    ap.add_argument("-j", "--jobs", type=int, default=1, help="targets run at a time")
    ap.add_argument("--report", action="store_true", help="print the table, run nothing")
    ap.add_argument("--merge", action="store_true",
                    help="run nothing; add the inputs that grew coverage to tests/fuzz/grown")
    ap.add_argument("--out", default=os.environ.get("OUT", "/var/tmp/ckptfs-fuzz"))
    ap.add_argument("--build", default=os.environ.get("FUZZ_BUILD_DIR", ROOT + "/build-fuzz"))
    a = ap.parse_args()
    targets = a.targets or targets_in_tree()
    if a.merge:
        for t in targets:
            merge(a, t)
        return 0
    if not a.report:
        stop = threading.Event()
        for s in (signal.SIGTERM, signal.SIGINT):
            signal.signal(s, lambda *_: stop.set())
        queue = sorted(targets, key=lambda t: spent(os.path.join(a.out, t)))
        lock = threading.Lock()

        def worker():
            while not stop.is_set():
                with lock:
                    if not queue:
                        return
                    t = queue.pop(0)
                run_one(a, t, stop)

        threads = [threading.Thread(target=worker) for _ in range(max(1, a.jobs))]
        for th in threads:
            th.start()
        while any(th.is_alive() for th in threads):
            time.sleep(1)  # the main thread stays free to take the signals
    return 1 if report(a, targets) else 0


if __name__ == "__main__":
    sys.exit(main())
