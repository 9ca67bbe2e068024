"""A digest of Arrow data that depends on its values only: not on how the rows are cut into batches or chunks.

Arrow's IPC or parquet bytes depend on batching, slicing and writer settings, and pyarrow has no hash of an
array's contents, so the values are hashed here, column by column: every leaf of the schema (a struct's fields,
a list's values, recursively) keeps its own sha256 of its values in row order, and a list or string also hashes
its lengths, so the structure is part of the digest. Feeding the same rows in any batching gives the same
digest; the leaves' buffers are hashed as they are, without a Python object per value.

>>> import pyarrow as pa
>>> schema = pa.schema([("id", pa.string()), ("tags", pa.list_(pa.int32()))])
>>> rows = pa.table({"id": ["a", "b", "c"], "tags": [[1], [], [2, 3]]}, schema=schema)
>>> one, two = ValuesDigest(schema), ValuesDigest(schema)
>>> one.update(rows)
>>> for batch in rows.to_batches(max_chunksize=2): two.update(batch)
>>> one.hexdigest() == two.hexdigest()
True
"""

from __future__ import annotations

import hashlib

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


class ValuesDigest:
    """sha256 of the rows given to `update` (tables or record batches of `schema`), in order."""

    def __init__(self, schema: pa.Schema):
        self.schema = schema
        self._leaves: dict[str, hashlib._Hash] = {}
        self.rows = 0

    def update(self, rows: pa.Table | pa.RecordBatch) -> None:
        self.rows += rows.num_rows
        for field in self.schema:
            column = rows.column(field.name)
            for chunk in (column.chunks if isinstance(column, pa.ChunkedArray) else [column]):
                self._array(field.name, chunk)

    def hexdigest(self) -> str:
        whole = hashlib.sha256(f"rows {self.rows}\n".encode())
        for path in sorted(self._leaves):
            whole.update(f"{path} {self._leaves[path].hexdigest()}\n".encode())
        return whole.hexdigest()

    def _hash(self, path: str, data) -> None:
        self._leaves.setdefault(path, hashlib.sha256()).update(data)

    def _array(self, path: str, arr: pa.Array) -> None:
        kind = arr.type
        if arr.null_count:
            # The gold rows never hold a null; hashing around one would make two different columns equal.
            raise ValueError(f"column {path}: null values cannot be digested")
        if pa.types.is_list(kind) or pa.types.is_large_list(kind):
            self._hash(path + "#len", _fixed(pc.list_value_length(arr)))
            self._array(path + "[]", arr.flatten())  # flatten() honours the array's offset (a slice)
        elif pa.types.is_struct(kind):
            for field, child in zip(kind, arr.flatten()):
                self._array(f"{path}.{field.name}", child)
        elif pa.types.is_string(kind) or pa.types.is_binary(kind):
            self._hash(path + "#len", _fixed(pc.binary_length(arr)))
            values = binary_values(arr)
            if len(values):
                self._hash(path, values)
        elif pa.types.is_integer(kind):
            self._hash(path, _fixed(arr))
        else:
            raise ValueError(f"column {path}: type {kind} is not digested")


def binary_values(arr: pa.Array) -> memoryview:
    """The bytes of a string or binary array's values, one after another (zero-copy; a slice honoured)."""
    if not len(arr) or arr.buffers()[2] is None:
        return memoryview(b"")
    offsets = np.frombuffer(arr.buffers()[1], dtype="<i4", count=len(arr) + 1, offset=4 * arr.offset)
    return memoryview(arr.buffers()[2])[offsets[0]:offsets[-1]]


def _fixed(arr: pa.Array) -> np.ndarray:
    """A fixed-width integer array's values, little-endian (zero-copy where the platform already is)."""
    values = arr.to_numpy(zero_copy_only=False)
    return np.ascontiguousarray(values.astype(values.dtype.newbyteorder("<"), copy=False))
