#!/usr/bin/env python3
"""Every `ckptfs` command and option, end to end on the fixtures.

Truth: the fixtures' manifests (TensorFlow's own reading), TensorFlow's values now
(tf.train.load_checkpoint(...).get_tensor) formatted by numpy itself
(np.array2string(x, threshold=sys.maxsize, floatmode='unique')), differences computed by numpy
from those values, fnmatch for patterns, json for --json. TF-only parts are left out (not
failed) when TensorFlow does not import or CKPT_NO_TF=1.

Covered: --version, --help of the command and of each subcommand, `help CMD`, unknown commands
and options (exit 1, never a mount); ls (names, -l, --json, PATTERN); source resolution (a
SavedModel's saved_model.pb, a sharded V1 save's .meta and data files, folders of V1 files);
cat --text for every dtype; diff (folder steps, identical, added/removed/dtype/shape, skipped
by checksum); verify (intact, damaged, missing shard, folder, SavedModel, progress bar only on
a terminal).
"""
import fnmatch
import hashlib
import json
import os
import pty
import re
import select
import shutil
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import ckpt_testlib as tl  # noqa: E402
import tf2names  # noqa: E402

T = tl.Checks()
FIX = tl.fixtures_dir()
COMMANDS = ["ls", "cat", "diff", "verify", "graph", "export", "mount"]


def load_tf():
    """tensorflow, or None with a SKIP-PART line (a failure in CI) when it or numpy is missing:
    the TF-checked parts are then left out."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if tl.oracle("numpy", whole=False) is None:
        return None
    return tl.oracle("tensorflow", whole=False)


TF = load_tf()


# ------------------------------------------------------------------------------------------
# the command line itself


def case_command_line():
    r = tl.ckptfs("--version")
    T.ok(r.rc == 0 and re.fullmatch(rb"ckptfs \d+\.\d+\.\d+\n", r.out) is not None,
         "--version: " + r.describe() + " " + repr(r.out))
    r = tl.ckptfs("--help")
    T.ok(r.rc == 0, "--help: " + r.describe())
    for c in COMMANDS:
        T.ok(re.search(rb"^  %s " % c.encode(), r.out, re.M) is not None,
             "--help lists %s: %r" % (c, r.out[:400]))
        h = tl.ckptfs(c, "--help")
        T.ok(h.rc == 0 and h.out.startswith(b"usage: ") and c.encode() in h.out.split(b"\n")[0],
             "%s --help: %s %r" % (c, h.describe(), h.out[:120]))
        h2 = tl.ckptfs("help", c)
        T.eq(h2.out, h.out, "`ckptfs help %s` is `%s --help`" % (c, c))
    r = tl.ckptfs()
    T.ok(r.rc == 1 and b"" == r.out and "usage" in r.err, "no arguments: " + r.describe())
    # An unknown word is a usage error, never a mount of the next argument.
    sample = os.path.join(FIX, "sample", "model.ckpt")
    for argv in (["verifyy", sample], ["frob", sample, FIX], ["model.ckpt"]):
        r = tl.ckptfs(*argv)
        T.ok(r.rc == 1 and "unknown command" in r.err and "mount" not in r.err.split("(")[0],
             "unknown command %r: %s" % (argv, r.describe()))
    for c, extra in (("ls", [sample]), ("cat", [sample, "global_step"]),
                     ("diff", [sample, sample]), ("verify", [sample]), ("graph", [sample])):
        r = tl.ckptfs(c, "--bogus", *extra)
        T.ok(r.rc == 1 and "--bogus" in r.err and "usage: ckptfs " + c in r.err,
             "%s --bogus: %s" % (c, r.describe()))
    for c, argv in (("ls", []), ("cat", [sample]), ("diff", [sample]), ("verify", [])):
        r = tl.ckptfs(c, *argv)
        T.eq(r.rc, 1, "%s with too few arguments: %s" % (c, r.describe()))
    # One message style: "ckptfs: SOURCE: what went wrong".
    ghost = os.path.join(FIX, "ghost.ckpt")
    for c, argv in (("ls", [ghost]), ("cat", [ghost, "x"]), ("verify", [ghost]),
                    ("graph", [ghost]), ("diff", [ghost, sample])):
        r = tl.ckptfs(c, *argv)
        T.ok(r.rc == 2 and r.err.startswith("ckptfs: " + ghost + ":"),
             "%s of a missing source: %s" % (c, r.describe()))
    r = tl.ckptfs("cat", sample, "no/such/var")
    T.ok(r.rc == 2 and r.err.startswith("ckptfs: %s: no variable named" % sample),
         "cat of a missing variable: " + r.describe())


# ------------------------------------------------------------------------------------------
# ls


def check_json_location(case, src, o, v):
    """--json's location (shard, offset, bytes, crc32c) against the fixture itself, not -l:
    the shard's bytes there are TF's tensor (the manifest's sha256, or TF's string elements
    encoded by the format rules), and they carry the stored CRC recomputed here."""
    if o["partitioned"]:
        return
    shards = sorted(f for f in os.listdir(os.path.dirname(src))
                    if f.startswith(os.path.basename(src) + ".data-"))
    what = "%s %s: --json location" % (os.path.basename(case), v["name"])
    if not T.ok(0 <= o["shard"] < len(shards), "%s: shard %s of %d" % (what, o["shard"],
                                                                      len(shards))):
        return
    with open(os.path.join(os.path.dirname(src), shards[o["shard"]]), "rb") as f:
        f.seek(o["offset"])
        raw = f.read(o["bytes"])
    crc = int(o["crc32c"], 16)
    if v["dtype"] == "string" and "strings_hex" in v:
        T.eq(tl.string_tensor_encoding([bytes.fromhex(h) for h in v["strings_hex"]]),
             (raw, crc), what + ": TF's strings, encoded, with the CRC")
    elif "sha256" in v and v["dtype"] not in ("string", "variant", "resource"):
        T.eq(hashlib.sha256(raw).hexdigest(), v["sha256"], what + ": TF's bytes (sha256)")
        T.eq(tl.crc32c(raw), crc, what + ": CRC-32C of those bytes")


def case_ls():
    for case, m in tl.fixture_cases():
        src = os.path.join(case, m["prefix"])
        if not os.path.exists(src + ".index"):
            continue
        want = [v["name"].encode("utf-8") for v in m["variables"]]
        r = tl.ckptfs("ls", src)
        got = [tl.unescape(x) for x in r.out.split(b"\n")[:-1]] if r.rc == 0 else None
        T.eq(got, want, "%s: ls names" % os.path.basename(case))
        r = tl.ckptfs("ls", "--json", src)
        objs = []
        if T.ok(r.rc == 0, "ls --json " + r.describe()):
            try:
                objs = [json.loads(x) for x in r.out.decode("utf-8").split("\n")[:-1]]
            except ValueError as e:
                T.ok(False, "%s: ls --json is not JSON lines: %s" % (case, e))
        T.eq([o["name"].encode("utf-8", "surrogateescape") for o in objs], want,
             "%s: ls --json names" % os.path.basename(case))
        rows = tl.parse_ls(tl.ckptfs("ls", "-l", src).out)
        for o, row, v in zip(objs, rows, m["variables"]):
            T.eq((o["dtype"], o["shape"]), (v["dtype"], v["shape"]),
                 "%s %s: --json dtype/shape" % (case, v["name"]))
            T.eq((o["bytes"], o["shard"], o["offset"],
                  None if o["crc32c"] is None else int(o["crc32c"], 16)),
                 (row.nbytes, row.shard, row.offset, row.crc),
                 "%s %s: --json location agrees with -l" % (case, v["name"]))
            T.eq(o["partitioned"], row.shard is None and row.crc is None,
                 "%s %s: --json partitioned" % (case, v["name"]))
            T.eq(o["shard_missing"], False, "%s %s: --json shard_missing" % (case, v["name"]))
            check_json_location(case, src, o, v)
        # PATTERN: a glob on the whole name, '*' crossing '/'; in a TF 2 checkpoint also on
        # the visible path and the full_name (docs/format.md, tests/pylib/tf2names.py).
        names = [v["name"] for v in m["variables"]]
        graph = tf2names.graph_bytes_of(m["variables"])
        vis = tf2names.visible_paths([n.encode() for n in names], graph is not None)
        fulls = tf2names.object_graph(graph)[0] if graph is not None else {}

        def matches(n, pat):
            b = n.encode("utf-8", "surrogateescape")
            alts = [n, vis[b].decode("utf-8", "surrogateescape")]
            if b in fulls:
                alts.append(fulls[b].decode("utf-8", "surrogateescape"))
            return any(fnmatch.fnmatchcase(a, pat) for a in alts)

        for pat in ("*", "*/*", "[a-d]*", "*kernel*", "nomatch-*"):
            want_p = [n.encode("utf-8") for n in names if matches(n, pat)]
            r = tl.ckptfs("ls", src, pat)
            got = [tl.unescape(x) for x in r.out.split(b"\n")[:-1]]
            T.ok(r.rc == 0 and got == want_p, "%s: ls PATTERN %r: %s" % (case, pat, r.describe()))
            r = tl.ckptfs("ls", "-l", src, pat)
            T.eq([x.name for x in tl.parse_ls(r.out)] if r.rc == 0 else None, want_p,
                 "%s: ls -l PATTERN %r" % (case, pat))
    r = tl.ckptfs("ls", "-l", "--json", os.path.join(FIX, "sample", "model.ckpt"))
    T.eq(r.rc, 1, "ls -l --json exclude each other")


# ------------------------------------------------------------------------------------------
# one resolver for every command


def case_sources(tmp):
    v1s = os.path.join(FIX, "v1_sharded")
    if os.path.isdir(v1s):
        want = tl.ckptfs("ls", "-l", os.path.join(v1s, "model.ckpt-00000-of-00002"))
        T.ok(want.rc == 0, "ls of a sharded V1 data file: " + want.describe())
        for src in ("model.ckpt.meta", "model.ckpt", "model.ckpt-00001-of-00002"):
            r = tl.ckptfs("ls", "-l", os.path.join(v1s, src))
            T.ok(r.rc == 0 and r.out == want.out, "ls of sharded V1 as %s: %s" % (src, r.describe()))
        g = tl.ckptfs("graph", os.path.join(v1s, "model.ckpt.meta"))
        T.ok(g.rc == 0 and g.out, "graph of the sharded V1 .meta: " + g.describe())
        for src in ("model.ckpt-00000-of-00002", "model.ckpt"):
            r = tl.ckptfs("graph", os.path.join(v1s, src))
            T.ok(r.rc == 0 and r.out == g.out,
                 "graph of sharded V1 given as %s finds model.ckpt.meta: %s" % (src, r.describe()))
    for flavour in ("tf1", "tf2"):
        sm = os.path.join(FIX, "savedmodel", flavour)
        if not os.path.isdir(sm):
            continue
        want = tl.ckptfs("ls", "-l", sm)
        r = tl.ckptfs("ls", "-l", os.path.join(sm, "saved_model.pb"))
        T.ok(want.rc == 0 and r.rc == 0 and r.out == want.out,
             "ls of %s/saved_model.pb lists the SavedModel's variables: %s" % (flavour, r.describe()))
        r = tl.ckptfs("verify", os.path.join(sm, "saved_model.pb"))
        T.ok(r.rc == 0 and b"all intact" in r.out, "verify of a SavedModel: " + r.describe())
    # A folder of V1 files only: one is resolved, two are named with what to pass instead.
    v1 = os.path.join(FIX, "v1")
    if os.path.isdir(v1):
        d = os.path.join(tmp, "v1only")
        os.makedirs(d)
        shutil.copy(os.path.join(v1, "model.ckpt"), d)
        want = tl.ckptfs("ls", "-l", os.path.join(v1, "model.ckpt"))
        r = tl.ckptfs("ls", "-l", d)
        T.ok(r.rc == 0 and r.out == want.out, "ls of a folder holding one V1 file: " + r.describe())
        shutil.copy(os.path.join(v1, "model.ckpt"), os.path.join(d, "other.ckpt"))
        r = tl.ckptfs("ls", d)
        T.ok(r.rc == 2 and "V1" in r.err and "name one of them" in r.err,
             "ls of a folder of two V1 files says what was found: " + r.describe())
    r = tl.ckptfs("ls", os.path.join(FIX, "README.md"))
    T.ok(r.rc == 2 and "not a" in r.err and "checkpoint" in r.err and "pass the prefix" in r.err,
         "ls of a file that is no checkpoint says what to pass: " + r.describe())


# ------------------------------------------------------------------------------------------
# cat --text


def numpy_text(x):
    import numpy as np
    x = np.asarray(x)
    if x.dtype == object or x.dtype.kind == "S":
        quoted = np.empty(x.shape, dtype=object)
        for idx in np.ndindex(x.shape):
            e = x[idx]
            quoted[idx] = '"' + tl.escape(e).replace(b'"', b'\\"').decode("utf-8") + '"'
        s = np.array2string(quoted, threshold=sys.maxsize, formatter={"all": lambda v: v}) \
            if quoted.size else "[]"
        return (s + "\n").encode("utf-8")
    name = str(x.dtype)
    if name in ("bfloat16", "float4_e2m1fn") or name.startswith("float8"):
        x = x.astype(np.float32)
    elif name in ("int4", "int2"):
        x = x.astype(np.int8)
    elif name in ("uint4", "uint2"):
        x = x.astype(np.uint8)
    return (np.array2string(x, threshold=sys.maxsize, floatmode="unique") + "\n").encode()


def case_cat_text():
    if TF is None:
        return
    import numpy as np
    for case, m in tl.fixture_cases():
        src = os.path.join(case, m["prefix"])
        if not os.path.exists(src + ".index"):
            continue
        reader = TF.train.load_checkpoint(src)
        # "many" has thousands of small variables alike: a sample of them is enough.
        for v in m["variables"][:40]:
            if v["dtype"] in ("variant", "resource"):
                continue
            try:
                x = reader.get_tensor(v["name"])
            except (TF.errors.OpError, ValueError) as e:
                # Partitioned string tensors TF reads only by restore ("Dtype string not
                # supported"); nothing else may fail.
                T.ok(v["name"] in m.get("sliced", ()) and v["dtype"] == "string",
                     "%s %s: TF cannot read it: %s" % (os.path.basename(case), v["name"], e))
                continue
            if isinstance(x, bytes):
                x = np.array(x, dtype=object)
            want = numpy_text(x)
            r = tl.cat_variable(src, v["name"], "--text")
            T.ok(r.rc == 0 and r.out == want, "%s %s: cat --text: %s\n got  %r\n want %r"
                 % (os.path.basename(case), v["name"], r.describe(), r.out[:300], want[:300]))
    # Wide enough to wrap and to need every value: numpy's own layout, no ellipsis.
    big = os.path.join(FIX, "dtypes", "dtypes")
    r = tl.ckptfs("cat", "--text", big, "big/float32_64x64")
    T.ok(r.rc == 0 and b"..." not in r.out and r.out.count(b"\n") > 64,
         "a 64x64 tensor prints every value: %s" % r.describe())


# ------------------------------------------------------------------------------------------
# diff


def parse_diff(out):
    lines = out.decode("utf-8").split("\n")
    T.ok(lines[-1] == "" and lines[-2].startswith("= "), "diff ends with a summary: %r" % out[-200:])
    changes = {}
    for ln in lines[:-2]:
        mark, rest = ln[0], ln[2:]
        name, _, what = rest.partition("\t")
        changes[name] = (mark, what)
    m = re.match(r"= (\d+) same \((\d+) by equal crc32c and size, not read; (\d+) read\), "
                 r"(\d+) changed, (\d+) added, (\d+) removed", lines[-2])
    T.ok(m is not None, "diff summary format: %r" % lines[-2])
    return changes, [int(g) for g in m.groups()] if m else None


def numpy_diff(a, b):
    import numpy as np
    a = np.asarray(a)
    b = np.asarray(b)
    if str(a.dtype) in ("bfloat16",) or str(a.dtype).startswith("float8"):
        a, b = a.astype(np.float32), b.astype(np.float32)
    a = a.astype(np.complex128 if a.dtype.kind == "c" else np.float64)
    b = b.astype(np.complex128 if b.dtype.kind == "c" else np.float64)
    d = np.abs(b - a)
    ne = a != b
    rel = np.max(d[ne] / np.abs(a[ne])) if ne.any() else 0.0
    return float(np.max(d)), float(rel)


def check_numeric_lines(label, changes, ra, rb, names):
    for n in names:
        a, b = ra.get_tensor(n), rb.get_tensor(n)
        mark, what = changes.get(n, (None, ""))
        f = re.fullmatch(r"max_abs_diff (\S+)\tmax_rel_diff (\S+)", what)
        if not T.ok(mark == "~" and f, "%s: %s changed values line: %r" % (label, n, changes.get(n))):
            continue
        want = numpy_diff(a, b)
        T.eq((float(f.group(1)), float(f.group(2))), want, "%s: %s max abs/rel diff vs numpy"
             % (label, n))


def case_diff(tmp):
    folder = os.path.join(FIX, "folder")
    steps = [os.path.join(folder, "model.ckpt-%d" % s) for s in (10, 20, 30)]
    r = tl.ckptfs("diff", steps[0], steps[0])
    changes, counts = parse_diff(r.out)
    T.ok(r.rc == 0 and not changes and counts and counts[0] == counts[1] == 5,
         "diff of a checkpoint with itself: identical, nothing read: " + r.describe())
    for a, b in ((steps[0], steps[1]), (steps[0], steps[2]), (steps[2], folder)):
        r = tl.ckptfs("diff", a, b)
        changes, counts = parse_diff(r.out)
        label = "diff %s %s" % (os.path.basename(a), os.path.basename(b))
        if b == folder:  # the folder is its latest checkpoint: step 30
            T.ok(r.rc == 0 and not changes, label + ": the folder is its latest: " + r.describe())
            continue
        T.eq(r.rc, 1, label + " exit status")
        print("%s: %s" % (label, r.out.decode().split("\n")[-2]))
        if TF is not None:
            ra, rb = TF.train.load_checkpoint(a), TF.train.load_checkpoint(b)
            names = sorted(ra.get_variable_to_shape_map())
            differ = [n for n in names if (ra.get_tensor(n) != rb.get_tensor(n)).any()]
            T.eq(sorted(changes), differ, label + ": changed names vs TF's values")
            check_numeric_lines(label, changes, ra, rb, differ)
            T.eq(counts[0] + counts[3], len(names), label + ": same + changed = all")
    if TF is None:
        return
    # Added, removed, dtype and shape changes, and tensors skipped by equal checksums: two
    # checkpoints written now by TensorFlow.
    import numpy as np
    rng = np.random.default_rng(12)
    base = {"same/w": rng.standard_normal((30, 7)).astype(np.float32),
            "same/i": np.arange(12, dtype=np.int64).reshape(3, 4),
            "moved/x": rng.standard_normal(50).astype(np.float64),
            "gone": np.ones(3, np.float32),
            "retyped": np.zeros(4, np.float32),
            "reshaped": np.zeros((2, 3), np.float32),
            "ints": np.array([5, -7, 0, 100], np.int32),
            "cplx": np.array([1 + 2j, -3j, 0.5], np.complex64),
            "words": np.array([b"a", b"b\"q"], dtype=object)}
    new = dict(base)
    del new["gone"]
    new["fresh"] = np.zeros(2, np.int8)
    new["moved/x"] = base["moved/x"] + rng.standard_normal(50) * 1e-3
    new["retyped"] = np.zeros(4, np.float64)
    new["reshaped"] = np.zeros((3, 2), np.float32)
    new["ints"] = np.array([5, -9, 1, 100], np.int32)
    new["cplx"] = np.array([1 + 2.5j, -3j, 0.25], np.complex64)
    new["words"] = np.array([b"a", b"c"], dtype=object)
    paths = []
    for tag, vals in (("a", base), ("b", new)):
        d = os.path.join(tmp, "diff_" + tag)
        os.makedirs(d)
        g = TF.Graph()
        with g.as_default():
            vs = [TF.compat.v1.Variable(v, name=k) for k, v in vals.items()]
            saver = TF.compat.v1.train.Saver(vs)
            with TF.compat.v1.Session(graph=g) as s:
                s.run(TF.compat.v1.global_variables_initializer())
                paths.append(saver.save(s, os.path.join(d, "m"), write_meta_graph=False))
    r = tl.ckptfs("diff", paths[0], paths[1])
    changes, counts = parse_diff(r.out)
    T.eq(r.rc, 1, "diff of two written checkpoints: exit status")
    T.eq(changes.get("gone"), ("-", "float32\t[3]"), "removed variable line")
    T.eq(changes.get("fresh"), ("+", "int8\t[2]"), "added variable line")
    T.eq(changes.get("retyped"), ("~", "dtype float32 -> float64"), "dtype change line")
    T.eq(changes.get("reshaped"), ("~", "shape [2, 3] -> [3, 2]"), "shape change line")
    T.eq(changes.get("words"), ("~", "values differ"), "string change line")
    T.ok("same/w" not in changes and "same/i" not in changes, "unchanged variables not listed")
    ra, rb = TF.train.load_checkpoint(paths[0]), TF.train.load_checkpoint(paths[1])
    check_numeric_lines("written pair", changes, ra, rb, ["moved/x", "ints", "cplx"])
    T.ok(counts is not None and counts[1] == 2 and counts[2] == 0,
         "the two unchanged tensors are skipped by checksum, none read: %r" % (counts,))
    print("written pair: %s" % r.out.decode().split("\n")[-2])


# ------------------------------------------------------------------------------------------
# verify


def run_on_pty(argv):
    """Run argv with stderr on a pseudo-terminal; (exit status, stdout, stderr text)."""
    master, slave = pty.openpty()
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=slave)
    os.close(slave)
    err = b""
    while True:
        r, _, _ = select.select([master], [], [], 60)
        if not r:
            break
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        err += chunk
    out = p.stdout.read()
    p.wait(60)
    os.close(master)
    return p.returncode, out, err.decode("utf-8", "replace")


def case_verify(tmp):
    sample = os.path.join(FIX, "sample", "model.ckpt")
    r = tl.ckptfs("verify", sample)
    T.ok(r.rc == 0 and b"9 tensors" in r.out and b"all intact" in r.out and r.err == "",
         "verify of the sample: intact, no progress bar off a terminal: " + r.describe())
    rc, out, err = run_on_pty([tl.ckptfs_path(), "verify", sample])
    T.ok(rc == 0 and "ETA" in err and "\r" in err and "/s" in err and "%" in err,
         "verify on a terminal draws a progress bar (bytes, rate, ETA): %r" % err[-300:])
    for case, m in tl.fixture_cases():
        r = tl.ckptfs("verify", os.path.join(case, m["prefix"]))
        T.ok(r.rc == 0 and b"all intact" in r.out,
             "verify %s: %s" % (os.path.basename(case), r.describe()))
    r = tl.ckptfs("verify", os.path.join(FIX, "folder"))
    T.ok(r.rc == 0 and r.out.count(b"all intact") == 3 and b"total: 3 checkpoints" in r.out,
         "verify of a training folder checks each checkpoint: " + r.describe())
    # A flipped byte inside one tensor: named, exit 3; the others still checked.
    rows = tl.parse_ls(tl.ckptfs("ls", "-l", sample).out)
    victim = next(x for x in rows if x.name == b"dense/kernel")
    d = os.path.join(tmp, "damaged")
    shutil.copytree(os.path.dirname(sample), d)
    shard = os.path.join(d, "model.ckpt.data-00000-of-00001")
    with open(shard, "r+b") as f:
        f.seek(victim.offset + 100)
        b = f.read(1)
        f.seek(victim.offset + 100)
        f.write(bytes([b[0] ^ 0x40]))
    r = tl.ckptfs("verify", os.path.join(d, "model.ckpt"))
    T.ok(r.rc == 3 and "dense/kernel" in r.err and b"1 damaged" in r.out
         and "dense/bias" not in r.err,
         "verify names the damaged tensor, exit 3: " + r.describe())
    # A missing shard: exit 4, the present shard's tensors still checked.
    sh = os.path.join(FIX, "sharded")
    d = os.path.join(tmp, "missing")
    shutil.copytree(sh, d)
    os.remove(os.path.join(d, "model.ckpt.data-00001-of-00002"))
    r = tl.ckptfs("verify", os.path.join(d, "model.ckpt"))
    T.ok(r.rc == 4 and b"on missing data shards" in r.out and "data-00001-of-00002" in r.err,
         "verify with a missing shard: exit 4: " + r.describe())


def main():
    if not os.path.isdir(FIX):
        tl.skip("fixtures missing at %s" % FIX)
    tl.ckptfs_path()
    tmp = tempfile.mkdtemp(prefix="ckpt_cmds_")
    try:
        case_command_line()
        case_ls()
        case_sources(tmp)
        case_cat_text()
        case_diff(tmp)
        case_verify(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    T.summary()


if __name__ == "__main__":
    main()
