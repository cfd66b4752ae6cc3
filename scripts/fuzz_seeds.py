#!/usr/bin/env python3
"""Write the fuzz targets' seed corpora (tests/fuzz/corpus/<target>/) from the fixtures.

Each seed is a real file TensorFlow wrote (an index and its data shard, a V1 file, a .meta, a
saved_model.pb, a state file, a string or variant tensor's stored bytes), in the input layout
its target expects (see the comment at the top of each tests/fuzz/fuzz_*.c). Seeds over 128
KiB are left out: the corpus is committed and replayed by ctest in every build.

    python3 scripts/fuzz_seeds.py            # rewrite tests/fuzz/corpus
"""
import glob
import hashlib
import json
import os
import shutil
import struct
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "pylib"))
import ckptwriter as cw  # noqa: E402

FIX = os.path.join(ROOT, "tests", "fixtures")
OUT = os.path.join(ROOT, "tests", "fuzz", "corpus")
MAX_SEED = 128 << 10


def put(target, data):
    if len(data) > MAX_SEED:
        return
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, hashlib.sha1(data).hexdigest()[:16]), "wb") as f:
        f.write(data)


def read(p):
    with open(p, "rb") as f:
        return f.read()


def main():
    shutil.rmtree(OUT, ignore_errors=True)
    variant = os.path.join(ROOT, "tests", "e2e", "variant", "ckpt.index")  # a DT_VARIANT tensor
    for index in sorted(glob.glob(os.path.join(FIX, "**", "*.index"), recursive=True)) + [variant]:
        idx = read(index)
        shards = sorted(glob.glob(index[:-len(".index")] + ".data-*"))
        data = read(shards[0]) if shards else b""
        put("table", idx)
        put("bundle", struct.pack("<I", len(idx)) + idx + data[:MAX_SEED // 2])
    for v1 in (os.path.join(FIX, "v1", "model.ckpt"),) + tuple(sorted(glob.glob(os.path.join(FIX, "v1_sharded", "model.ckpt-*")))):
        put("v1", read(v1))
        put("table", read(v1))
    for meta in sorted(glob.glob(os.path.join(FIX, "**", "*.meta"), recursive=True)):
        put("graph", b"\x00" + read(meta))
    for sm in sorted(glob.glob(os.path.join(FIX, "**", "saved_model.pb"), recursive=True)):
        put("graph", b"\x01" + read(sm))
        put("signatures", read(sm))
    for state in sorted(glob.glob(os.path.join(FIX, "**", "checkpoint"), recursive=True)):
        put("state", read(state))
        put("source", b"model.ckpt\ncheckpoint\n" + read(state))
    # TF 2 object graphs (objnames): the one string element of each _CHECKPOINTABLE_OBJECT_GRAPH.
    for mpath in sorted(glob.glob(os.path.join(FIX, "*", "manifest.json"))):
        with open(mpath, encoding="utf-8") as f:
            m = json.load(f)
        for v in m.get("variables", []) if isinstance(m, dict) else []:
            if v.get("name") == "_CHECKPOINTABLE_OBJECT_GRAPH" and v.get("strings_hex"):
                put("objnames", bytes.fromhex(v["strings_hex"][0]))
    put("source", b"model.ckpt.index\nmodel.ckpt.index\nmodel.ckpt.data-00000-of-00001\n")
    put("source", b"x.meta\nx-00000-of-00002\nx-00001-of-00002\n")
    # String tensors as TF encodes them (the encoding TF's tests pin down: lengths, their
    # masked CRC, then the bytes), taken from the fixtures' manifests.
    for man in sorted(glob.glob(os.path.join(FIX, "*", "manifest.json"))):
        for v in json.load(open(man)).get("variables", []):
            if "strings_hex" in v:
                el = [bytes.fromhex(h) for h in v["strings_hex"]]
                n = len(el)
                put("tensor", bytes([0, n & 0xff, (n >> 8) & 0xff]) + cw.string_tensor_encoding(el)[0])
    url_seeds()
    return 0


def url_seeds():
    """Seeds for what URL sources parse, written here from the formats (no fixture holds
    them): ListObjectsV2 pages as S3 and GCS answer them, and AWS's INI files."""
    page = (b'<?xml version="1.0" encoding="UTF-8"?>\n'
            b'<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
            b'<Name>bucket</Name><Prefix>run/</Prefix><KeyCount>3</KeyCount>'
            b'<MaxKeys>1000</MaxKeys><IsTruncated>true</IsTruncated>'
            b'<NextContinuationToken>1x&amp;Zy==</NextContinuationToken>'
            b'<Contents><Key>run/model.ckpt-10.index</Key>'
            b'<LastModified>2026-11-27T10:00:00.000Z</LastModified><ETag>&quot;0f3a&quot;</ETag>'
            b'<Size>812</Size><StorageClass>STANDARD</StorageClass></Contents>'
            b'<Contents><Key>run/model.ckpt-10.data-00000-of-00001</Key>'
            b'<LastModified>2026-11-27T10:00:01.000Z</LastModified><ETag>&quot;9b1c&quot;</ETag>'
            b'<Size>40960</Size></Contents>'
            b'<Contents><Key>run/sub/x</Key><Size>1</Size></Contents>'
            b'<CommonPrefixes><Prefix>run/sub/</Prefix></CommonPrefixes></ListBucketResult>\n')
    put("listing", b"\x04" + page)  # the prefix "run/"
    put("listing", b"\x00<ListBucketResult><IsTruncated>false</IsTruncated><Contents>"
                   b"<Key>checkpoint</Key><Size>77</Size></Contents></ListBucketResult>")
    put("awsconfig", b"[default]\naws_access_key_id = AKIDEXAMPLE\n"
                     b"aws_secret_access_key=wJalrXUtnFEMI/K7MDENG\r\n\n[research]\n"
                     b"  aws_access_key_id\t= AKIDRESEARCH \naws_session_token = tok\n"
                     b"[profile research]\nregion = eu-west-1\n; comment\n# comment\n")


if __name__ == "__main__":
    sys.exit(main())
