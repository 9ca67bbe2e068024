from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ARTICLES = ROOT / "gold" / "articles"


@pytest.fixture(scope="session")
def schema():
    from annotate.schema import load_schema

    return load_schema()


@pytest.fixture(scope="session")
def bundled_documents():
    from annotate.ingest import ingest

    result = ingest([ARTICLES])
    assert len(result.documents) == 5 and not result.rejected
    return result.documents
