#!/usr/bin/env python3
"""`ckptfs export SRC DST.safetensors` on the fixtures, read back by safetensors itself.

Truth: the safetensors package's own reader (`safetensors.deserialize`, which validates the
header, the offsets and that the buffer is covered exactly; `safetensors.numpy.load_file`),
each fixture's manifest.json (TensorFlow's reading: names, dtypes, shapes, sha256 of the
bytes) and, when TensorFlow imports, `tf.train.load_checkpoint(...).get_tensor(name)` now.
The dtype map below is written from the safetensors format's documentation, not from ckptfs.
Also: --include/--exclude, and destinations that cannot be written (an existing file without
--force, /dev/full, a full and a read-only file system: root only) fail with exit 8 and leave
no file. Exit 0 pass, 1 fail, 77 skip (safetensors not importable, no fixtures).
"""
import hashlib
import json
import os
import pty
import select
import shutil
import struct
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True  # keep the source tree free of __pycache__
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import ckpt_testlib as tl  # noqa: E402
import ckptwriter as cw  # noqa: E402
import tf2names  # noqa: E402

np = tl.oracle("numpy")  # both required in CI (tests/README.md "Skips")
safetensors = tl.oracle("safetensors")
import safetensors.numpy  # noqa: E402,F401

T = tl.Checks()

# TF dtype name -> safetensors dtype (the format's list; float8_e4m3fn is its F8_E4M3).
ST_DTYPE = {
    "float32": "F32", "float64": "F64", "float16": "F16", "bfloat16": "BF16",
    "int8": "I8", "int16": "I16", "int32": "I32", "int64": "I64",
    "uint8": "U8", "uint16": "U16", "uint32": "U32", "uint64": "U64",
    "bool": "BOOL", "complex64": "C64", "float8_e5m2": "F8_E5M2", "float8_e4m3fn": "F8_E4M3",
}
NUMPY_ST = {"F32", "F64", "F16", "I8", "I16", "I32", "I64", "U8", "U16", "U32", "U64", "BOOL",
            "C64"}

# (case, source relative to the case directory)
CASES = [("dtypes", "dtypes"), ("sample", "model.ckpt"), ("keras_tf2", "ckpt"),
         ("partitioned", "model.ckpt"), ("sliced", "ckpt"), ("sharded", "model.ckpt"),
         ("v1", "model.ckpt"), ("savedmodel/tf2", "."), ("savedmodel/tf1", ".")]


TF = None  # TensorFlow, once main() has asked for it (a required oracle in CI)


def tf_reader(prefix):
    """TF's reader of prefix, or None without TF (main() said so) or where TF cannot open it."""
    if TF is None:
        return None
    try:
        return TF.train.load_checkpoint(prefix)
    except Exception as e:  # V1 sets TF will not open: the manifest is the truth then
        print("note: TF cannot open %s: %s" % (prefix, str(e).splitlines()[0][:200]))
        return None


def source_of(case_dir, rel, manifest):
    if rel == ".":
        return case_dir
    src = os.path.join(case_dir, rel)
    if os.path.exists(src + ".index") or os.path.exists(src):
        return src
    return os.path.join(case_dir, manifest["prefix"])


def parse_header(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        raw = f.read(n)
    return n, raw


def check_case(case, rel, tmp):
    case_dir = os.path.join(tl.fixtures_dir(), case)
    mpath = os.path.join(case_dir, "manifest.json")
    if not os.path.isfile(mpath):
        print("note: fixture %s absent" % case)
        return 0
    with open(mpath, encoding="utf-8") as f:
        m = json.load(f)
    src = source_of(case_dir, rel, m)
    dst = os.path.join(tmp, case.replace("/", "_") + ".safetensors")
    r = tl.ckptfs("export", src, dst)
    if not T.ok(r.rc == 0, "%s: %s" % (case, r.describe())):
        return 1
    n, raw = parse_header(dst)
    T.ok(raw[:1] == b"{", "%s: header starts with '{'" % case)
    T.eq((8 + n) % 8, 0, "%s: tensors start 8-aligned" % case)
    # docs/format.md: fewer than 8 spaces, or fewer than 64 KiB + 8 once 1 MiB of tensors is
    # worth aligning to the kernel's copy unit
    pad = len(raw) - len(raw.rstrip(b" "))
    limit = 8 + 65536 if os.path.getsize(dst) - 8 - n >= (1 << 20) else 8
    T.ok(raw.rstrip(b" ").endswith(b"}") and pad < limit,
         "%s: header padded with %d spaces, fewer than %d" % (case, pad, limit))
    with open(dst, "rb") as f:
        tensors = dict(safetensors.deserialize(f.read()))
    meta = json.loads(raw)["__metadata__"]
    T.eq(meta.get("format"), "tf", "%s: __metadata__ format" % case)
    prefix = os.path.join(case_dir, m["prefix"])
    tfr = tf_reader(prefix)
    want_names = set()
    # docs/format.md: a tensor is named by its visible path; __metadata__ maps it back to its
    # key and, in a TF 2 checkpoint, to its full_name
    graph = tf2names.graph_bytes_of(m["variables"])
    keys = [v["name"].encode("utf-8", "surrogateescape") for v in m["variables"]]
    vis = tf2names.visible_paths(keys, graph is not None)
    full = tf2names.object_graph(graph)[0] if graph is not None else {}
    for v in m["variables"]:
        key = v["name"]
        kb = key.encode("utf-8", "surrogateescape")
        name = vis[kb].decode("utf-8", "surrogateescape")
        what = "%s: %r" % (case, key)
        st = ST_DTYPE.get(v["dtype"])
        if st is None:
            T.ok(name not in tensors, what + " (no safetensors dtype) left out")
            T.ok(("skipped:" + key) in meta, what + " listed as skipped in __metadata__")
            continue
        want_names.add(name)
        if not T.ok(name in tensors, what + " is in the file as %r" % name):
            continue
        t = tensors[name]
        T.eq(t["dtype"], st, what + " dtype")
        T.eq(list(t["shape"]), v["shape"], what + " shape")
        T.eq(meta.get("tf_key:" + name), key, what + " tf_key in __metadata__")
        if kb in full:
            T.eq(meta.get("full_name:" + name), full[kb].decode(), what + " full_name")
        else:
            T.ok("full_name:" + name not in meta, what + " has no full_name")
        if "sha256" in v:
            T.eq(hashlib.sha256(bytes(t["data"])).hexdigest(), v["sha256"], what + " sha256")
        if tfr is not None and v.get("oracle", "load_checkpoint") == "load_checkpoint":
            try:
                want = tfr.get_tensor(key)
            except Exception as e:
                T.ok(False, what + " TF get_tensor: %s" % e)
                continue
            T.ok(bytes(t["data"]) == want.tobytes(), what + " bytes equal TF's get_tensor")
    T.eq(set(tensors), want_names, "%s: the file holds exactly the numeric tensors" % case)
    # numpy's loader on the same file, for the dtypes it knows
    if all(t["dtype"] in NUMPY_ST for t in tensors.values()):
        arrays = safetensors.numpy.load_file(dst)
        for name, a in arrays.items():
            T.ok(a.tobytes() == bytes(tensors[name]["data"]) and
                 list(a.shape) == list(tensors[name]["shape"]),
                 "%s: %r numpy.load_file" % (case, name))
    return 1


def as_array(t):
    """TF's get_tensor answer as an array; a string scalar (bytes) kept whole (numpy's 'S'
    dtype would drop its trailing NUL bytes)."""
    if isinstance(t, bytes):
        a = np.empty((), dtype=object)
        a[()] = t
        return a
    return np.asarray(t)


def check_v2_case(case, rel, tmp):
    """The V2 export of a fixture, read by TensorFlow: every key of the source, equal values."""
    case_dir = os.path.join(tl.fixtures_dir(), case)
    mpath = os.path.join(case_dir, "manifest.json")
    if not os.path.isfile(mpath):
        return
    with open(mpath, encoding="utf-8") as f:
        m = json.load(f)
    src = source_of(case_dir, rel, m)
    dst = os.path.join(tmp, "v2_" + case.replace("/", "_"), "model")
    os.makedirs(os.path.dirname(dst))
    r = tl.ckptfs("export", src, dst)
    if not T.ok(r.rc == 0, "%s V2: %s" % (case, r.describe())):
        return
    T.eq(sorted(os.listdir(os.path.dirname(dst))),
         ["model.data-00000-of-00001", "model.index"], "%s V2: the two files, nothing else" % case)
    src_reader = tf_reader(os.path.join(case_dir, m["prefix"]))
    out = tf_reader(dst)
    if not T.ok(out is not None, "%s V2: TensorFlow opens the export" % case):
        return
    got = out.get_variable_to_dtype_map()
    want = {v["name"]: v for v in m["variables"]}
    T.eq(sorted(got), sorted(want), "%s V2: the export has the source's keys" % case)
    for name, v in want.items():
        if name not in got:
            continue
        what = "%s V2: %r" % (case, name)
        T.eq(got[name].name, v["dtype"], what + " dtype")
        t = as_array(out.get_tensor(name))
        T.eq(list(t.shape), v["shape"], what + " shape")
        if v["dtype"] == "string":
            if "strings_hex" in v:
                T.eq([bytes(x).hex() for x in t.reshape(-1).tolist()], v["strings_hex"],
                     what + " elements (manifest)")
        elif "sha256" in v:
            T.eq(hashlib.sha256(t.tobytes()).hexdigest(), v["sha256"], what + " bytes (manifest)")
        if src_reader is not None and v.get("oracle", "load_checkpoint") == "load_checkpoint":
            try:
                w = as_array(src_reader.get_tensor(name))
            except Exception:  # partitioned string pieces: get_tensor refuses them
                continue
            T.ok(t.dtype == w.dtype and t.shape == w.shape and
                 (t.tobytes() == w.tobytes() if t.dtype.kind != "O" else
                  t.reshape(-1).tolist() == w.reshape(-1).tolist()),
                 what + " equals TF's reading of the source")


def check_v2_filtered(tmp):
    src = os.path.join(tl.fixtures_dir(), "sample", "model.ckpt")
    dst = os.path.join(tmp, "v2_stripped", "model")
    os.makedirs(os.path.dirname(dst))
    r = tl.ckptfs("export", "--exclude", "*/Adam*:beta*_power", src, dst)
    if not T.ok(r.rc == 0, "V2 --exclude: " + r.describe()):
        return
    out = tf_reader(dst)
    if out is not None:
        T.eq(sorted(out.get_variable_to_shape_map()), ["dense/bias", "dense/kernel", "global_step"],
             "V2 --exclude strips the Adam slots and beta powers")
    r = tl.ckptfs("export", src, dst)
    T.eq(r.rc, 8, "V2 onto an existing prefix without --force: exit 8")
    r = tl.ckptfs("export", "--force", src, dst)
    T.ok(r.rc == 0, "V2 --force: " + r.describe())
    if out is not None:
        T.eq(len(tf_reader(dst).get_variable_to_shape_map()), 9, "V2 --force replaced both files")


def names_in(path):
    with open(path, "rb") as f:
        return set(k for k, _ in safetensors.deserialize(f.read()))


def check_filters(tmp):
    src = os.path.join(tl.fixtures_dir(), "sample", "model.ckpt")
    with open(os.path.join(tl.fixtures_dir(), "sample", "manifest.json")) as f:
        allnames = set(v["name"] for v in json.load(f)["variables"]
                       if v["dtype"] in ST_DTYPE)
    out = os.path.join(tmp, "f1.safetensors")
    r = tl.ckptfs("export", "--exclude", "*/Adam*", src, out)
    T.ok(r.rc == 0, "--exclude: " + r.describe())
    want = set(n for n in allnames if "/Adam" not in n)
    T.ok(want and want != allnames, "sample has Adam slots and other variables")
    T.eq(names_in(out), want, "--exclude '*/Adam*' strips the Adam slots")
    out = os.path.join(tmp, "f2.safetensors")
    r = tl.ckptfs("export", "--include", "dense/*", "--exclude", "*/Adam:*/Adam_1", src, out)
    T.ok(r.rc == 0, "--include: " + r.describe())
    T.eq(names_in(out), {"dense/kernel", "dense/bias"},
         "--include 'dense/*' with ':'-separated excludes")
    out = os.path.join(tmp, "f3.safetensors")
    r = tl.ckptfs("export", "--include", "nothing*", src, out)
    T.ok(r.rc == 0, "--include matching nothing: " + r.describe())
    T.eq(names_in(out), set(), "an include matching nothing gives a valid empty file")


def check_filters_tf2(tmp):
    """Globs match the key, the visible path or the full_name (docs/mount.md): 'adam/*' is the
    full names of a Keras 3 Adam's state; the kept set is computed here with fnmatch."""
    import fnmatch
    d = os.path.join(tl.fixtures_dir(), "keras_tf2")
    if not os.path.isdir(d):
        return
    with open(os.path.join(d, "manifest.json")) as f:
        variables = json.load(f)["variables"]
    graph = tf2names.graph_bytes_of(variables)
    keys = [v["name"].encode() for v in variables]
    vis = tf2names.visible_paths(keys, True)
    full = tf2names.object_graph(graph)[0]
    for glob_, label in (("adam/*", "full_name"), ("optimizer/_variables/*", "visible path")):
        kept = [k for k in keys if not any(fnmatch.fnmatchcase(x.decode(), glob_)
                                           for x in (k, vis[k], full.get(k, b"")))]
        out = os.path.join(tmp, "tf2_%s.safetensors" % label.replace(" ", "_"))
        r = tl.ckptfs("export", "--exclude", glob_, os.path.join(d, "ckpt"), out)
        T.ok(r.rc == 0, "tf2 --exclude %s: %s" % (glob_, r.describe()))
        want = set(vis[k].decode() for k, v in zip(keys, variables)
                   if k in kept and v["dtype"] in ST_DTYPE)
        T.ok(0 < len(want) < len(keys) - 1, "tf2 --exclude %s keeps some" % glob_)
        T.eq(names_in(out), want, "tf2 --exclude %s matches the %s" % (glob_, label))


def check_header_limit(tmp):
    """docs/format.md: safetensors readers refuse a header over 100,000,000 bytes; a 40 MiB name
    appears three times in it (its entry, its tf_key metadata key and value), so the export
    fails with exit 3 and leaves no file, and excluding it makes the file."""
    d = os.path.join(tmp, "limit")
    os.mkdir(d)
    w = cw.V2Writer(os.path.join(d, "m"))
    w.add(b"x" * (40 << 20), 1, [1], b"\0\0\0\0")
    w.add(b"y", 1, [1], b"\0\0\x80\x3f")
    w.close()
    out = os.path.join(d, "o.safetensors")
    r = tl.ckptfs("export", os.path.join(d, "m"), out)
    T.eq(r.rc, 3, "header over the limit: exit 3 (%s)" % r.err.strip()[:200])
    T.ok("100000000" in r.err, "the message states the limit")
    T.ok(not os.path.exists(out), "header over the limit: no file")
    r = tl.ckptfs("export", "--exclude", "x*", os.path.join(d, "m"), out)
    T.ok(r.rc == 0, "header limit, the long name excluded: " + r.describe())
    T.eq(names_in(out), {"y"}, "the long name excluded, the file holds the rest")
    shutil.rmtree(d)


def listing(d):
    return sorted(os.listdir(d))


def check_destinations(tmp):
    src = os.path.join(tl.fixtures_dir(), "sample", "model.ckpt")
    d = os.path.join(tmp, "dest")
    os.mkdir(d)
    dst = os.path.join(d, "x.safetensors")
    with open(dst, "wb") as f:
        f.write(b"keep me")
    r = tl.ckptfs("export", src, dst)
    T.eq(r.rc, 8, "existing DST without --force: exit 8 (%s)" % r.err.strip())
    T.ok("--force" in r.err and dst in r.err, "the message names DST and --force")
    with open(dst, "rb") as f:
        T.eq(f.read(), b"keep me", "existing DST untouched")
    T.eq(listing(d), ["x.safetensors"], "no temporary file left")
    r = tl.ckptfs("export", "--force", src, dst)
    T.ok(r.rc == 0, "--force: " + r.describe())
    T.ok(len(names_in(dst)) > 0, "--force replaced DST with the export")
    T.eq(listing(d), ["x.safetensors"], "no temporary file left after --force")

    r = tl.ckptfs("export", src, "/dev/full")
    T.eq(r.rc, 8, "/dev/full: exit 8 (%s)" % r.err.strip())
    T.ok("/dev/full" in r.err and "No space" in r.err, "/dev/full: message names it and ENOSPC")

    r = tl.ckptfs("export", os.path.join(tmp, "no-such"), os.path.join(d, "y.safetensors"))
    T.eq(r.rc, 2, "missing source: exit 2")
    T.eq(listing(d), ["x.safetensors"], "missing source: no file made")

    r = tl.ckptfs("export", src, os.path.join(tmp, "no-such-dir", "z.safetensors"))
    T.eq(r.rc, 8, "DST in a missing directory: exit 8")

    # a damaged tensor: exit 3 and no file
    dmg = os.path.join(tmp, "damaged")
    shutil.copytree(os.path.join(tl.fixtures_dir(), "sample"), dmg)
    data = os.path.join(dmg, "model.ckpt.data-00000-of-00001")
    with open(data, "r+b") as f:
        f.seek(100)
        b = f.read(1)
        f.seek(100)
        f.write(bytes([b[0] ^ 0xFF]))
    r = tl.ckptfs("export", os.path.join(dmg, "model.ckpt"), os.path.join(d, "bad.safetensors"))
    T.eq(r.rc, 3, "damaged tensor: exit 3 (%s)" % r.err.strip())
    T.eq(listing(d), ["x.safetensors"], "damaged tensor: no partial file left")
    r = tl.ckptfs("export", os.path.join(dmg, "model.ckpt"), os.path.join(d, "bad"))
    T.eq(r.rc, 3, "damaged tensor, V2: exit 3")
    T.ok(data in r.err and "checksum" in r.err,
         "damaged tensor, V2: the message names the shard and the checksum: %r" % r.err.strip())
    T.eq(listing(d), ["x.safetensors"], "damaged tensor, V2: no partial file left")

    if os.geteuid() != 0 or not shutil.which("mount"):
        print("note: not root: full and read-only file systems not tried")
        return
    for opts, what in (("size=16k", "a full file system"), ("ro,size=1m", "a read-only one")):
        mnt = tempfile.mkdtemp(prefix="ckptfs-exp-")
        rc = subprocess.run(["mount", "-t", "tmpfs", "-o", opts, "tmpfs", mnt]).returncode
        if rc != 0:
            print("note: cannot mount a tmpfs: %s not tried" % what)
            os.rmdir(mnt)
            continue
        try:
            r = tl.ckptfs("export", src, os.path.join(mnt, "m.safetensors"))
            T.eq(r.rc, 8, "%s: exit 8 (%s)" % (what, r.err.strip()))
            T.ok(mnt in r.err, "%s: the message names the destination" % what)
            T.eq(listing(mnt), [], "%s: no partial file left" % what)
        finally:
            subprocess.run(["umount", mnt])
            os.rmdir(mnt)


def strace_count(argv, call):
    """Run argv under strace; (exit status, stderr, calls of `call` that moved bytes), or None
    without strace. LeakSanitizer cannot run under ptrace: its check is the other runs'."""
    if not shutil.which("strace"):
        tl.missing("strace", "not installed (scripts/deps.sh installs it)", whole=False)
        return None
    fd, log = tempfile.mkstemp(prefix="ckptfs-strace-")
    os.close(fd)
    env = dict(os.environ)
    env["ASAN_OPTIONS"] = env.get("ASAN_OPTIONS", "") + ":detect_leaks=0"
    p = subprocess.run(["strace", "-f", "-qq", "-e", "trace=" + call, "-o", log] + argv,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    with open(log) as f:
        moved = [l for l in f if call + "(" in l and not l.rstrip().endswith("= 0")
                 and "= -1" not in l]
    os.unlink(log)
    return p.returncode, p.stderr.decode("utf-8", "replace"), len(moved)


def check_kernel_copy_pieces(d):
    """A tensor the kernel copies in two pieces (64 MiB, then the rest): exported whole and
    equal to what was written; a byte flipped in its second piece fails the export (exit 3,
    no file), in both formats."""
    d = os.path.join(d, "pieces")
    os.mkdir(d)
    big = np.random.default_rng(7).integers(0, 256, (64 << 20) + 4096, dtype=np.uint8)
    w = cw.V2Writer(os.path.join(d, "m"))
    w.add(b"two_pieces", 4, [big.size], big.tobytes())  # DT_UINT8
    w.close()
    src = os.path.join(d, "m")
    st, v2 = os.path.join(d, "p.safetensors"), os.path.join(d, "p")
    for dst in (st, v2):
        r = tl.ckptfs("export", src, dst)
        T.ok(r.rc == 0, "a tensor of two pieces to %s: %s" % (os.path.basename(dst), r.describe()))
    got = safetensors.numpy.load_file(st).get("two_pieces")
    T.ok(got is not None and np.array_equal(got, big), "two pieces: safetensors equals what was written")
    if TF is not None:
        T.ok(np.array_equal(TF.train.load_checkpoint(v2).get_tensor("two_pieces"), big),
             "two pieces: the V2 prefix read by TensorFlow equals what was written")
    for f in (st, v2 + ".index", v2 + ".data-00000-of-00001"):
        os.unlink(f)
    tl.flip_byte(w.shard_path(0), (64 << 20) + 100)
    for dst in (st, v2):
        r = tl.ckptfs("export", src, dst)
        T.eq(r.rc, 3, "a byte flipped in the second piece, to %s: exit 3" % os.path.basename(dst))
        T.ok('"two_pieces"' in r.err and "checksum" in r.err,
             "the message names the tensor and the checksum: %r" % r.err.strip())
    T.eq(sorted(os.listdir(d)), ["m.data-00000-of-00001", "m.index"],
         "the second piece damaged: no file left")
    shutil.rmtree(d)


def check_kernel_copy(tmp):
    """Tensors of 1 MiB and more stored as themselves in a local shard are copied by the kernel
    (copy_file_range, as cp does; strace counts the calls) and checked on the bytes written:
    the values are numpy's (written by the test's own writer, CRCs computed in Python), read
    back by TensorFlow and by safetensors; a byte flipped inside a large tensor fails the
    export (exit 3, the message names the variable and the checksum) and leaves no file; a
    destination on another file system (tmpfs: the kernel refuses) gets the same bytes."""
    d = os.path.join(tmp, "kcopy")
    os.mkdir(d)
    rng = np.random.default_rng(20261206)
    want = {"big": rng.standard_normal(786433).astype("<f4"),  # 3 MiB + 4 bytes
            "mid": rng.standard_normal(131073).astype("<f8"),  # 1 MiB + 8 bytes
            "small": np.array([7, -1, 3], "<i4")}
    dt = {"big": 1, "mid": 2, "small": 3}  # TF DataType: DT_FLOAT, DT_DOUBLE, DT_INT32
    w = cw.V2Writer(os.path.join(d, "m"))
    for k in ("big", "mid", "small"):  # "big" first: its bytes start the shard
        w.add(k.encode(), dt[k], list(want[k].shape), want[k].tobytes())
    w.close()
    src = os.path.join(d, "m")

    def same(got, what):
        for k, v in want.items():
            T.ok(k in got and got[k].dtype == v.dtype and np.array_equal(got[k], v),
                 "%s: %s equals what was written" % (what, k))

    outdir = os.path.join(d, "out")
    os.mkdir(outdir)
    st, v2 = os.path.join(outdir, "k.safetensors"), os.path.join(outdir, "k")
    for dst in (st, v2):
        r = strace_count([tl.ckptfs_path(), "export", src, dst], "copy_file_range")
        if r is None:
            r = (tl.ckptfs("export", src, dst).rc, "", None)
        T.ok(r[0] == 0, "kernel copy export to %s: exit %d %s" % (dst, r[0], r[1].strip()))
        if r[2] is not None:
            T.ok(r[2] >= 2, "%s: the two large tensors went through copy_file_range (%d calls)"
                 % (os.path.basename(dst), r[2]))
    same(safetensors.numpy.load_file(st), "kernel-copied safetensors")
    # docs/format.md: the tensors sit at their shard offsets modulo 64 KiB, and "big" starts
    # the shard (the writer above), so the data starts on a 64 KiB boundary
    n, raw = parse_header(st)
    T.eq((8 + n) % 65536, 0, "4 MiB of tensors: the data starts 64 KiB-aligned (8 + %d)" % n)
    T.ok(0 < len(raw) - len(raw.rstrip(b" ")) < 65536, "the header's padding is under 64 KiB")
    if TF is not None:
        rd = TF.train.load_checkpoint(v2)
        same({k: rd.get_tensor(k) for k in want}, "kernel-copied V2 read by TensorFlow")

    # a byte flipped 1 MiB into the shard: inside "big"
    tl.flip_byte(w.shard_path(0), 1 << 20)
    bad = os.path.join(d, "bad")
    os.mkdir(bad)
    for dst in (os.path.join(bad, "b.safetensors"), os.path.join(bad, "b")):
        r = tl.ckptfs("export", src, dst)
        T.eq(r.rc, 3, "damaged large tensor to %s: exit 3" % os.path.basename(dst))
        T.ok('"big"' in r.err and "checksum" in r.err and w.shard_path(0) in r.err,
             "the message names the shard, the variable and the checksum: %r" % r.err.strip())
        T.eq(listing(bad), [], "damaged large tensor: no file left")
    tl.flip_byte(w.shard_path(0), 1 << 20)  # undo the damage

    # a byte flipped inside "mid", the last tensor the kernel copies: its checksum is the one
    # settled after the copy loop, before the file gets its name
    tl.flip_byte(w.shard_path(0), want["big"].nbytes + 1000)
    for dst in (os.path.join(bad, "m.safetensors"), os.path.join(bad, "m")):
        r = tl.ckptfs("export", src, dst)
        T.eq(r.rc, 3, "damaged last large tensor to %s: exit 3" % os.path.basename(dst))
        T.ok('"mid"' in r.err and "checksum" in r.err,
             "the message names the last tensor and the checksum: %r" % r.err.strip())
        T.eq(listing(bad), [], "damaged last large tensor: no file left")
    tl.flip_byte(w.shard_path(0), want["big"].nbytes + 1000)
    check_kernel_copy_pieces(d)

    if os.geteuid() != 0 or not shutil.which("mount"):
        print("note: not root: the kernel's refusal (another file system) not tried")
        return
    mnt = tempfile.mkdtemp(prefix="ckptfs-kcopy-")
    if subprocess.run(["mount", "-t", "tmpfs", "tmpfs", mnt]).returncode != 0:
        print("note: cannot mount a tmpfs: the kernel's refusal not tried")
        os.rmdir(mnt)
        return
    try:
        for dst in (os.path.join(mnt, "t.safetensors"), os.path.join(mnt, "t")):
            r = tl.ckptfs("export", src, dst)
            T.ok(r.rc == 0, "export to tmpfs: " + r.describe())
        same(safetensors.numpy.load_file(os.path.join(mnt, "t.safetensors")), "tmpfs safetensors")
        if TF is not None:
            rd = TF.train.load_checkpoint(os.path.join(mnt, "t"))
            same({k: rd.get_tensor(k) for k in want}, "tmpfs V2 read by TensorFlow")
            del rd  # TF's reader holds the files open
    finally:
        subprocess.run(["umount", "-l", mnt])  # detached even if TF still holds a file
        os.rmdir(mnt)


def run_on_pty(argv):
    """Run argv with stderr on a pseudo-terminal; (exit status, stderr text)."""
    master, slave = pty.openpty()
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=slave)
    os.close(slave)
    err = b""
    while select.select([master], [], [], 60)[0]:
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        err += chunk
    p.wait(60)
    os.close(master)
    return p.returncode, err.decode("utf-8", "replace")


def check_progress(tmp):
    src = os.path.join(tl.fixtures_dir(), "sample", "model.ckpt")
    dst = os.path.join(tmp, "pty.safetensors")
    r = tl.ckptfs("export", src, os.path.join(tmp, "quiet.safetensors"))
    T.ok(r.rc == 0 and r.err == "", "off a terminal no progress bar: " + r.describe())
    rc, err = run_on_pty([tl.ckptfs_path(), "export", src, dst])
    T.ok(rc == 0 and "\r" in err and "/s" in err and "%" in err,
         "export on a terminal draws a progress bar: %r" % err[-300:])


def check_sync(tmp):
    """--sync flushes each file written (strace's count of fsync calls on them) before its
    rename; without it none is flushed, as with cp. The truth is strace's own log."""
    if not shutil.which("strace"):
        tl.missing("strace", "not installed (scripts/deps.sh installs it)", whole=False)
        return
    src = os.path.join(tl.fixtures_dir(), "sample", "model.ckpt")
    d = os.path.join(tmp, "sync")
    os.mkdir(d)
    for dst, files in (("s.safetensors", 1), ("v2/model", 2)):
        for sync in (False, True):
            out = os.path.join(d, ("sync-" if sync else "") + dst)
            os.makedirs(os.path.dirname(out), exist_ok=True)
            log = os.path.join(d, "strace.log")
            args = ["strace", "-f", "-qq", "-e", "trace=fsync,fdatasync", "-o", log,
                    tl.ckptfs_path(), "export"] + (["--sync"] if sync else []) + [src, out]
            # LeakSanitizer cannot run under ptrace: the sanitizer build's leak check of export
            # is the rest of this test's.
            env = dict(os.environ)
            env["ASAN_OPTIONS"] = env.get("ASAN_OPTIONS", "") + ":detect_leaks=0"
            p = subprocess.run(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
            with open(log) as f:
                calls = [l for l in f if "fsync(" in l or "fdatasync(" in l]
            T.ok(p.returncode == 0, "export%s to %s: exit %d %s" % (
                " --sync" if sync else "", dst, p.returncode, p.stderr.decode()[-200:]))
            want = files if sync else 0
            T.eq(len(calls), want, "export%s to %s: %d fsync calls (one per file written with "
                 "--sync, none without)" % (" --sync" if sync else "", dst, want))


def main():
    tl.ckptfs_path()
    global TF
    TF = tl.oracle("tensorflow", whole=False)  # else SKIP-PART: no TF readings, no V2 checks
    tmp = tempfile.mkdtemp(prefix="ckptfs-export-")
    try:
        done = sum(check_case(c, rel, tmp) for c, rel in CASES)
        if not done:
            tl.skip("no fixtures")
        check_filters(tmp)
        check_filters_tf2(tmp)
        check_header_limit(tmp)
        check_progress(tmp)
        if TF is not None:  # else oracle() said SKIP-PART (and failed in CI)
            for c, rel in CASES + [("partitioned_strings", "model.ckpt"), ("v1_sharded", "model.ckpt")]:
                check_v2_case(c, rel, tmp)
            check_v2_filtered(tmp)
        check_destinations(tmp)
        check_kernel_copy(tmp)
        check_sync(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    T.summary()


if __name__ == "__main__":
    main()
