"""The one Python writer of TensorFlow's checkpoint formats, for the tests and scripts (stdlib
only). Written from the format facts (docs/format.md and the TF sources it cites), never from
our C reader, so that what the tests write is an independent check of what ckptfs reads.

    sys.path.insert(0, os.path.join(REPO, "tests", "pylib"))
    import ckptwriter as cw

What is here, bottom up:
  - CRC-32C (Castagnoli; the C module `crc32c` when installed, a table otherwise) and the
    LevelDB-style mask;
  - varints and protobuf fields (varint, length-delimited, fixed32);
  - the messages we need: TensorShapeProto, TensorSliceProto, BundleHeaderProto,
    BundleEntryProto, the V1 SavedTensorSlices meta and records;
  - the string-tensor encoding of a V2 data shard and its checksum;
  - table (SSTable) blocks with prefix-compressed keys and restarts, block trailers, block
    handles, the footer, and a streaming TableWriter;
  - OrderedCode slice keys;
  - V2Writer (a prefix's data shard and .index) and v1_file (a V1 checkpoint file).

Options that choose between two valid encodings (zero fields written or omitted, which index
separators) exist because existing tests and benchmarks were written with both; each says
which one TensorFlow itself writes.
"""
import io
import struct

TABLE_MAGIC = 0xDB4775248B80FB57
FOOTER_SIZE = 48          # two block handles padded to 40 bytes, then the 8-byte magic
BLOCK_SIZE = 262144       # TF's bundle index: 256 KiB blocks
RESTART_INTERVAL = 16

DT_FLOAT, DT_UINT8, DT_STRING, DT_VARIANT = 1, 4, 7, 21


# --------------------------------------------------------------------------------------------
# CRC-32C (reflected polynomial 0x82F63B78) and its mask


def _make_table():
    tab = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        tab.append(c)
    return tab


_CRC_TABLE = _make_table()

try:
    import crc32c as _fast  # pip install crc32c: the same function in C, for big files

    def crc32c(data, crc=0):
        """CRC-32C of data, continuing from crc (0 to start)."""
        return _fast.crc32c(data, crc)
except ImportError:
    def crc32c(data, crc=0):
        """CRC-32C of data, continuing from crc (0 to start)."""
        crc ^= 0xFFFFFFFF
        tab = _CRC_TABLE
        for b in data:
            crc = tab[(crc ^ b) & 0xFF] ^ (crc >> 8)
        return crc ^ 0xFFFFFFFF


def crc_mask(crc):
    """The masked form stored in block trailers and BundleEntryProto.crc32c."""
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF


# --------------------------------------------------------------------------------------------
# varints and protobuf fields


def varint(v):
    """Base-128 varint; a negative value as its 64-bit two's complement (10 bytes)."""
    if v < 0:
        v &= (1 << 64) - 1
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def field_varint(num, v, explicit_zero=True):
    """A varint field; with explicit_zero=False a 0 is omitted, as proto3 writers do."""
    if not v and not explicit_zero:
        return b""
    return varint(num << 3) + varint(v)


def field_bytes(num, b):
    """A length-delimited field (bytes, string or embedded message)."""
    return varint(num << 3 | 2) + varint(len(b)) + b


def field_fixed32(num, v):
    return varint(num << 3 | 5) + struct.pack("<I", v)


# --------------------------------------------------------------------------------------------
# messages


def tensor_shape(dims):
    """TensorShapeProto: one `dim { size }` per dimension (a 0 size left out)."""
    return b"".join(field_bytes(2, field_varint(1, d) if d else b"") for d in dims)


def tensor_slice(extents):
    """TensorSliceProto; extents: per dimension (start, length), or None for the full extent
    (an empty Extent). start or length None leaves that field out."""
    out = b""
    for e in extents:
        start, length = e if e else (None, None)
        ext = b""
        if start is not None:
            ext += field_varint(1, start)
        if length is not None:
            ext += field_varint(2, length)
        out += field_bytes(1, ext)
    return out


def bundle_header(num_shards=1):
    """BundleHeaderProto: num_shards, little-endian (the default 0, left out), version
    {producer: 1}. The value of the index's empty key."""
    return field_varint(1, num_shards) + field_bytes(3, field_varint(1, 1))


def bundle_entry(dtype, dims, shard=0, offset=0, size=0, crc=0, slices=None,
                 explicit_zeros=False):
    """BundleEntryProto. crc is the unmasked CRC-32C of the tensor's bytes (stored masked);
    slices: a list of extents lists (see tensor_slice) for a partitioned tensor's full entry.
    TF (proto3) leaves zero varint fields out; explicit_zeros=True writes them all."""
    z = explicit_zeros
    b = (field_varint(1, dtype, z) + field_bytes(2, tensor_shape(dims)) +
         field_varint(3, shard, z) + field_varint(4, offset, z) + field_varint(5, size, z) +
         field_fixed32(6, crc_mask(crc)))
    for s in slices or []:
        b += field_bytes(7, tensor_slice(s))
    return b


def string_tensor_encoding(elements):
    """(stored bytes, unmasked whole-tensor CRC-32C) of a DT_STRING tensor in a V2 data shard:
    varint lengths, Mask(L) where L = CRC over each length as uint32 LE (uint64 if >= 2^32),
    then the elements; the tensor CRC continues from L over the masked-L bytes and elements."""
    lens = b"".join(varint(len(e)) for e in elements)
    crc_l = 0
    for e in elements:
        crc_l = crc32c(struct.pack("<I" if len(e) <= 0xFFFFFFFF else "<Q", len(e)), crc_l)
    masked = struct.pack("<I", crc_mask(crc_l))
    crc = crc32c(masked, crc_l)
    for e in elements:
        crc = crc32c(e, crc)
    return lens + masked + b"".join(elements), crc


# --------------------------------------------------------------------------------------------
# tables (SSTables)


class BlockBuilder:
    """One table block: entries (shared, non-shared, value lengths; key suffix; value) with a
    full key every restart_interval entries, then the restart offsets and their count."""

    def __init__(self, restart_interval=RESTART_INTERVAL):
        self.interval = restart_interval
        self.buf, self.restarts, self.count, self.last = bytearray(), [0], 0, b""

    def add(self, key, value):
        shared = 0
        if self.count % self.interval:
            n = min(len(self.last), len(key))
            while shared < n and self.last[shared] == key[shared]:
                shared += 1
        elif self.count:
            self.restarts.append(len(self.buf))
        self.buf += varint(shared) + varint(len(key) - shared) + varint(len(value))
        self.buf += key[shared:] + value
        self.count += 1
        self.last = key

    def size(self):
        return len(self.buf) + 4 * len(self.restarts) + 4

    def finish(self):
        return bytes(self.buf) + b"".join(struct.pack("<I", r) for r in self.restarts) + \
            struct.pack("<I", len(self.restarts))


def block(entries, restart_interval=RESTART_INTERVAL):
    """The contents of one block holding entries [(key, value)] (already sorted)."""
    b = BlockBuilder(restart_interval)
    for k, v in entries:
        b.add(k, v)
    return b.finish()


def block_trailer(contents, compression=0):
    """The 5 bytes after a block: compression type, masked CRC-32C of contents + that byte."""
    return bytes([compression]) + struct.pack("<I", crc_mask(crc32c(contents +
                                                                    bytes([compression]))))


def block_handle(offset, size):
    return varint(offset) + varint(size)


def footer(meta_handle, index_handle):
    """The 48-byte footer: the metaindex and index block handles, zero padding, the magic."""
    h = meta_handle + index_handle
    return h + b"\0" * (FOOTER_SIZE - 8 - len(h)) + struct.pack("<Q", TABLE_MAGIC)


class TableWriter:
    """Writes a table to f (anything with write()): data blocks of sorted entries, an empty
    metaindex block, the index block (restart interval 1) and the footer.

    A data block ends once it reaches block_size bytes (TF: 256 KiB) or block_entries entries.
    Index keys: TF writes a short separator between blocks; here either each block's last key
    (the final block: last key + 0xff), or with successor_keys=True last key + 0xff for every
    block. Both sort at or after the block's keys, which is all a reader relies on.
    """

    def __init__(self, f, block_size=BLOCK_SIZE, block_entries=None, successor_keys=False):
        self.f, self.offset = f, 0
        self.block_size, self.block_entries = block_size, block_entries
        self.successor_keys = successor_keys
        self.block, self.last, self.index, self.pending = BlockBuilder(), b"", [], None

    def add(self, key, value):
        if self.pending is not None:
            self.index.append((self.last, self.pending))
            self.pending = None
        self.block.add(key, value)
        self.last = key
        if ((self.block_size and self.block.size() >= self.block_size) or
                (self.block_entries and self.block.count >= self.block_entries)):
            self.pending = self._write_block(self.block.finish())
            self.block = BlockBuilder()
            if self.successor_keys:
                self.index.append((self.last + b"\xff", self.pending))
                self.pending = None

    def _write_block(self, contents):
        handle = block_handle(self.offset, len(contents))
        self.f.write(contents + block_trailer(contents))
        self.offset += len(contents) + 5
        return handle

    def finish(self):
        if self.block.count:
            self.pending = self._write_block(self.block.finish())
        if self.pending is not None:
            self.index.append((self.last + b"\xff", self.pending))
        meta = self._write_block(block([]))
        idx = self._write_block(block(self.index, 1))
        self.f.write(footer(meta, idx))


def table(entries, **options):
    """A whole table (bytes) of sorted entries [(key, value)]; options as TableWriter's."""
    out = io.BytesIO()
    t = TableWriter(out, **options)
    for k, v in entries:
        t.add(k, v)
    t.finish()
    return out.getvalue()


# --------------------------------------------------------------------------------------------
# slice keys (OrderedCode)


def _oc_num(v):
    """OrderedCode unsigned number: length byte, then big-endian bytes."""
    b = v.to_bytes((v.bit_length() + 7) // 8, "big") if v else b""
    return bytes([len(b)]) + b


_OC_SIGNED_HEAD = {1: (0x80, 0), 2: (0xc0, 0), 3: (0xe0, 0), 4: (0xf0, 0), 5: (0xf8, 0),
                   6: (0xfc, 0), 7: (0xfe, 0), 8: (0xff, 0), 9: (0xff, 0x80), 10: (0xff, 0xc0)}


def _oc_signed(v):
    """OrderedCode signed number: a length prefix of 1 bits in the leading byte(s)."""
    x = v if v >= 0 else ~v
    if x < 64:
        return bytes([(0x80 ^ v) & 0xff])
    ln = min((x.bit_length() + 7) // 7, 10)
    b = bytearray((v & ((1 << 80) - 1)).to_bytes(10, "big")[10 - ln:])
    head = _OC_SIGNED_HEAD[ln]
    b[0] ^= head[0]
    if ln > 1:
        b[1] ^= head[1]
    return bytes(b)


def slice_key(name, extents):
    """The table key of one slice: 0, the name (0 -> 0 0xff, 0xff -> 0xff 0), 0 1, the rank,
    then (start, length) per dimension, length -1 for a full extent (None)."""
    out = bytearray(b"\x00")
    for c in name:
        out.append(c)
        if c == 0:
            out.append(0xff)
        elif c == 0xff:
            out.append(0)
    out += b"\x00\x01" + _oc_num(len(extents))
    for e in extents:
        s, n = (0, -1) if e is None else e
        out += _oc_signed(s) + _oc_signed(n)
    return bytes(out)


# --------------------------------------------------------------------------------------------
# whole checkpoints


class V2Writer:
    """A V2 checkpoint: PREFIX.data-NNNNN-of-SSSSS (num_shards of them) written as tensors are
    added, PREFIX.index (header + sorted entries) at close()."""

    def __init__(self, prefix, num_shards=1, **table_options):
        self.prefix, self.table_options = prefix, table_options
        self.data = [open(self.shard_path(k, num_shards), "wb") for k in range(num_shards)]
        self.offset, self.entries = [0] * num_shards, {}

    def shard_path(self, k, num_shards=None):
        """The path of data shard k (TF's name: five digits, then the count in five)."""
        n = len(self.data) if num_shards is None else num_shards
        return "%s.data-%05d-of-%05d" % (self.prefix, k, n)

    def add(self, name, dtype, dims, data, shard=0):
        """data: the tensor's bytes, or an iterable of byte chunks (streamed, CRC'd as read),
        appended to data shard `shard`."""
        chunks = [data] if isinstance(data, (bytes, bytearray)) else data
        crc, size = 0, 0
        for c in chunks:
            self.data[shard].write(c)
            crc = crc32c(c, crc)
            size += len(c)
        self.entries[name] = bundle_entry(dtype, dims, shard, self.offset[shard], size, crc)
        self.offset[shard] += size

    def close(self):
        for f in self.data:
            f.close()
        with open(self.prefix + ".index", "wb") as f:
            t = TableWriter(f, **self.table_options)
            t.add(b"", bundle_header(len(self.data)))
            for k in sorted(self.entries):
                t.add(k, self.entries[k])
            t.finish()


def saved_slices_meta(tensors):
    """The V1 SavedSlices value of the empty key; tensors: [(name, dtype, dims, [extents])]."""
    m = b""
    for name, dt, dims, slices in tensors:
        t = field_bytes(1, name) + field_bytes(2, tensor_shape(dims)) + field_varint(3, dt)
        for s in slices:
            t += field_bytes(4, tensor_slice(s))
        m += field_bytes(1, t)
    m += field_bytes(2, field_varint(1, 1))    # versions {producer: 1}
    return field_bytes(1, m)


def saved_slice_record(name, extents, tensorproto):
    """The V1 SavedSlices value of one slice key: data {name, slice, data: TensorProto}."""
    return field_bytes(2, field_bytes(1, name) + field_bytes(2, tensor_slice(extents)) +
                       field_bytes(3, tensorproto))


def v1_file(tensors, records, **table_options):
    """A V1 checkpoint file: the meta and one record per (name, extents, TensorProto bytes).
    Default table options as the hostile tests were written: 1000 entries a block."""
    ents = [(b"", saved_slices_meta(tensors))]
    for name, ext, tp in records:
        ents.append((slice_key(name, ext), saved_slice_record(name, ext, tp)))
    ents.sort()
    opts = dict(block_size=None, block_entries=1000, successor_keys=True)
    opts.update(table_options)
    return table(ents, **opts)


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)
