"""The gold set on disk read as a stream: record batches of its Arrow files, one batch in memory at a time.

The folder is what `DatasetDict.save_to_disk` writes (`dataset_dict.json` names the splits; each split's
`state.json` names its Arrow files, IPC streams, and `dataset_info.json` holds the features). The files are
read with plain reads, not memory-mapped: pages of a mapped file count towards the reader's resident memory
for as long as the mapping lives, which would make memory grow with the set after all.

The content fingerprint hashes the rows sorted by id. The writer sorts every split by id, so a merge of the
splits' streams gives that order with one row of each split in memory; a set whose rows are not sorted is
hashed through a temporary file of its rows' JSON (bounded memory as well, at the cost of a second read).
"""

from __future__ import annotations

import hashlib
import heapq
import json
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from datasets import Features

from ..core.atomic import recover_directory
from ..core.model import Document
from ..core.schema import Schema
from .layout import AGREEMENT_FILE, BUILD_FILE, GoldInfo, GoldReadError, _json_object, parquet_name
from .rows import FINGERPRINT_COLUMNS, row_fingerprint_json, row_to_document

BATCH_ROWS = 256  # rows turned into Python objects at a time (a file's own record batches may be larger)


class GoldSet:
    """A gold dataset folder, opened: build and agreement files read, splits and their files known, no row read."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._fingerprint: str | None = None
        recover_directory(self.path)  # a rebuild killed between its two renames left the previous set aside
        if not (self.path / BUILD_FILE).exists():
            raise FileNotFoundError(f"{self.path}: not a gold dataset folder (no {BUILD_FILE}); build one with "
                                    "`annotate import`")
        self.build = _json_object(self.path / BUILD_FILE)
        if not isinstance(self.build.get("schema_definition"), dict):
            raise GoldReadError(f"{self.path / BUILD_FILE}: field 'schema_definition' is missing; rebuild the gold "
                                "set with `annotate import`")
        _check_build(self.path / BUILD_FILE, self.build)
        self.agreement = _json_object(self.path / AGREEMENT_FILE) if (self.path / AGREEMENT_FILE).exists() else None
        self.splits: dict[str, list[Path]] = {}
        self.names: dict[str, tuple[list[str], list[str]]] = {}  # split -> (entity type names, event type names)
        for split in self._listed(self.path / "dataset_dict.json", "splits"):
            folder = self.path / split
            files = [folder / str(f.get("filename", "")) if isinstance(f, dict) else folder / str(f)
                     for f in self._listed(folder / "state.json", "_data_files")]
            info = self._object(folder / "dataset_info.json")
            try:
                feats = Features.from_dict(info["features"])
                names = (list(feats["entities"].feature["type"].names), list(feats["events"].feature["type"].names))
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                raise GoldReadError(f"{folder / 'dataset_info.json'}: cannot be read (features: {exc}); rebuild "
                                    "the gold set with `annotate import`") from None
            built = self.build.get("splits")
            if not files and not (isinstance(built, dict) and built.get(split) == 0):  # `--allow-empty` writes none
                raise GoldReadError(f"{folder / 'state.json'}: lists no data file (field '_data_files' is empty); "
                                    "rebuild the gold set with `annotate import`")
            self.splits[split], self.names[split] = files, names
        if not self.splits:
            raise GoldReadError(f"{self.path / 'dataset_dict.json'}: lists no split; rebuild the gold set with "
                                "`annotate import`")
        built = self.build.get("splits")
        if isinstance(built, dict) and set(built) != set(self.splits):
            raise GoldReadError(f"{self.path / BUILD_FILE}: lists the split(s) {', '.join(built) or 'none'} but the "
                                f"data holds {', '.join(self.splits)}; rebuild the gold set with `annotate import`")
        self._check_parquet()

    def _check_parquet(self) -> None:
        """The parquet copy of each split (what the Hub and other tools read) must be whole and hold the split's
        rows. Rows are read from the Arrow copy, whose content the fingerprint verifies; the parquet footer is
        read here (a truncated or missing file fails), not its pages, which would double every read."""
        digest, counts = self.build.get("files_digest"), self.build.get("splits")
        if not isinstance(digest, str) or not isinstance(counts, dict):
            return  # a set from before build.json named them: nothing to compare with
        for split in self.splits:
            file = self.path / parquet_name(split, digest)
            try:
                rows = pq.ParquetFile(file).metadata.num_rows
            except (pa.ArrowException, OSError, ValueError) as exc:
                raise GoldReadError(f"{file}: cannot be read ({exc}); rebuild the gold set with `annotate import`"
                                    ) from None
            if rows != counts.get(split):
                raise GoldReadError(f"{file}: holds {rows} row(s) but {BUILD_FILE} says split {split} has "
                                    f"{counts.get(split)}; rebuild the gold set with `annotate import`")

    def _object(self, file: Path) -> dict:
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise GoldReadError(f"{file}: cannot be read ({exc}); rebuild the gold set with `annotate import`"
                                ) from None
        if not isinstance(data, dict):
            raise GoldReadError(f"{file}: cannot be read (not a JSON object); rebuild the gold set with "
                                "`annotate import`")
        return data

    def _listed(self, file: Path, key: str) -> list:
        value = self._object(file).get(key)
        if not isinstance(value, list):
            raise GoldReadError(f"{file}: cannot be read (field {key!r} is not a list); rebuild the gold set with "
                                "`annotate import`")
        return value

    def rows(self, split: str | None = None, columns: list[str] | None = None) -> Iterator[tuple[str, dict]]:
        """(split, row) of every row, split by split in the set's order, as `Dataset.to_list()` gives them
        (only `columns`, when given)."""
        for name, files in self.splits.items():
            if split is None or name == split:
                yield from ((name, row) for row in self._split_rows(files, columns))

    def texts(self) -> Iterator[tuple[str, str]]:
        """(id, text) of every document: two columns read, no row decoded whole (keys to match documents by)."""
        for files in self.splits.values():
            for row in self._split_rows(files, ["id", "text"]):
                yield row["id"], row["text"]

    def _split_rows(self, files: list[Path], columns: list[str] | None = None) -> Iterator[dict]:
        for file in files:
            try:
                with pa.OSFile(str(file)) as source:
                    for batch in pa.ipc.open_stream(source):
                        if columns is not None:
                            batch = batch.select(columns)
                        for start in range(0, batch.num_rows, BATCH_ROWS):
                            yield from batch.slice(start, BATCH_ROWS).to_pylist()
            except (pa.ArrowException, OSError, ValueError) as exc:
                raise GoldReadError(f"{file}: cannot be read ({exc}); rebuild the gold set with `annotate import`"
                                    ) from None

    def documents(self, split: str | None = None) -> Iterator[Document]:
        for name, row in self.rows(split):
            yield row_to_document(row, *self.names[name])

    def documents_by_split(self) -> Iterator[tuple[str, Document]]:
        for name, row in self.rows():
            yield name, row_to_document(row, *self.names[name])

    def count(self, split: str | None = None) -> int:
        """Rows of one split or all, from the files' metadata (no row is decoded)."""
        total = 0
        for name, files in self.splits.items():
            if split is None or name == split:
                for file in files:
                    try:
                        with pa.OSFile(str(file)) as source:
                            total += sum(b.num_rows for b in pa.ipc.open_stream(source))
                    except (pa.ArrowException, OSError, ValueError) as exc:
                        raise GoldReadError(f"{file}: cannot be read ({exc}); rebuild the gold set with "
                                            "`annotate import`") from None
        return total

    def fingerprint(self) -> str:
        """`rows.content_fingerprint` of every row of every split, computed as a stream (once: the rows
        are read for it, and only the four columns it hashes)."""
        if self._fingerprint is None:
            found = self._content_fingerprint()
            recorded = self.build.get("fingerprint")
            if isinstance(recorded, str) and recorded != found:
                files = ", ".join(str(f) for files in self.splits.values() for f in files)
                raise GoldReadError(f"{files}: the rows' fingerprint {found} is not the {recorded} that "
                                    f"{self.path / BUILD_FILE} recorded: the data changed after the build (a damaged "
                                    "or edited file); rebuild the gold set with `annotate import`")
            self._fingerprint = found
        return self._fingerprint

    def _content_fingerprint(self) -> str:
        h = hashlib.sha256()
        streams = [self._sorted_or_none(files) for files in self.splits.values()]
        if all(s is not None for s in streams):
            try:
                # merge of sorted streams, ties in split order: the order sorted() gives the concatenated rows
                for _, data in heapq.merge(*streams, key=lambda x: x[0]):
                    h.update(data)
                return h.hexdigest()[:16]
            except _Unsorted:
                h = hashlib.sha256()
        return self._fingerprint_spilled()

    def _sorted_or_none(self, files: list[Path]) -> Iterator[tuple[str, bytes]]:
        def stream() -> Iterator[tuple[str, bytes]]:
            last = None
            for row in self._split_rows(files, FINGERPRINT_COLUMNS):
                if last is not None and row["id"] < last:
                    raise _Unsorted
                last = row["id"]
                yield row["id"], row_fingerprint_json(row)
        return stream()

    def _fingerprint_spilled(self) -> str:
        """Rows in any order: their JSON goes to a temporary file, only (id, offset, length) stays in memory."""
        h = hashlib.sha256()
        with tempfile.TemporaryFile() as spill:
            index: list[tuple[str, int, int]] = []
            for _, row in self.rows(columns=FINGERPRINT_COLUMNS):
                data = row_fingerprint_json(row)
                index.append((row["id"], spill.tell(), len(data)))
                spill.write(data)
            index.sort(key=lambda x: x[0])  # stable, as sorted() in content_fingerprint
            for _, offset, length in index:
                spill.seek(offset)
                h.update(spill.read(length))
        return h.hexdigest()[:16]

    def info(self) -> GoldInfo:
        return GoldInfo(self.path, self.fingerprint(), self.build.get("schema_fingerprint", ""), self.build,
                        self.agreement)


class _Unsorted(Exception):
    pass


def _check_build(file: Path, build: dict) -> None:
    """The fields of build.json a reader relies on, by type: a hand-edited file is named, not a traceback."""
    try:
        Schema.from_dict(build["schema_definition"])
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        raise GoldReadError(f"{file}: field 'schema_definition' cannot be read ({type(exc).__name__}: {exc}; "
                            "'entity_types' and 'event_types' are objects); rebuild the gold set with "
                            "`annotate import`") from None
    for key, kind in (("fingerprint", str), ("files_digest", str), ("splits", dict)):
        if key in build and not isinstance(build[key], kind):
            raise GoldReadError(f"{file}: field {key!r} must be {'a string' if kind is str else 'an object'}; "
                                "rebuild the gold set with `annotate import`")


def gold_documents(path: str | Path, split: str | None = None) -> tuple[list[Document], GoldInfo]:
    """The gold Documents (one split, or all) and the set's info; the fingerprint is recomputed from the
    rows read, so a report never names a fingerprint the data does not have. GoldReadError names a damaged
    file. A list of every document: a caller that can take them one at a time uses `GoldSet`."""
    gold = GoldSet(path)
    docs = list(gold.documents(split))
    return docs, gold.info()
