"""Read and write safetensors files with json + numpy only.

Debian has no Python safetensors package, so the Python-side tests use this
(SPEC section 5). Layout: u64 little-endian header length N, N bytes of JSON
header {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {str: str}},
then the raw little-endian data section that the tensors tile exactly.

    tensors, metadata = load(path)              # dict name -> np.ndarray, dict str -> str
    save(path, tensors, metadata)               # adds "payload_sha256" like lib/nn/safetensors.c

BF16 has no numpy dtype: load() widens it to float32 (exactly); to write BF16
pass a ("BF16", uint16 array of the raw bits) tuple as the tensor.
"""
import hashlib
import json
import struct

import numpy as np

_DTYPES = {
    "F32": np.dtype("<f4"), "F16": np.dtype("<f2"), "I32": np.dtype("<i4"), "I64": np.dtype("<i8"),
    "U8": np.dtype("u1"), "U16": np.dtype("<u2"), "U32": np.dtype("<u4"),
    "F64": np.dtype("<f8"), "I8": np.dtype("i1"), "I16": np.dtype("<i2"), "U64": np.dtype("<u8"),
    "BOOL": np.dtype("?"),
}
_NAMES = {v: k for k, v in _DTYPES.items()}


def _reject_dupes(pairs):
    d = {}
    for k, v in pairs:
        if k in d:
            raise ValueError("duplicate key %r in header" % k)
        d[k] = v
    return d


def load(path, verify_checksum=True):
    """Return (dict name -> numpy array, metadata dict). Raises ValueError on a bad file."""
    with open(path, "rb") as f:
        buf = f.read()
    if len(buf) < 8:
        raise ValueError("%s: too short for the header length" % path)
    (n,) = struct.unpack("<Q", buf[:8])
    if n > len(buf) - 8:
        raise ValueError("%s: header length %d exceeds the file" % (path, n))
    header = json.loads(buf[8:8 + n].decode("utf-8"), object_pairs_hook=_reject_dupes)
    data = buf[8 + n:]
    meta = header.pop("__metadata__", None) or {}
    if not all(isinstance(v, str) for v in meta.values()):
        raise ValueError("%s: metadata values must be strings" % path)
    tensors, spans = {}, []
    for name, info in header.items():
        begin, end = info["data_offsets"]
        shape = tuple(int(x) for x in info["shape"])
        dt = info["dtype"]
        raw = np.dtype("<u2") if dt == "BF16" else _DTYPES.get(dt)
        if raw is None:
            raise ValueError("%s: tensor %r: unknown dtype %r" % (path, name, dt))
        count = int(np.prod(shape, dtype=np.int64))
        if count * raw.itemsize != end - begin:
            raise ValueError("%s: tensor %r: shape/size mismatch" % (path, name))
        a = np.frombuffer(data, dtype=raw, count=count, offset=begin).reshape(shape)
        if dt == "BF16":
            a = (a.astype(np.uint32) << 16).view(np.float32)
        tensors[name] = a.copy()
        spans.append((begin, end, name))
    at = 0
    for begin, end, name in sorted(spans):
        if begin != at:
            raise ValueError("%s: tensor %r: offsets do not tile the data section" % (path, name))
        at = end
    if at != len(data):
        raise ValueError("%s: tensors cover %d of %d data bytes" % (path, at, len(data)))
    want = meta.get("payload_sha256")
    if verify_checksum and want is not None and hashlib.sha256(data).hexdigest() != want.lower():
        raise ValueError("%s: checksum mismatch" % path)
    return tensors, meta


def save(path, tensors, metadata=None):
    """Write tensors (dict name -> array, in insertion order) with string metadata."""
    meta = dict(metadata or {})
    header, chunks, off = {}, [], 0
    for name, t in tensors.items():
        if isinstance(t, tuple):
            dt, a = t
            a = np.ascontiguousarray(a, dtype="<u2")
        else:
            a = np.ascontiguousarray(t)
            a = a.astype(a.dtype.newbyteorder("<"), copy=False)
            dt = _NAMES.get(a.dtype)
            if dt is None:
                raise ValueError("tensor %r: unsupported numpy dtype %s" % (name, a.dtype))
        b = a.tobytes()
        header[name] = {"dtype": dt, "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        chunks.append(b)
        off += len(b)
    data = b"".join(chunks)
    meta["payload_sha256"] = hashlib.sha256(data).hexdigest()
    if not all(isinstance(v, str) for v in meta.values()):
        raise ValueError("metadata values must be strings")
    h = json.dumps(dict([("__metadata__", meta)] + list(header.items())), separators=(",", ":")).encode("utf-8")
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + data)
