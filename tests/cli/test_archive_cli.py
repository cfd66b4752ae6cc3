#!/usr/bin/env python3
"""Checkpoints inside .zip, .tar and .tar.gz archives (issue 27), through `ckptfs ls`, `cat`,
`verify` and `graph`, read in place.

The archives are made here by Python's own zipfile and tarfile from TensorFlow-written files:
a BERT-style zip (a folder holding bert_model.ckpt.* and a vocabulary), a Detection-Zoo-style
tree (checkpoint/ with a state file, saved_model/, pipeline.config), a TF-Slim-style V1 file,
each as a stored zip, a deflated zip, a zip with zip64 records forced, a tar and a tar.gz; and
when TensorFlow imports, a TF 2 checkpoint written now (one large variable, so a deflated
member spans several seek points). Truths: the fixtures' manifests (what TensorFlow's
load_checkpoint read: names, sha256 of every tensor, string elements), TensorFlow's
get_tensor of the files written now, the bytes this test flipped, and the sizes and offsets
this test wrote into the directories it made lie.

Exit 0 pass, 1 fail, 77 skip (no ckptfs binary, a fixture missing).
"""
import hashlib
import io
import json
import os
import resource
import shutil
import struct
import subprocess
import sys
import tarfile
import tempfile
import zipfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import ckpt_testlib as tl  # noqa: E402

T = tl.Checks()
FIX = tl.fixtures_dir()
# Every archive command here must finish quickly and in bounded memory, damaged or not.
LIMIT_AS = 1 << 30
TIMEOUT = 60


def limited():
    resource.setrlimit(resource.RLIMIT_AS, (LIMIT_AS, LIMIT_AS))


def ck(*args):
    argv = [tl.ckptfs_path()] + list(args)
    try:
        # ASan reserves terabytes of shadow address space: under it the cap is the plain
        # build's check alone (scripts/test.sh runs both builds).
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=TIMEOUT,
                           preexec_fn=None if os.environ.get("ASAN_OPTIONS") else limited)
    except subprocess.TimeoutExpired:
        return tl.Result(argv, "timeout", b"", "[timed out after %ss]" % TIMEOUT)
    return tl.Result(argv, p.returncode, p.stdout, p.stderr.decode("utf-8", "replace"))


def manifest(case):
    path = os.path.join(FIX, case, "manifest.json")
    if not os.path.isfile(path):
        tl.skip("fixture %s missing" % case)
    with open(path) as f:
        return json.load(f)


# --- the trees the archives hold ------------------------------------------------------------

def copy(src, dst):
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    shutil.copyfile(src, dst)


def bert_tree(root):
    """uncased_L-2/ with bert_model.ckpt.{index,data,meta} (sample's files), a vocabulary."""
    d = os.path.join(root, "uncased_L-2")
    for f in os.listdir(os.path.join(FIX, "sample")):
        if f.startswith("model.ckpt"):
            copy(os.path.join(FIX, "sample", f), os.path.join(d, "bert_" + f))
    with open(os.path.join(d, "vocab.txt"), "w") as f:
        f.write("[PAD]\n[UNK]\nthe\n")


def zoo_tree(root):
    """ssd/checkpoint/ (ckpt-0 = keras_tf2, a state file), ssd/saved_model/ (savedmodel/tf2)."""
    d = os.path.join(root, "ssd")
    for f in os.listdir(os.path.join(FIX, "keras_tf2")):
        if f.startswith("ckpt."):
            copy(os.path.join(FIX, "keras_tf2", f), os.path.join(d, "checkpoint", "ckpt-0" + f[4:]))
    with open(os.path.join(d, "checkpoint", "checkpoint"), "w") as f:
        f.write('model_checkpoint_path: "ckpt-0"\nall_model_checkpoint_paths: "ckpt-0"\n')
    sm = os.path.join(FIX, "savedmodel", "tf2")
    for dirpath, _, files in os.walk(sm):
        for f in files:
            if f != "manifest.json":
                rel = os.path.relpath(os.path.join(dirpath, f), sm)
                copy(os.path.join(dirpath, f), os.path.join(d, "saved_model", rel))
    with open(os.path.join(d, "pipeline.config"), "w") as f:
        f.write("model { ssd { num_classes: 90 } }\n")


def slim_tree(root):
    """inception.ckpt: a V1 checkpoint file alone, as TF-Slim's tarballs hold."""
    copy(os.path.join(FIX, "v1", "model.ckpt"), os.path.join(root, "inception.ckpt"))


def files_of(root):
    out = []
    for dirpath, _, files in os.walk(root):
        for f in sorted(files):
            p = os.path.join(dirpath, f)
            out.append((p, os.path.relpath(p, root)))
    return sorted(out, key=lambda x: x[1])


def make_archives(tree, out, stem):
    """stem.{stored.zip,deflated.zip,zip64.zip,tar,tar.gz} of tree, by Python's libraries."""
    made = {}
    for kind, comp in (("stored", zipfile.ZIP_STORED), ("deflated", zipfile.ZIP_DEFLATED)):
        p = os.path.join(out, "%s.%s.zip" % (stem, kind))
        with zipfile.ZipFile(p, "w", comp) as z:
            for full, rel in files_of(tree):
                z.write(full, rel)
        made[kind + ".zip"] = p
    p = os.path.join(out, stem + ".zip64.zip")
    with zipfile.ZipFile(p, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as z:
        for full, rel in files_of(tree):
            with open(full, "rb") as f, z.open(rel, "w", force_zip64=True) as w:
                w.write(f.read())
    made["zip64.zip"] = p
    for kind, mode in (("tar", "w"), ("tar.gz", "w:gz")):
        p = os.path.join(out, "%s.%s" % (stem, kind))
        with tarfile.open(p, mode) as t:
            for full, rel in files_of(tree):
                t.add(full, rel)
        made[kind] = p
    return made


# --- checks against the manifests -----------------------------------------------------------

def check_listing(label, source, m):
    r = ck("ls", "-l", source)
    if not T.ok(r.rc == 0, "%s: ls: %s" % (label, r.describe())):
        return
    rows = tl.parse_ls(r.out)
    T.eq(sorted(x.name for x in rows), sorted(v["name"].encode() for v in m["variables"]),
         "%s: ls lists exactly TF's names" % label)


def check_cats(label, source, m):
    for v in m["variables"]:
        r = tl.cat_variable(source, v["name"])
        what = "%s: cat %s" % (label, v["name"])
        if not T.ok(r.rc == 0, what + ": " + r.describe()):
            continue
        if "strings_hex" in v:
            T.eq(r.out, tl.text_form([bytes.fromhex(h) for h in v["strings_hex"]]),
                 what + " text vs TF's elements")
        elif v["dtype"] != "string":
            T.eq(hashlib.sha256(r.out).hexdigest(), v["sha256"], what + " sha256 vs TF")


def check_verify(label, source, n_ckpts):
    r = ck("verify", source)
    T.ok(r.rc == 0 and r.out.count(b"all intact") == n_ckpts,
         "%s: verify finds %d checkpoint(s) all intact: %s %r" % (label, n_ckpts, r.describe(),
                                                                  r.out[-300:]))


def check_layouts(tmp):
    trees = {}
    for stem, make in (("bert", bert_tree), ("zoo", zoo_tree), ("slim", slim_tree)):
        trees[stem] = os.path.join(tmp, "tree-" + stem)
        make(trees[stem])
    sample, tf2, sm, v1 = (manifest("sample"), manifest("keras_tf2"),
                           manifest(os.path.join("savedmodel", "tf2")), manifest("v1"))
    for stem in trees:
        for kind, path in make_archives(trees[stem], tmp, stem).items():
            label = "%s.%s" % (stem, kind)
            if stem == "bert":
                # The archive alone stands for the one checkpoint inside it.
                check_listing(label, path, sample)
                check_cats(label, path, sample)
                check_listing(label + "//path", path + "//uncased_L-2/bert_model.ckpt", sample)
                check_listing(label + "//path.index", path + "//uncased_L-2/bert_model.ckpt.index",
                              sample)
                check_verify(label, path, 1)
                g = ck("graph", path)
                T.ok(g.rc == 0 and b'op: "AssignAddVariableOp"' in g.out,
                     "%s: graph prints the .meta's graph: %s" % (label, g.describe()))
            elif stem == "zoo":
                # Two things inside: ls of the archive alone lists both, each under its
                # prefix (docs/archives.md); a command taking one checkpoint names both to
                # pick from; each is reachable as ARCHIVE//PATH.
                r = ck("ls", "-l", path)
                heads = [path + "//ssd/checkpoint/ckpt-0",
                         path + "//ssd/saved_model/variables/variables"]
                if T.ok(r.rc == 0, "%s: ls of the archive alone: %s" % (label, r.describe())):
                    parts = r.out.split(b"\n\n")
                    T.eq([p.split(b"\n", 1)[0] for p in parts], [h.encode() + b":" for h in heads],
                         "%s: ls of the archive alone heads each place" % label)
                    for part, want in zip(parts, (tf2, sm)):
                        body = part.partition(b"\n")[2].rstrip(b"\n") + b"\n"
                        T.eq(sorted(x.name for x in tl.parse_ls(body)),
                             sorted(v["name"].encode() for v in want["variables"]),
                             "%s: ls lists TF's names under %s" % (label, part[:60]))
                r = ck("cat", path, "w/.ATTRIBUTES/VARIABLE_VALUE")
                T.ok(r.rc == 1 and (path + "//ssd/checkpoint") in r.err and
                     (path + "//ssd/saved_model") in r.err,
                     "%s: cat of the archive alone names both places inside: %s" % (
                         label, r.describe()))
                check_listing(label + "//ssd/checkpoint", path + "//ssd/checkpoint", tf2)
                check_cats(label + "//ssd/checkpoint", path + "//ssd/checkpoint", tf2)
                check_listing(label + "//ssd/saved_model", path + "//ssd/saved_model", sm)
                check_cats(label + "//ssd/saved_model", path + "//ssd/saved_model", sm)
                check_verify(label + "//ssd/checkpoint", path + "//ssd/checkpoint", 1)
                # verify of the archive alone checks everything inside: ckpt-0 and the
                # SavedModel's variables.
                check_verify(label, path, 2)
                g = ck("graph", "--format", "savedmodel", path + "//ssd/saved_model")
                T.ok(g.rc == 0 and b"meta_graphs {" in g.out,
                     "%s: the SavedModel's signatures are read from the archive: %s" % (
                         label, g.describe()))
                r = ck("ls", path + "//ssd/nothing")
                T.ok(r.rc not in (0, "timeout") and "ssd/nothing" in r.err,
                     "%s: a path that is not inside fails naming it: %s" % (label, r.describe()))
            else:
                check_listing(label, path, v1)
                check_cats(label, path, v1)


def check_graphs(tmp):
    """`ckptfs graph` of a .meta and a SavedModel inside archives: the text TensorFlow's
    text_format printed for the same files (tests/fixtures/graphs)."""
    g = os.path.join(FIX, "graphs")
    tree = os.path.join(tmp, "tree-graphs")
    for f in os.listdir(os.path.join(g, "mlp_v1")):
        if f.startswith("model.ckpt"):
            copy(os.path.join(g, "mlp_v1", f), os.path.join(tree, "mlp", f))
    shutil.copytree(os.path.join(g, "saved_model_tf2", "model"), os.path.join(tree, "sm"))
    made = make_archives(tree, tmp, "graphs")
    want_meta = open(os.path.join(g, "mlp_v1", "graph.pbtxt"), "rb").read()
    want_sm = open(os.path.join(g, "saved_model_tf2", "saved_model.pbtxt"), "rb").read()
    for kind, path in made.items():
        r = ck("graph", path + "//mlp/model.ckpt")
        T.ok(r.rc == 0 and r.out == want_meta,
             "graphs.%s: graph of the .meta equals TF's text: %s" % (kind, r.describe()))
        r = ck("graph", "--format", "savedmodel", path + "//sm")
        T.ok(r.rc == 0 and r.out == want_sm,
             "graphs.%s: the SavedModel equals TF's text: %s" % (kind, r.describe()))


# --- a TF 2 checkpoint written now ------------------------------------------------------------

def tf_module():
    # Without TF: a SKIP-PART line (a failure in CI: tests/README.md "Skips").
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    return tl.oracle("tensorflow", whole=False)


def check_fresh_tf(tmp):
    tf = tf_module()
    if tf is None:
        print("TensorFlow not importable: the fresh-checkpoint part is left out")
        return
    import numpy as np
    rng = np.random.default_rng(27)
    d = os.path.join(tmp, "fresh", "run")
    os.makedirs(d)
    big = rng.standard_normal((1536, 1024)).astype(np.float32)  # 6 MiB: several seek points
    ck_ = tf.train.Checkpoint(
        big=tf.Variable(big),
        step=tf.Variable(np.int64(41)),
        words=tf.Variable(np.array([b"alpha", b"", b"\x00\xff"], dtype=object)),
        half=tf.Variable(rng.standard_normal((7, 5)).astype(np.float16)))
    prefix = ck_.write(os.path.join(d, "ckpt"))
    reader = tf.train.load_checkpoint(prefix)
    names = sorted(reader.get_variable_to_shape_map())
    made = make_archives(os.path.join(tmp, "fresh"), tmp, "fresh")
    for kind, path in made.items():
        label = "fresh.%s" % kind
        r = ck("ls", "-l", path)
        if not T.ok(r.rc == 0, "%s: ls: %s" % (label, r.describe())):
            continue
        T.eq(sorted(x.name for x in tl.parse_ls(r.out)), sorted(n.encode() for n in names),
             label + ": ls lists TF's names")
        for n in names:
            want = reader.get_tensor(n)
            got = tl.cat_variable(path, n)
            what = "%s: cat %s vs TF get_tensor" % (label, n)
            if not T.ok(got.rc == 0, what + ": " + got.describe()):
                continue
            arr = np.asarray(want)
            if arr.dtype.kind == "S":  # a scalar string: TF gives bytes
                T.eq(got.out, tl.text_form([bytes(want)]), what)
            elif arr.dtype == object:
                T.eq(got.out, tl.text_form([bytes(x) for x in arr.reshape(-1)]), what)
            else:
                T.ok(got.out == arr.astype(arr.dtype.newbyteorder("<")).tobytes(), what)


# --- damaged and lying archives ---------------------------------------------------------------

def member_data(path, name):
    """(offset, length) of a zip member's data, from its local header (read here)."""
    with zipfile.ZipFile(path) as z:
        info = z.getinfo(name)
    with open(path, "rb") as f:
        f.seek(info.header_offset)
        h = f.read(30)
    nl, xl = struct.unpack("<HH", h[26:30])
    return info.header_offset + 30 + nl + xl, info.compress_size


def patched(src, dst, edits):
    data = bytearray(open(src, "rb").read())
    for off, b in edits:
        data[off:off + len(b)] = b
    with open(dst, "wb") as f:
        f.write(data)
    return dst


def cd_entry(path, name):
    """Offset of name's central directory entry (found by its signature and name here)."""
    data = open(path, "rb").read()
    eocd = data.rfind(b"PK\x05\x06")
    cd_off = struct.unpack("<I", data[eocd + 16:eocd + 20])[0]
    p = cd_off
    while data[p:p + 4] == b"PK\x01\x02":
        nl, xl, cl = struct.unpack("<HHH", data[p + 28:p + 34])
        if data[p + 46:p + 46 + nl] == name.encode():
            return p
        p += 46 + nl + xl + cl
    raise AssertionError("no directory entry for " + name)


def tar_size_lie(path, size):
    """Edits giving the first header of the tar at path the size field size, with its checksum
    recomputed by the ustar rule (the sum of the header's bytes, the checksum field as spaces)."""
    h = bytearray(open(path, "rb").read(512))
    h[124:136] = b"%011o\0" % size
    h[148:156] = b" " * 8
    h[148:156] = b"%06o\0 " % sum(h)
    return [(0, bytes(h))]


def fails(label, r, *words):
    ok = r.rc not in (0, "timeout") and isinstance(r.rc, int) and r.rc < 128 and all(
        w in r.err for w in words)
    T.ok(ok, "%s: a clear error (%s), never a crash or hang: %s" % (label, ", ".join(words),
                                                                   r.describe()))


def check_damage(tmp):
    tree = os.path.join(tmp, "tree-bert")
    os.makedirs(os.path.join(tmp, "dmg"))
    made = make_archives(tree, os.path.join(tmp, "dmg"), "bert")
    data_name = "uncased_L-2/bert_model.ckpt.data-00000-of-00001"
    m = manifest("sample")

    # A damaged stored member: its tensor fails TF's checksum; the others still read.
    st = made["stored.zip"]
    off, n = member_data(st, data_name)
    bad = patched(st, st + ".bad.zip", [(off + n // 2, b"\xa5\xa5")])
    r = ck("verify", bad)
    T.ok(r.rc != 0 and b"damaged" in r.out and b"1 damaged" in r.out,
         "damaged stored member: verify finds one damaged tensor: %s %r" % (r.describe(), r.out))
    intact = [v for v in m["variables"] if v["nbytes"] < 64]
    r = tl.cat_variable(bad, intact[0]["name"])
    T.ok(r.rc == 0 and hashlib.sha256(r.out).hexdigest() == intact[0]["sha256"],
         "damaged stored member: an intact tensor still reads right: " + r.describe())

    # A damaged deflated member: inflate or the CRC-32 refuses it, naming the member.
    df = made["deflated.zip"]
    off, n = member_data(df, data_name)
    bad = patched(df, df + ".bad.zip", [(off + n // 2, bytes(16))])
    r = ck("verify", bad)
    T.ok(r.rc != 0 and (b"damaged" in r.out or "damaged" in r.err or "CRC" in r.err),
         "damaged deflated member: verify fails: %s %r" % (r.describe(), r.out))

    # Truncated archives of every kind.
    for kind in ("stored.zip", "tar", "tar.gz"):
        p = made[kind]
        cut = p + ".cut." + kind
        with open(p, "rb") as f, open(cut, "wb") as g:
            g.write(f.read()[: os.path.getsize(p) * 6 // 10])
        fails("truncated " + kind, ck("ls", cut), os.path.basename(cut))

    # A directory that lies: a size, a local header's offset, the directory's own offset.
    e = cd_entry(st, data_name)
    fails("zip directory: a member's size past the directory",
          ck("ls", patched(st, st + ".l1.zip", [(e + 20, struct.pack("<I", 0x7fffff00)),
                                                  (e + 24, struct.pack("<I", 0x7fffff00))])),
          "past the start of the directory")
    fails("zip directory: a local header offset pointing elsewhere",
          ck("verify", patched(st, st + ".l2.zip", [(e + 42, struct.pack("<I", 5))])),
          "no local header at offset 5")
    data = open(st, "rb").read()
    eocd = data.rfind(b"PK\x05\x06")
    fails("zip end record: the directory's offset",
          ck("ls", patched(st, st + ".l3.zip", [(eocd + 16, struct.pack("<I", 3))])),
          "does not end where its end record is")
    e = cd_entry(df, data_name)
    usize = struct.unpack("<I", open(df, "rb").read()[e + 24:e + 28])[0]
    fails("zip directory: a deflated member smaller than its data",
          ck("verify", patched(df, df + ".l5.zip", [(e + 24, struct.pack("<I", usize - 4096))])),
          "bert_model.ckpt.data")
    # The index is read whole: a size that lies either way is caught by inflate or the CRC-32.
    ix = cd_entry(df, "uncased_L-2/bert_model.ckpt.index")
    usize = struct.unpack("<I", open(df, "rb").read()[ix + 24:ix + 28])[0]
    fails("zip directory: a deflated member larger than its data",
          ck("ls", patched(df, df + ".l4.zip", [(ix + 24, struct.pack("<I", usize + 4096))])),
          "the compressed stream ends at %d bytes" % usize)
    fails("zip directory: a deflated member smaller than its data",
          ck("ls", patched(df, df + ".l6.zip", [(ix + 24, struct.pack("<I", usize - 16))])),
          "CRC-32 mismatch")

    # A tar header that lies about its checksum, and about its size.
    t = made["tar"]
    with tarfile.open(t) as tf_:
        second = tf_.getmembers()[1].offset
    fails("tar header with a bad checksum",
          ck("ls", patched(t, t + ".h1.tar", [(second, b"X")])),
          "no tar header at offset %d" % second)
    fails("tar header claiming more bytes than there are",
          ck("ls", patched(t, t + ".h2.tar", tar_size_lie(t, 0o77777777777))),
          "past the archive's end")

    # A data shard left out of the archive is a missing shard: listed, warned, not readable.
    part = os.path.join(tmp, "dmg", "index-only.zip")
    with zipfile.ZipFile(st) as z, zipfile.ZipFile(part, "w") as w:
        for n in z.namelist():
            if n != data_name:
                w.writestr(n, z.read(n))
    r = ck("ls", "-l", part)
    T.ok(r.rc == 0 and "missing" in r.err and len(tl.parse_ls(r.out)) == len(m["variables"]),
         "a zip without its data shard lists every variable and warns: " + r.describe())
    r = tl.cat_variable(part, m["variables"][0]["name"])
    T.ok(r.rc not in (0, "timeout") and "data-00000-of-00001" in r.err,
         "reading a variable of the missing shard fails naming it: " + r.describe())

    # Not an archive at all, and a missing archive.
    junk = os.path.join(tmp, "dmg", "junk.zip")
    with open(junk, "wb") as f:
        f.write(b"not an archive\n" * 100)
    fails("not an archive", ck("ls", junk), "not a zip, tar or gzip archive")
    fails("no such archive", ck("ls", os.path.join(tmp, "dmg", "absent.tar.gz")), "absent.tar.gz")


def check_long_names(tmp):
    """A checkpoint under a 150-character folder, in the three tar dialects Python writes: GNU
    (an 'L' member carries the long name), pax (an 'x' record's path) and ustar (the name split
    into prefix and name fields); each lists and cats as TF read the sample."""
    sample = manifest("sample")
    tree = os.path.join(tmp, "tree-long")
    deep = "/".join(["d%02d-%s" % (i, "x" * 26) for i in range(5)])  # 5 x 30 = 150 characters
    for f in os.listdir(os.path.join(FIX, "sample")):
        if f.startswith("model.ckpt"):
            copy(os.path.join(FIX, "sample", f), os.path.join(tree, deep, f))
    for fmt, label in ((tarfile.GNU_FORMAT, "gnu"), (tarfile.PAX_FORMAT, "pax"),
                       (tarfile.USTAR_FORMAT, "ustar")):
        p = os.path.join(tmp, "long.%s.tar" % label)
        with tarfile.open(p, "w", format=fmt) as t:
            for full, rel in files_of(tree):
                t.add(full, rel)
        src = p + "//" + deep + "/model.ckpt"
        check_listing("long names, " + label, src, sample)
        check_cats("long names, " + label, src, sample)


def main():
    tl.ckptfs_path()
    tmp = tempfile.mkdtemp(prefix="ckpt-archive-")
    try:
        check_layouts(tmp)
        check_graphs(tmp)
        check_fresh_tf(tmp)
        check_damage(tmp)
        check_long_names(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    T.summary()


if __name__ == "__main__":
    main()
