"""The TF 2 naming rules of docs/format.md ("Names in a mount"), written from that text and
from the protobuf wire format, for the tests to compare ckptfs with: the visible path of a key,
the full names and slot links an object graph records, and the by_name link names."""

OBJECT_GRAPH_KEY = "_CHECKPOINTABLE_OBJECT_GRAPH"
VALUE_SUFFIX = b"/.ATTRIBUTES/VARIABLE_VALUE"


def _varint(b, i):
    x = shift = 0
    while True:
        c = b[i]
        i += 1
        x |= (c & 0x7F) << shift
        shift += 7
        if c < 0x80:
            return x, i


def fields(b):
    """(field number, wire type, value) of one serialized message: ints for varints, bytes
    for length-delimited fields (the only two kinds a TrackableObjectGraph holds)."""
    i, out = 0, []
    while i < len(b):
        key, i = _varint(b, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            v, i = _varint(b, i)
        elif wt == 2:
            n, i = _varint(b, i)
            v = b[i:i + n]
            i += n
        elif wt == 1:
            v, i = b[i:i + 8], i + 8
        elif wt == 5:
            v, i = b[i:i + 4], i + 4
        else:
            raise ValueError("wire type %d" % wt)
        out.append((num, wt, v))
    return out


def object_graph(graph_bytes):
    """{key: full_name} and [(slot key, original key, slot name)] of a TrackableObjectGraph."""
    full, node_key, slots = {}, [], []
    for num, wt, node in fields(graph_bytes):
        if num != 1 or wt != 2:
            continue
        vv = None
        for f, w, v in fields(node):
            if f == 2 and w == 2:
                a = {k: val for k, ww, val in fields(v) if ww == 2}
                key = a.get(3, b"")
                if a.get(2) and key not in full:
                    full[key] = a[2]
                if a.get(1) == b"VARIABLE_VALUE":
                    vv = key
            elif f == 3 and w == 2:
                s = {k: val for k, ww, val in fields(v)}
                slots.append((s.get(1, 0), s.get(3, 0), s.get(2, b"")))
        node_key.append(vv)
    slot_list = []
    for orig, slot, name in slots:
        if orig < len(node_key) and slot < len(node_key) and node_key[orig] and node_key[slot]:
            slot_list.append((node_key[slot], node_key[orig], name))
    return full, slot_list


def graph_bytes_of(variables):
    """The object graph's bytes from a manifest's variables (its one string element), or None."""
    for v in variables:
        if v["name"] == OBJECT_GRAPH_KEY:
            return bytes.fromhex(v["strings_hex"][0])
    return None


def visible_paths(keys, has_graph):
    """{key: visible path}: the key without VALUE_SUFFIX in a checkpoint with an object graph,
    unless another key already is that path."""
    keyset = set(keys)
    out = {}
    for k in keys:
        if has_graph and k.endswith(VALUE_SUFFIX) and len(k) > len(VALUE_SUFFIX) and \
                k[:-len(VALUE_SUFFIX)] not in keyset:
            out[k] = k[:-len(VALUE_SUFFIX)]
        else:
            out[k] = k
    return out


def by_name_links(full):
    """{link name: key}: every full name, those shared by k variables as NAME~1..NAME~k in
    bytewise key order."""
    by = {}
    for key, name in full.items():
        by.setdefault(name, []).append(key)
    out = {}
    for name, keys in by.items():
        if len(keys) == 1:
            out[name] = keys[0]
        else:
            for n, key in enumerate(sorted(keys), 1):
                out[name + b"~%d" % n] = key
    return out
