#!/usr/bin/env python3
"""file:// URLs as SOURCE (RFC 8089: file:///PATH, file://localhost/PATH, %XX escapes): a
scheme registered in reader/io (one file, one line), read by the local byte source.

Truth: TensorFlow's tf.train.load_checkpoint(PATH).get_tensor(name) of the same checkpoint by
its plain path, as bytes (numpy's tobytes, C order).

Checked: a real mount of file:///.../sample/model.ckpt shows every variable with TF's bytes;
a training folder mounted as file://localhost/... with an escaped character lists its steps
and serves the latest's bytes as TF reads them; every command takes the URL: `ls` lists TF's
names, `cat` gives TF's bytes, `export` writes a checkpoint TF reads back with the same
bytes, and `verify`, `graph`, `stats`, `du`, `diff` (against the plain path) succeed; a file
URL without an absolute path is refused with a message, never a crash.
"""
import os
import sys
import tempfile

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import ckpt_testlib as tl  # noqa: E402
import test_mount as tm  # noqa: E402

T = tl.Checks()


def url_of(path, host=""):
    return "file://" + host + os.path.abspath(path)


def tf_bytes(reader, name):
    return reader.get_tensor(name).tobytes()


def check_mount_prefix(tf, fix):
    prefix = os.path.join(fix, "sample", "model.ckpt")
    reader = tf.train.load_checkpoint(prefix)
    names = sorted(reader.get_variable_to_shape_map())
    variables = [{"name": n} for n in names]
    tm.expected_view(variables)  # sets each variable's visible path, "_path"
    with tm.Mount(url_of(prefix), what="file:// prefix") as m:
        for v in variables:
            with open(m.path(v["_path"]), "rb") as f:
                got = f.read()
            T.eq(got, tf_bytes(reader, v["name"]), "mount of file://: %s" % v["name"])


def check_mount_folder(tf, fix):
    folder = os.path.join(fix, "folder")
    latest = tf.train.latest_checkpoint(folder)
    reader = tf.train.load_checkpoint(latest)
    # "folder" with its 'f' escaped (%66), through the localhost form.
    url = url_of(folder, "localhost")
    url = url[: url.rindex("/folder")] + "/%66older"
    with tm.Mount(url, what="file:// folder") as m:
        steps = sorted(e for e in os.listdir(m.mnt) if e.startswith("model.ckpt-"))
        T.eq(steps, ["model.ckpt-10", "model.ckpt-20", "model.ckpt-30"], "file:// folder: steps")
        base = os.path.basename(latest)
        variables = [{"name": n} for n in sorted(reader.get_variable_to_shape_map())]
        tm.expected_view(variables)  # sets each variable's visible path, "_path"
        for v in variables:
            with open(m.path(base.encode() + b"/" + v["_path"]), "rb") as f:
                T.eq(f.read(), tf_bytes(reader, v["name"]),
                     "file:// folder %s: %s" % (base, v["name"]))


def check_commands(tf, fix):
    prefix = os.path.join(fix, "sample", "model.ckpt")
    url = url_of(prefix)
    reader = tf.train.load_checkpoint(prefix)
    names = sorted(reader.get_variable_to_shape_map())
    r = tl.ckptfs("ls", "-l", url)
    T.ok(r.rc == 0, "ls file://: " + r.describe())
    T.eq(sorted(x.name for x in tl.parse_ls(r.out)), [n.encode() for n in names],
         "ls file:// names are TF's")
    for name in names:
        r = tl.cat_variable(url, name)
        T.ok(r.rc == 0 and r.out == tf_bytes(reader, name), "cat file:// %s: %s" % (name, r.describe()))
    for argv in (["verify", url], ["graph", url], ["stats", url], ["du", url],
                 ["diff", url, prefix]):
        r = tl.ckptfs(*argv)
        T.ok(r.rc == 0 and r.out, "%s: %s" % (" ".join(argv[:1]), r.describe()))
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "exported")
        r = tl.ckptfs("export", url, out)
        T.ok(r.rc == 0, "export file://: " + r.describe())
        exported = tf.train.load_checkpoint(out) if r.rc == 0 else None
        for name in names if exported else ():
            T.eq(tf_bytes(exported, name), tf_bytes(reader, name), "export of file://: " + name)
    r = tl.ckptfs("ls", "file://relative/model.ckpt")
    T.ok(r.rc not in (0, "timeout") and r.rc < 128 and "file URL" in r.err,
         "a file URL without an absolute path is refused: " + r.describe())


def main():
    tm.require_fuse()
    tf = tl.oracle("tensorflow")
    fix = tl.fixtures_dir()
    check_commands(tf, fix)
    check_mount_prefix(tf, fix)
    check_mount_folder(tf, fix)
    T.summary()


if __name__ == "__main__":
    main()
