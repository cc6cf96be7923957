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
