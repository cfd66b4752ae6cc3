#!/usr/bin/env python3
"""SavedModel directories on real FUSE mounts (docs/mount.md, "SavedModels").

Truth: the fixtures' manifest.json (TF's reading of variables/variables), the output of
`saved_model_cli show --all` committed in tests/e2e/expected/ (made by TF 2.21's tool on the
committed fixtures), and with TF importable: saved_model_cli run now on the fixtures and on
../shared/realckpt's SavedModels, and text_format.MessageToString of the SavedModel TF parses.

- the variables tree is at the root, bytes equal to TF's;
- saved_model.pbtxt equals TF's text; signatures.txt equals saved_model_cli's output (the op set
  line compared as a set: Python prints sets in a different order on every run);
- graph.pbtxt, meta_graph.pbtxt, graph.dot, object_graph.pbtxt appear as for a checkpoint;
- reading saved_model.pbtxt and signatures.txt reads no data shard.

Exit 0 pass, 1 fail, 77 skip.
"""
import hashlib
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_mount as tm  # noqa: E402

check = tm.check
HERE = os.path.dirname(os.path.abspath(__file__))
OPS_LINE = re.compile(r"^(The MetaGraph with tag set .* contains the following ops: )(.*)$")


def ops_set(text):
    """Split the ops line off: (text with the op set replaced by a marker, [sets])."""
    lines, sets = [], []
    for line in text.split("\n"):
        m = OPS_LINE.match(line)
        if m:
            body = m.group(2)
            items = set() if body == "set()" else set(re.findall(r"'([^']*)'", body))
            sets.append(items)
            line = m.group(1) + "<ops>"
        lines.append(line)
    return "\n".join(lines), sets


def same_signatures(ours, theirs):
    a, sa = ops_set(ours)
    b, sb = ops_set(theirs)
    return a == b and sa == sb


def tf_cli():
    if os.environ.get("CKPT_NO_TF"):
        return None
    try:
        r = subprocess.run([sys.executable, "-c", "import tensorflow"], capture_output=True, timeout=300)
    except Exception:
        return None
    return r.returncode == 0


def saved_model_cli(d):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    code = ("import sys; from tensorflow.python.tools import saved_model_cli as c; "
            "sys.argv=['saved_model_cli','show','--all','--dir',sys.argv[1]]; c.main()")
    r = subprocess.run([sys.executable, "-c", code, d], capture_output=True, env=env, timeout=600)
    return r.stdout.decode("utf-8") if r.returncode == 0 else None


def tf_savedmodel_text(path):
    code = ("import sys, os; os.environ['TF_CPP_MIN_LOG_LEVEL']='3'\n"
            "from google.protobuf import text_format\n"
            "from tensorflow.core.protobuf import saved_model_pb2\n"
            "sm = saved_model_pb2.SavedModel.FromString(open(sys.argv[1],'rb').read())\n"
            "sys.stdout.buffer.write(text_format.MessageToString(sm).encode('utf-8'))\n")
    r = subprocess.run([sys.executable, "-c", code, path], capture_output=True, timeout=600)
    return r.stdout if r.returncode == 0 else None


def check_savedmodel(name, d, manifest, expected_sig, have_tf):
    with tm.Mount(d, what=name) as m:
        root = set(os.listdir(m.mnt))
        for f in ("saved_model.pbtxt", "signatures.txt", "graph.pbtxt", "meta_graph.pbtxt", "graph.dot"):
            check(f in root, "%s: no %s" % (name, f))
        if manifest:
            variables = manifest["variables"]
            view = tm.expected_view(variables, tm.generated_names(d, variables, saved_model=True))
            got = tm.walk(m.mnt)
            exp = {p: ("dir" if e[0] == "dir" else "file") for p, e in view.items()}
            check(got == exp, "%s: tree differs: %r" % (name, sorted(set(got) ^ set(exp))[:6]))
        # Listing by_name/ reads the object graph (docs/mount.md); the texts below read nothing.
        base = m.data_reads()
        check(base <= 1, "%s: the walk read data %d times" % (name, base))
        sig_size = os.stat(m.path(b"signatures.txt")).st_size
        sm_size = os.stat(m.path(b"saved_model.pbtxt")).st_size
        with open(m.path(b"signatures.txt"), "rb") as f:
            sig = f.read()
        with open(m.path(b"saved_model.pbtxt"), "rb") as f:
            smtext = f.read()
        check(len(sig) == sig_size and len(smtext) == sm_size, "%s: stat sizes differ from contents" % name)
        check(m.data_reads() == base, "%s: signatures/saved_model.pbtxt read data (%d reads)" % (name, m.data_reads() - base))
        if expected_sig is not None:
            check(same_signatures(sig.decode("utf-8"), expected_sig),
                  "%s: signatures.txt differs from saved_model_cli:\n%s\n---\n%s" % (name, sig.decode()[:600], expected_sig[:600]))
        if have_tf:
            live = saved_model_cli(d)
            if check(live is not None, "%s: saved_model_cli failed" % name):
                check(same_signatures(sig.decode("utf-8"), live), "%s: signatures.txt differs from live saved_model_cli" % name)
            want = tf_savedmodel_text(os.path.join(d, "saved_model.pb"))
            if check(want is not None, "%s: TF cannot parse saved_model.pb" % name):
                check(smtext == want, "%s: saved_model.pbtxt differs from TF's MessageToString" % name)
        if manifest:
            for p, e in view.items():
                if e[0] == "data" and e[1]["dtype"] != "string":
                    with open(m.path(p), "rb") as f:
                        check(hashlib.sha256(f.read()).hexdigest() == e[1]["sha256"], "%s: %r differs from TF" % (name, p))
    print("savedmodel %s: checked" % name, flush=True)


def main():
    tm.require_fuse()
    base = os.path.join(tm.FIXTURES, "savedmodel")
    if not os.path.isdir(base):
        print("SKIP: no SavedModel fixtures at %s" % base)
        return 77
    have_tf = tf_cli()
    print("TensorFlow tier:", "on" if have_tf else "off")
    for t in sorted(os.listdir(base)):
        d = os.path.join(base, t)
        mf = os.path.join(d, "manifest.json")
        manifest = json.load(open(mf)) if os.path.exists(mf) else None
        exp = os.path.join(HERE, "expected", "savedmodel_%s.signatures.txt" % t)
        expected_sig = open(exp, encoding="utf-8").read() if os.path.exists(exp) else None
        check(expected_sig is not None, "no committed saved_model_cli output for %s" % t)
        try:
            check_savedmodel("fixture " + t, d, manifest, expected_sig, have_tf)
        except Exception as ex:
            check(False, "%s: %s: %s" % (t, type(ex).__name__, ex))
    if tm.REALCKPT and os.path.isdir(tm.REALCKPT):
        for r in sorted(os.listdir(tm.REALCKPT)):
            d = os.path.join(tm.REALCKPT, r)
            if os.path.exists(os.path.join(d, "saved_model.pb")) and \
                    os.path.exists(os.path.join(d, "variables", "variables.index")):
                try:
                    check_savedmodel("real " + r, d, None, None, have_tf)
                except Exception as ex:
                    check(False, "%s: %s: %s" % (r, type(ex).__name__, ex))
    if tm.failures:
        print("%d failure(s)" % len(tm.failures))
        return 1
    print("all SavedModel mount checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
