"""A minimal GGUF v3 writer for steerling (llama architecture, F32 tensors). Follows the layout that
steerbench's own writer uses (src/llama/synthetic-model.ts): key/value pairs, tensor infos, then each
tensor's data padded to the 32-byte alignment."""

import struct

ALIGN = 32
T_UINT32, T_INT32, T_FLOAT32, T_BOOL, T_STRING, T_ARRAY = 4, 5, 6, 7, 8, 9
GGML_F32 = 0


def _str(s):
    b = s.encode("utf-8")
    return struct.pack("<Q", len(b)) + b


def _value(kind, v):
    if kind == "u32":
        return struct.pack("<I", T_UINT32) + struct.pack("<I", v)
    if kind == "f32":
        return struct.pack("<I", T_FLOAT32) + struct.pack("<f", v)
    if kind == "bool":
        return struct.pack("<I", T_BOOL) + struct.pack("<?", v)
    if kind == "str":
        return struct.pack("<I", T_STRING) + _str(v)
    if kind == "str[]":
        return struct.pack("<IIQ", T_ARRAY, T_STRING, len(v)) + b"".join(_str(x) for x in v)
    if kind == "f32[]":
        return struct.pack("<IIQ", T_ARRAY, T_FLOAT32, len(v)) + struct.pack(f"<{len(v)}f", *v)
    if kind == "i32[]":
        return struct.pack("<IIQ", T_ARRAY, T_INT32, len(v)) + struct.pack(f"<{len(v)}i", *v)
    raise ValueError(kind)


def write_gguf(path, kv, tensors):
    """kv: list of (key, kind, value); tensors: list of (name, float32 numpy array in row-major torch
    layout). ggml's ne is the reversed numpy shape (ne[0] is the contiguous dimension)."""
    head = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(kv))
    head += b"".join(_str(k) + _value(kind, v) for k, kind, v in kv)
    infos = b""
    offset = 0
    blobs = []
    for name, arr in tensors:
        data = arr.astype("<f4", copy=False).tobytes()
        ne = list(reversed(arr.shape))
        infos += _str(name) + struct.pack("<I", len(ne)) + b"".join(struct.pack("<q", d) for d in ne)
        infos += struct.pack("<IQ", GGML_F32, offset)
        blobs.append(data)
        offset += (len(data) + ALIGN - 1) // ALIGN * ALIGN
    with open(path, "wb") as f:
        f.write(head + infos)
        f.write(b"\0" * (-f.tell() % ALIGN))
        for data in blobs:
            f.write(data)
            f.write(b"\0" * (-len(data) % ALIGN))


def read_gguf_f32(path):
    """Reads a GGUF written by write_gguf (F32 tensors): ({key: value}, {name: numpy array})."""
    import numpy as np

    b = open(path, "rb").read()
    assert b[:4] == b"GGUF", f"{path}: not a GGUF file"
    version, n_t, n_kv = struct.unpack_from("<IQQ", b, 4)
    p = 24

    def s():
        nonlocal p
        (n,) = struct.unpack_from("<Q", b, p)
        p += 8
        v = b[p : p + n].decode("utf-8")
        p += n
        return v

    def val(t):
        nonlocal p
        fmt = {T_UINT32: "<I", T_INT32: "<i", T_FLOAT32: "<f", T_BOOL: "<?"}
        if t in fmt:
            (v,) = struct.unpack_from(fmt[t], b, p)
            p += struct.calcsize(fmt[t])
            return v
        if t == T_STRING:
            return s()
        if t == T_ARRAY:
            (it, n) = struct.unpack_from("<IQ", b, p)
            p += 12
            return [val(it) for _ in range(n)]
        raise ValueError(f"{path}: value type {t}")

    kv = {}
    for _ in range(n_kv):
        k = s()
        (t,) = struct.unpack_from("<I", b, p)
        p += 4
        kv[k] = val(t)
    infos = []
    for _ in range(n_t):
        name = s()
        (nd,) = struct.unpack_from("<I", b, p)
        p += 4
        ne = struct.unpack_from(f"<{nd}q", b, p)
        p += 8 * nd
        typ, off = struct.unpack_from("<IQ", b, p)
        p += 12
        assert typ == GGML_F32, f"{path}: tensor {name} is not F32"
        infos.append((name, ne, off))
    base = p + (-p % ALIGN)
    tensors = {}
    for name, ne, off in infos:
        n = 1
        for d in ne:
            n *= d
        arr = np.frombuffer(b, dtype="<f4", count=n, offset=base + off)
        tensors[name] = arr.reshape(tuple(reversed(ne))).copy()
    return kv, tensors
