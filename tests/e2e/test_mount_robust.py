#!/usr/bin/env python3
"""Hostile inputs and hard conditions on real FUSE mounts (docs/mount.md).

Truth comes from outside the daemon: TensorFlow's protobuf parser (which refuses messages
nested more than 100 deep), the fixtures' manifest.json (sha256 of each tensor's bytes as TF
read them), text_format of the .meta's GraphDef, /proc (mounts, limits, maps, fds), and the
escape rules of docs/mount.md re-implemented in test_mount.py.

- a saved_model.pb nesting StructuredValue / TensorInfo 100000 deep: the daemon lives, the
  files that need the nesting fail with EIO and a log line; a shallow one still reads; a
  SavedModel without signature_def renders signatures.txt (sanitizer builds: no UB);
- read=splice serves partitioned, V1 and .npy files (bytes = TF's) and fails a read of a shard
  truncated under the mount with EIO, like read=buf;
- a relative MOUNTPOINT: the daemon stopped by SIGTERM leaves no mount behind;
- the daemon's soft RLIMIT_NOFILE is its hard limit; running out of descriptors fails a
  folder's checkpoint and a graph file only until descriptors are back; one mapping of the
  .meta per checkpoint; rendered graph texts do not pin one descriptor each;
- a full $TMPDIR: graph files still render (next place), with TF's text;
- checkpoints named ".", ".." and "%p" in a folder: listed once each, escaped, reachable,
  `latest` pointing at the escaped name;
- a big string tensor rendering at open does not hold up opening another file.

Exit 0 pass, 1 fail, 77 skip.
"""
import errno
import hashlib
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_mount as tm  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import ckptwriter as cw  # noqa: E402

check = tm.check
SAMPLE = os.path.join(tm.FIXTURES, "sample")
SM_TF2 = os.path.join(tm.FIXTURES, "savedmodel", "tf2")


def tf_available():
    """TF in a child process; without it a SKIP-PART line (a failure in CI)."""
    return tm.testlib().tf_importable()


def errno_of(fn):
    try:
        fn()
        return 0
    except OSError as ex:
        return ex.errno


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


class FgMount:
    """A foreground mount (-f) whose stderr (the daemon's log) is kept."""

    def __init__(self, source, opts=(), env=None, what=None):
        self.source, self.opts, self.env = source, list(opts), env
        self.what = what or source

    def __enter__(self):
        self.mnt = tempfile.mkdtemp(prefix="ckptfs-mnt-")
        self.log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen([tm.MOUNT, self.source, self.mnt, "-f"] + self.opts,
                                     stdout=subprocess.DEVNULL, stderr=self.log, env=self.env)
        deadline = time.time() + 30
        while not tm.is_mounted(self.mnt) and time.time() < deadline and self.proc.poll() is None:
            time.sleep(0.02)
        if not tm.is_mounted(self.mnt):
            self.proc.kill()
            raise RuntimeError("%s: foreground mount failed: %s" % (self.what, self.text_log()))
        return self

    def text_log(self):
        self.log.seek(0)
        return self.log.read().decode(errors="replace")

    def alive(self):
        return self.proc.poll() is None

    def __exit__(self, *exc):
        tm.unmount(self.mnt)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        if not tm.is_mounted(self.mnt):
            os.rmdir(self.mnt)
        return False


# --- 1, 2: deeply nested / signature-less saved_model.pb ----------------------------------------

def fld(num, payload):
    return cw.field_bytes(num, payload)


def saved_model(signature_depth=0, object_depth=0, signatures=True):
    """A SavedModel (bytes) with one MetaGraphDef tagged "serve": a signature whose input
    TensorInfo nests composite_tensor.components signature_depth deep, and an object graph
    whose concrete function's input signature nests a StructuredValue list object_depth deep."""
    ti = fld(1, b"x:0")                          # TensorInfo.name
    for _ in range(signature_depth):
        ti = fld(5, fld(2, ti))                   # TensorInfo{composite_tensor{components: ti}}
    sig = fld(1, fld(1, b"x") + fld(2, ti)) + fld(3, b"tensorflow/serving/predict")
    sv = b""
    for _ in range(object_depth):
        sv = fld(51, fld(1, sv))                  # StructuredValue{list_value{values: sv}}
    conc = fld(3, sv)                             # SavedConcreteFunction.canonicalized_input_signature
    og = fld(2, fld(1, b"f") + fld(2, conc))      # SavedObjectGraph.concrete_functions["f"]
    mg = fld(1, fld(4, b"serve"))                 # meta_info_def.tags
    if signatures:
        mg += fld(5, fld(1, b"serving_default") + fld(2, sig))
    mg += fld(7, og)
    return b"\x08\x01" + fld(2, mg)


def tf_parses(path):
    """Whether TensorFlow's protobuf parser accepts the SavedModel at path."""
    code = ("import sys\nfrom tensorflow.core.protobuf import saved_model_pb2\n"
            "m = saved_model_pb2.SavedModel()\n"
            "try:\n    m.ParseFromString(open(sys.argv[1], 'rb').read())\nexcept Exception:\n"
            "    sys.exit(3)\n")
    r = subprocess.run([sys.executable, "-c", code, path], capture_output=True, timeout=300,
                       env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
    return r.returncode == 0


def make_sm(tmp, name, blob):
    d = os.path.join(tmp, name)
    shutil.copytree(os.path.join(SM_TF2, "variables"), os.path.join(d, "variables"))
    with open(os.path.join(d, "saved_model.pb"), "wb") as f:
        f.write(blob)
    return d


def check_deep_savedmodel(tmp, have_tf):
    manifest = json.load(open(os.path.join(SM_TF2, "manifest.json")))
    some = [v for v in manifest["variables"] if v["dtype"] not in ("string", "variant")][:3]
    cases = [
        ("deep objects", saved_model(signature_depth=1, object_depth=100000), False),
        ("deep signature", saved_model(signature_depth=100000, object_depth=1), False),
        ("shallow", saved_model(signature_depth=10, object_depth=10), True),
        ("no signature_def", saved_model(signatures=False, object_depth=2), True),
    ]
    for what, blob, readable in cases:
        d = make_sm(tmp, what.replace(" ", "_"), blob)
        if have_tf:
            check(tf_parses(os.path.join(d, "saved_model.pb")) == readable,
                  "%s: TF's parser %s it" % (what, "refuses" if readable else "accepts"))
        with FgMount(d, what=what) as m:
            r = subprocess.run(["ls", "-l", m.mnt], capture_output=True)
            # A request after ls's, answered only by a daemon that lived through them (the
            # kernel never caches statfs; a daemon that died aborted the connection before ls
            # returned, so this gets ENOTCONN): a round trip, not a fixed sleep.
            e = errno_of(lambda: os.statvfs(m.mnt))
            check(e == 0 and m.alive() and tm.is_mounted(m.mnt),
                  "%s: the daemon died during ls -l (statfs after it: %s): %s" %
                  (what, e and errno.errorcode[e], m.text_log()[-500:]))
            sigs = os.path.join(m.mnt, "signatures.txt")
            e = errno_of(lambda: open(sigs, "rb").read())
            if readable:
                check(e == 0, "%s: signatures.txt fails with %s" % (what, e and errno.errorcode[e]))
                if e == 0:
                    text = open(sigs).read()
                    check("MetaGraphDef with tag-set: 'serve' contains the following SignatureDefs:"
                          in text, "%s: signatures.txt lacks the tag-set line: %r" % (what, text[:200]))
                    check(("signature_def['serving_default']" in text) == ("no signature" not in what),
                          "%s: signature list wrong: %r" % (what, text[:300]))
            else:
                check(e == errno.EIO, "%s: signatures.txt gave %s, want EIO" % (what, e and errno.errorcode[e]))
                check("nested deeper than 100" in m.text_log(),
                      "%s: no log line about the nesting: %r" % (what, m.text_log()[-500:]))
            # The variables are unaffected (bytes = TF's).
            tm.expected_view(manifest["variables"])  # sets each variable's "_path" (its file)
            for v in some:
                p = os.path.join(os.fsencode(m.mnt), v["_path"])
                check(sha(p) == v["sha256"], "%s: %r differs from TF" % (what, v["name"]))
            check(m.alive(), "%s: the daemon died" % what)


# --- 3: read=splice -----------------------------------------------------------------------------

def check_fixtures_read(opts):
    """The partitioned, V1 and sample fixtures mounted with -o opts (npy among them): every
    numeric file and .npy reads as TF read it."""
    for name in ("partitioned", "v1", "sample"):
        d = os.path.join(tm.FIXTURES, name)
        if not os.path.isfile(os.path.join(d, "manifest.json")):
            continue
        manifest = json.load(open(os.path.join(d, "manifest.json")))
        src = os.path.join(d, manifest["prefix"])
        view = tm.expected_view(manifest["variables"], tm.generated_names(src, manifest["variables"]),
                                npy=True)
        what = "%s -o %s" % (name, opts)
        with tm.Mount(src, opts=["-o", opts], what=what) as m:
            n = 0
            for p, e in view.items():
                if e[0] not in ("data", "npy") or e[1]["dtype"] in ("string", "variant"):
                    continue
                full = m.path(p)
                try:
                    with open(full, "rb") as f:
                        got = f.read()
                except OSError as ex:
                    check(False, "%s: %r: %s" % (what, p, ex))
                    continue
                if e[0] == "npy":
                    hl = 10 + int.from_bytes(got[8:10], "little")
                    got = got[hl:]
                check(hashlib.sha256(got).hexdigest() == e[1]["sha256"],
                      "%s: %r differs from TF" % (what, p))
                n += 1
            check(n > 0, "%s: nothing read" % what)


def check_splice_fixtures():
    check_fixtures_read("read=splice,npy")


def check_truncated_shard(tmp):
    manifest = json.load(open(os.path.join(SAMPLE, "manifest.json")))
    for mode in ("buf", "splice"):
        d = os.path.join(tmp, "trunc-" + mode)
        os.makedirs(d)
        for f in os.listdir(SAMPLE):
            if f.startswith("model.ckpt."):
                shutil.copy(os.path.join(SAMPLE, f), d)
        with tm.Mount(os.path.join(d, "model.ckpt"), opts=["-o", "read=" + mode], what="trunc " + mode) as m:
            # Cut the shard to nothing: every non-empty variable's bytes are gone.
            os.truncate(os.path.join(d, "model.ckpt.data-00000-of-00001"), 0)
            for v in manifest["variables"]:
                p = m.path(b"/".join(v["name"].encode().split(b"/")))
                if not os.path.isfile(p):
                    p += b".raw"
                size0 = os.stat(p).st_size
                e = errno_of(lambda: open(p, "rb").read())
                check(e == errno.EIO, "read=%s: %s of a truncated shard gave %s, want EIO" %
                      (mode, v["name"], e and errno.errorcode[e]))
                check(os.stat(p).st_size == size0 == v["nbytes"],
                      "read=%s: %s size changed to %d" % (mode, v["name"], os.stat(p).st_size))


# --- 4: relative mountpoint ---------------------------------------------------------------------

def check_relative_mountpoint(tmp):
    base = tempfile.mkdtemp(prefix="ckptfs-rel-")
    os.mkdir(os.path.join(base, "rel"))
    absmnt = os.path.join(os.path.realpath(base), "rel")
    try:
        r = subprocess.run([tm.MOUNT, os.path.join(SAMPLE, "model.ckpt"), "rel"], cwd=base,
                           capture_output=True, timeout=60)
        check(r.returncode == 0, "relative mountpoint: mount failed: %r" % r.stderr)
        check(tm.is_mounted(absmnt), "relative mountpoint: /proc/mounts has no %s" % absmnt)
        pids = tm.daemon_pids("rel") or tm.daemon_pids(absmnt)
        check(len(pids) == 1, "relative mountpoint: daemon pids %r" % pids)
        for p in pids:
            os.kill(p, signal.SIGTERM)
        deadline = time.time() + 10
        while tm.is_mounted(absmnt) and time.time() < deadline:
            time.sleep(0.05)
        check(not tm.is_mounted(absmnt), "relative mountpoint: still mounted after SIGTERM")
    finally:
        tm.unmount(absmnt)
        shutil.rmtree(base, ignore_errors=True)


# --- 5: descriptors -----------------------------------------------------------------------------

def soft_limit(pid):
    with open("/proc/%d/limits" % pid) as f:
        for line in f:
            if line.startswith("Max open files"):
                return line.split()[3:5]
    return None


def temp_fds(pid):
    n = 0
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            t = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            continue
        if "(deleted)" in t or t.startswith("/memfd:"):
            n += 1
    return n


class no_descriptors:
    """While inside: process pid cannot open another descriptor (its soft RLIMIT_NOFILE is
    its lowest free descriptor number)."""

    def __init__(self, pid):
        self.pid = pid

    def __enter__(self):
        used = {int(x) for x in os.listdir("/proc/%d/fd" % self.pid)}
        low = min(set(range(len(used) + 1)) - used)
        self.old = resource.prlimit(self.pid, resource.RLIMIT_NOFILE)
        resource.prlimit(self.pid, resource.RLIMIT_NOFILE, (low, self.old[1]))
        return self

    def __exit__(self, *exc):
        resource.prlimit(self.pid, resource.RLIMIT_NOFILE, self.old)
        return False


def graph_text_truth(meta):
    code = ("import sys\nfrom tensorflow.core.protobuf import meta_graph_pb2\n"
            "from google.protobuf import text_format\n"
            "m = meta_graph_pb2.MetaGraphDef()\nm.ParseFromString(open(sys.argv[1], 'rb').read())\n"
            "sys.stdout.write(text_format.MessageToString(m.graph_def))\n")
    r = subprocess.run([sys.executable, "-c", code, meta], capture_output=True, timeout=300,
                       env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
    return r.stdout if r.returncode == 0 else None


def make_graph_folder(tmp, n):
    d = os.path.join(tmp, "graphs%d" % n)
    os.makedirs(d)
    src = [f for f in os.listdir(SAMPLE) if f.startswith("model.ckpt.")]
    for k in range(1, n + 1):
        for f in src:
            os.link(os.path.join(SAMPLE, f), os.path.join(d, "model.ckpt-%d%s" % (k, f[len("model.ckpt"):])))
    with open(os.path.join(d, "checkpoint"), "w") as f:
        f.write('model_checkpoint_path: "model.ckpt-%d"\n' % n)
    return d


def check_descriptors(tmp, graph_truth):
    manifest = json.load(open(os.path.join(SAMPLE, "manifest.json")))
    kernel = [v for v in manifest["variables"] if v["name"] == "dense/kernel"][0]
    # The soft limit is raised to the hard one.
    def low_soft():
        resource.setrlimit(resource.RLIMIT_NOFILE, (256, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
    mnt = tempfile.mkdtemp(prefix="ckptfs-mnt-")
    try:
        r = subprocess.run([tm.MOUNT, os.path.join(SAMPLE, "model.ckpt"), mnt], preexec_fn=low_soft,
                           capture_output=True, timeout=60)
        check(r.returncode == 0, "rlimit: mount failed: %r" % r.stderr)
        pid = tm.daemon_pids(mnt)[0]
        lim = soft_limit(pid)
        check(lim and lim[0] == lim[1], "rlimit: daemon's open-file limits (soft, hard) = %r" % lim)
        # One mapping of the .meta for all three graph files.
        for g in ("graph.pbtxt", "meta_graph.pbtxt", "graph.dot"):
            open(os.path.join(mnt, g), "rb").read()
        meta = os.path.realpath(os.path.join(SAMPLE, "model.ckpt.meta"))
        with open("/proc/%d/maps" % pid) as f:
            maps = [l for l in f if l.rstrip().endswith(meta)]
        check(len(maps) == 1, "shared doc: %d mappings of the .meta, want 1" % len(maps))
    finally:
        tm.unmount(mnt)
        tm.wait_no_daemon(mnt, "rlimit")
        os.rmdir(mnt)

    # 40 checkpoints, both graph texts of each read: rendered texts do not pin a descriptor
    # each, and a re-rendered text is still TF's.
    d = make_graph_folder(tmp, 40)
    with tm.Mount(d, what="graph folder") as m:
        pid = tm.daemon_pids(m.mnt)[0]
        for k in range(1, 41):
            for g in ("graph.pbtxt", "graph.dot"):
                open(os.path.join(m.mnt, "model.ckpt-%d" % k, g), "rb").read()
        # RELEASE of the last file closed is asynchronous: wait for the bound, a while at most.
        tm.testlib().wait_until(lambda: temp_fds(pid) <= 32, 5, "rendered texts released")
        n = temp_fds(pid)
        check(n <= 32, "graph folder: %d rendered-text descriptors held after 80 graph files" % n)
        first = open(os.path.join(m.mnt, "model.ckpt-1", "graph.pbtxt"), "rb").read()
        if graph_truth is not None:
            check(first == graph_truth, "graph folder: re-rendered graph.pbtxt differs from TF's text")

        # Out of descriptors: a graph file not sized yet fails with EIO, an opened checkpoint
        # still lists; with descriptors back the graph file works (the failure was not kept).
        open(os.path.join(m.mnt, "model.ckpt-40", "variables.tsv"), "rb").read()
        meta = os.path.join(m.mnt, "model.ckpt-40", "meta_graph.pbtxt")
        with no_descriptors(pid):
            e2 = errno_of(lambda: open(meta, "rb").read())
            e1 = errno_of(lambda: os.listdir(os.path.join(m.mnt, "model.ckpt-7")))
        check(e2 == errno.EIO, "no descriptors: meta_graph.pbtxt gave %s, want EIO" % (e2 and errno.errorcode[e2]))
        check(e1 == 0, "no descriptors: an opened checkpoint failed: %s" % (e1 and errno.errorcode[e1]))
        e = errno_of(lambda: open(meta, "rb").read())
        check(e == 0 and len(open(meta, "rb").read()) == os.stat(meta).st_size > 0,
              "descriptors back: meta_graph.pbtxt still fails (%s) or is short" % (e and errno.errorcode[e]))
    d2 = make_graph_folder(tmp, 3)
    with tm.Mount(d2, what="fd folder") as m:
        pid = tm.daemon_pids(m.mnt)[0]
        with no_descriptors(pid):
            e = errno_of(lambda: open(os.path.join(m.mnt, "model.ckpt-2", "dense", "kernel.raw"), "rb").read())
        check(e == errno.EIO, "no descriptors: opening a checkpoint gave %s, want EIO" % (e and errno.errorcode[e]))
        p = os.path.join(m.mnt, "model.ckpt-2", "dense", "kernel.raw")
        e = errno_of(lambda: open(p, "rb").read())
        check(e == 0 and sha(p) == kernel["sha256"],
              "descriptors back: the checkpoint still fails (%s)" % (e and errno.errorcode[e]))


# --- 6: a full $TMPDIR --------------------------------------------------------------------------

def check_full_tmpdir(tmp, graph_truth):
    tiny = os.path.join(tmp, "tiny")
    os.makedirs(tiny)
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16k", "tmpfs", tiny], capture_output=True).returncode:
        tm.testlib().skip_part("cannot mount a tmpfs; full $TMPDIR not checked")
        return
    try:
        env = dict(os.environ, TMPDIR=tiny)
        with FgMount(os.path.join(SAMPLE, "model.ckpt"), env=env, what="full tmpdir") as m:
            for g in ("graph.pbtxt", "meta_graph.pbtxt", "graph.dot"):
                p = os.path.join(m.mnt, g)
                e = errno_of(lambda: open(p, "rb").read())
                check(e == 0, "full $TMPDIR: %s fails with %s" % (g, e and errno.errorcode[e]))
                if e == 0:
                    check(len(open(p, "rb").read()) == os.stat(p).st_size, "full $TMPDIR: %s short" % g)
            if graph_truth is not None:
                check(open(os.path.join(m.mnt, "graph.pbtxt"), "rb").read() == graph_truth,
                      "full $TMPDIR: graph.pbtxt differs from TF's text")
    finally:
        subprocess.run(["umount", tiny], capture_output=True)


# --- 8: odd checkpoint names in a folder --------------------------------------------------------

def check_dot_names(tmp):
    """Checkpoints ".", "..", "x", "%p" made of the folder fixture's steps (different values)."""
    folder = os.path.join(tm.FIXTURES, "folder")
    manifest = json.load(open(os.path.join(folder, "manifest.json")))
    steps = sorted(manifest["steps"])
    d = os.path.join(tmp, "odd")
    os.makedirs(d)
    names = {".": steps[0], "..": steps[1], "x": steps[2 % len(steps)], "%p": steps[0]}
    for n, step in names.items():
        for suf in (".index", ".data-00000-of-00001"):
            shutil.copy(os.path.join(folder, step + suf), os.path.join(d, n + suf))
    with open(os.path.join(d, "checkpoint"), "w") as f:
        f.write('model_checkpoint_path: ".."\n')
    disp = {tm.esc_component(n.encode()).decode(): n for n in names}
    with tm.Mount(d, what="odd names") as m:
        listed = [e.name for e in os.scandir(m.mnt)]
        want = set(disp) | {"latest", "checkpoints.tsv"}
        check(sorted(listed) == sorted(want), "odd names: root lists %r, want %r" % (sorted(listed), sorted(want)))
        check(len(listed) == len(set(listed)), "odd names: duplicates in %r" % listed)
        for e in os.scandir(m.mnt):
            st = os.lstat(os.path.join(m.mnt, e.name))
            check(st.st_ino == e.inode(), "odd names: %r lists ino %d, looks up %d" % (e.name, e.inode(), st.st_ino))
            if e.name == "latest":
                continue
            n = disp.get(e.name)
            if n is None:
                continue
            check(os.getxattr(os.path.join(m.mnt, e.name), "user.ckpt.prefix").decode() == os.path.join(d, n),
                  "odd names: %r opened %r" % (e.name, os.getxattr(os.path.join(m.mnt, e.name), "user.ckpt.prefix")))
            view = tm.expected_view(manifest["steps"][names[n]], [])
            nread = 0
            for p, ent in view.items():
                if ent[0] == "data" and ent[1]["dtype"] != "string":
                    full = os.path.join(os.fsencode(m.mnt), e.name.encode(), p)
                    check(sha(full) == ent[1]["sha256"], "odd names: %r/%r differs from TF's %s" %
                          (e.name, p, names[n]))
                    nread += 1
            check(nread > 0, "odd names: nothing read in %r" % e.name)
        check(os.readlink(os.path.join(m.mnt, "latest")) == "%..",
              "odd names: latest -> %r, want '%%..'" % os.readlink(os.path.join(m.mnt, "latest")))
        check(os.stat(os.path.join(m.mnt, "latest")).st_ino == os.stat(os.path.join(m.mnt, "%..")).st_ino,
              "odd names: latest/ is not %..")


# --- string texts render outside the view's lock ------------------------------------------------

def check_string_lock(tmp):
    prefix = os.path.join(tmp, "bigstr", "m")
    code = ("import sys, numpy as np, tensorflow as tf\n"
            "big = tf.constant(np.array([b'token_%08d\\tvalue' % i for i in range(2000000)], dtype=object))\n"
            "tf.raw_ops.SaveV2(prefix=sys.argv[1], tensor_names=['big', 'small'], shape_and_slices=['', ''],\n"
            "                  tensors=[big, tf.constant([b'a', b'b'])])\n")
    r = subprocess.run([sys.executable, "-c", code, prefix], capture_output=True, timeout=600,
                       env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
    if not check(r.returncode == 0, "bigstr: TensorFlow could not write the string "
                 "checkpoint: %s" % r.stderr[-300:]):
        return
    with tm.Mount(prefix, what="bigstr") as m:
        big, small = os.path.join(m.mnt, "big"), os.path.join(m.mnt, "small")
        t0 = time.time()
        open(big, "rb").close()
        alone = time.time() - t0
        res = {}

        def opener():
            t = time.time()
            open(big, "rb").close()
            res["big"] = time.time() - t

        th = threading.Thread(target=opener)
        th.start()
        time.sleep(min(0.05, alone / 4))
        t = time.time()
        with open(small, "rb") as f:
            got = f.read()
        res["small"] = time.time() - t
        th.join()
        check(got == b"a\nb\n", "bigstr: small reads %r" % got)
        print("bigstr: open(big) %.2fs; open(small) meanwhile %.3fs" % (res["big"], res["small"]))
        if res["big"] > 0.1:
            check(res["small"] < res["big"] / 2,
                  "bigstr: open(small) waited %.2fs for big's rendering (%.2fs)" % (res["small"], res["big"]))
        else:
            tm.testlib().skip_part("big renders too fast (%.2fs) to tell" % res["big"])


def run_case(name, fn):
    """Run one case of a test program: an exception fails it, and a line says how it went."""
    n = len(tm.failures)
    try:
        fn()
    except Exception as ex:
        check(False, "%s: %s: %s" % (name, type(ex).__name__, ex))
    print("%s: %s" % (name, "ok" if len(tm.failures) == n else "FAILED"), flush=True)


def main():
    tm.require_fuse()
    if not os.path.isfile(os.path.join(SAMPLE, "manifest.json")):
        print("SKIP: no sample fixture")
        return 77
    have_tf = tf_available()
    if not have_tf:
        print("note: no TensorFlow: parser and graph-text truths skipped")
    graph_truth = graph_text_truth(os.path.join(SAMPLE, "model.ckpt.meta")) if have_tf else None
    with tempfile.TemporaryDirectory(prefix="ckptfs-robust-") as tmp:
        for name, fn in [
            ("deep savedmodel", lambda: check_deep_savedmodel(tmp, have_tf)),
            ("splice fixtures", check_splice_fixtures),
            ("truncated shard", lambda: check_truncated_shard(tmp)),
            ("relative mountpoint", lambda: check_relative_mountpoint(tmp)),
            ("descriptors", lambda: check_descriptors(tmp, graph_truth)),
            ("full tmpdir", lambda: check_full_tmpdir(tmp, graph_truth)),
            ("dot names", lambda: check_dot_names(tmp)),
            ("string lock", lambda: check_string_lock(tmp) if have_tf else None),
        ]:
            run_case(name, fn)
    if tm.failures:
        print("%d failure(s)" % len(tm.failures))
        return 1
    print("all robustness checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
