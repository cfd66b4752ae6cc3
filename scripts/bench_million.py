#!/usr/bin/env python3
"""Time `ckptfs mount` and `ckptfs ls` on large indexes: 1,000,000 scalar variables and 100k.

Run by hand (root: it mounts), not in CI. The checkpoints come from scripts/synthckpt.py and
are kept in --work between runs (making the 1M one takes ~10 s). For each checkpoint, --runs
times, alternating:
  - mount: a fresh mountpoint, `ckptfs mount PREFIX MNT` (daemon mode), the wall time until the
    command returns; the CPU time (user + sys, from wait4) of that command, which does all the
    parsing and the tree building before it forks; the daemon's VmHWM and VmRSS right after;
    then unmount;
  - ls: `ckptfs ls PREFIX >/dev/null`, wall time, CPU time and peak RSS (it opens the same
    index but builds no tree);
  - with perf(1) present, the task-clock of one more mount under `perf stat` (it counts the
    daemon too, until the command returns).
Prints medians (and min..max) and the load average before and after.

    python3 scripts/bench_million.py [--runs 7] [--ckptfs build/ckptfs] [--drop-caches]
                                     [--only 1m|100k] [--work /tmp/ckptfs-bench-million]
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "bench"))
from run import drop_caches, machine, pids_with_arg, umount  # noqa: E402  (one copy of each helper: scripts/bench/run.py)

# (label, synthckpt arguments)
CASES = [
    ("1m", ["--vars", "1000000", "--scalar"]),
    ("100k", ["--vars", "100000", "--elems", "16"]),
    # TF 2 keys and an object graph: visible paths, by_name/ and full names at mount.
    ("1m-tf2", ["--vars", "1000000", "--scalar", "--tf2"]),
    ("100k-tf2", ["--vars", "100000", "--elems", "16", "--tf2"]),
]


def make_checkpoint(work, label, args):
    prefix = os.path.join(work, label, "model.ckpt")
    if not os.path.exists(prefix + ".index"):
        subprocess.run([sys.executable, os.path.join(HERE, "synthckpt.py"), prefix] + args,
                       check=True)
    return prefix


def run_timed(cmd, stdout=subprocess.DEVNULL):
    """(wall seconds, cpu seconds, peak RSS KiB, exit status) of cmd, from wait4."""
    t = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=stdout)
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t
    p.returncode = status  # already reaped: keep Popen from waiting again
    return wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss, status


def daemon_pid(mnt):
    """The ckptfs daemon serving mnt: the process whose arguments name that mountpoint."""
    pids = pids_with_arg(mnt, "ckptfs")
    return pids[0] if pids else None


def status_kib(pid, key):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def one_mount(ckptfs, prefix, base, i, drop):
    mnt = os.path.join(base, "mnt%d" % i)
    os.makedirs(mnt)
    if drop:
        drop_caches()
    wall, cpu, _, status = run_timed([ckptfs, "mount", prefix, mnt])
    if status != 0:
        raise SystemExit("mount failed with status %d" % status)
    pid = daemon_pid(mnt)
    hwm = status_kib(pid, "VmHWM") if pid else 0
    rss = status_kib(pid, "VmRSS") if pid else 0
    umount(mnt)
    os.rmdir(mnt)
    return wall, cpu, hwm, rss


def perf_task_clock(ckptfs, prefix, base, i):
    """task-clock (ms) of one mount under perf stat, or None when perf does not work here."""
    mnt = os.path.join(base, "pmnt%d" % i)
    os.makedirs(mnt)
    out = os.path.join(base, "perf.txt")
    r = subprocess.run(["perf", "stat", "-x", ",", "-o", out, "-e", "task-clock", "--",
                        ckptfs, "mount", prefix, mnt], stderr=subprocess.DEVNULL)
    umount(mnt)
    os.rmdir(mnt)
    if r.returncode != 0:
        return None
    with open(out) as f:
        for line in f:
            parts = line.split(",")
            if len(parts) > 2 and parts[2].startswith("task-clock"):
                try:
                    return float(parts[0])
                except ValueError:
                    return None
    return None


def fmt(xs, scale=1.0, unit=""):
    xs = [x * scale for x in xs if x is not None]
    if not xs:
        return "n/a"
    return "%.3f%s (%.3f..%.3f)" % (statistics.median(xs), unit, min(xs), max(xs))


def bench(ckptfs, label, prefix, runs, drop, use_perf):
    base = tempfile.mkdtemp(prefix="ckptfs-million.")
    m_wall, m_cpu, m_hwm, m_rss, l_wall, l_cpu, l_rss, tclk = ([] for _ in range(8))
    try:
        for i in range(runs):
            w, c, h, r = one_mount(ckptfs, prefix, base, i, drop)
            m_wall.append(w), m_cpu.append(c), m_hwm.append(h), m_rss.append(r)
            if drop:
                drop_caches()
            w, c, r, status = run_timed([ckptfs, "ls", prefix])
            if status != 0:
                raise SystemExit("ls failed with status %d" % status)
            l_wall.append(w), l_cpu.append(c), l_rss.append(r)
            if use_perf:
                tclk.append(perf_task_clock(ckptfs, prefix, base, i))
    finally:
        shutil.rmtree(base, ignore_errors=True)
    size = os.path.getsize(prefix + ".index") / 1e6
    print("%s: %s (.index %.1f MB), %d runs, median (min..max)" % (label, prefix, size, runs))
    print("  mount wall      %s" % fmt(m_wall, 1, " s"))
    print("  mount cpu       %s" % fmt(m_cpu, 1, " s"))
    if use_perf:
        print("  mount task-clock %s" % fmt(tclk, 1e-3, " s"))
    print("  daemon VmHWM    %s" % fmt(m_hwm, 1 / 1024, " MiB"))
    print("  daemon VmRSS    %s" % fmt(m_rss, 1 / 1024, " MiB"))
    print("  ls wall         %s" % fmt(l_wall, 1, " s"))
    print("  ls cpu          %s" % fmt(l_cpu, 1, " s"))
    print("  ls peak RSS     %s" % fmt(l_rss, 1 / 1024, " MiB"))


def machine_text():
    m = machine()
    return "%d cores, %s, %.1f GiB RAM" % (m["nproc"], m["cpu"], m["ram_mib"] / 1024)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--ckptfs", default=os.path.join(HERE, "..", "build", "ckptfs"))
    ap.add_argument("--work", default=os.path.join(tempfile.gettempdir(), "ckptfs-bench-million"))
    ap.add_argument("--drop-caches", action="store_true",
                    help="drop the page cache before every mount and ls (cold index reads)")
    ap.add_argument("--only", choices=[c[0] for c in CASES])
    ap.add_argument("--no-perf", action="store_true", help="skip the perf stat runs")
    a = ap.parse_args()
    ckptfs = os.path.abspath(a.ckptfs)
    use_perf = not a.no_perf and shutil.which("perf") is not None
    print("machine: %s; load average before: %s" % (machine_text(), os.getloadavg()))
    for label, args in CASES:
        if a.only and label != a.only:
            continue
        prefix = make_checkpoint(a.work, label, args)
        bench(ckptfs, label, prefix, a.runs, a.drop_caches, use_perf)
    print("load average after: %s" % (os.getloadavg(),))


if __name__ == "__main__":
    main()
