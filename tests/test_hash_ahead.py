"""Export digests taken ahead (beside the start-up imports) are the digests, and a file changed since is hashed
again."""

from __future__ import annotations

import hashlib
import os

from annotate.gold.exportfiles import _AHEAD, file_sha256, hash_ahead


def test_a_digest_taken_ahead_is_the_files(tmp_path):
    path = tmp_path / "export.json"
    path.write_bytes(b"[]" * 300_000)
    hash_ahead([path, tmp_path])  # a folder is left to the build
    assert str(path) in _AHEAD and str(tmp_path) not in _AHEAD
    assert file_sha256(path) == hashlib.sha256(path.read_bytes()).hexdigest()
    assert str(path) not in _AHEAD  # taken once


def test_a_file_changed_after_it_was_hashed_ahead_is_hashed_again(tmp_path):
    path = tmp_path / "export.json"
    path.write_bytes(b"[1]")
    hash_ahead([path])
    _AHEAD[str(path)][2].join()
    path.write_bytes(b"[1, 2]")
    os.utime(path, ns=(1, 1))  # a different mtime even on a coarse clock
    assert file_sha256(path) == hashlib.sha256(b"[1, 2]").hexdigest()
