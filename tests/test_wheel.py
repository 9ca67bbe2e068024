"""The wheel is complete and lean (issue 18): built from this folder, installed without extras into a fresh venv,
it has the schemas, guidelines and lexicon as package data and no label-studio-sdk, and `annotate schema`,
`annotate baseline`, `annotate import` and `annotate score` work from a folder that is not the repository.

Slow-ish (a wheel build and a venv install, about a minute with pip's cache warm): it reuses pip's own cache."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def sh(*args, cwd: Path, timeout: float = 600, check: bool = True) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    out = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    if check:
        assert out.returncode == 0, f"{args}: exit {out.returncode}\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}"
    return out


def test_the_package_list_names_every_package():
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "annotate").rglob("__init__.py")}
    assert listed == found | {"annotate.schemas"}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    # build isolation would fetch setuptools again for every run; the project's venv has it
    sh(sys.executable, "-m", "pip", "wheel", ROOT, "--no-deps", "--no-build-isolation", "-q", "-w", out, cwd=out)
    shutil.rmtree(ROOT / "build", ignore_errors=True)  # setuptools' scratch folder in the checkout
    [built] = out.glob("annotate-*.whl")
    return built


def test_the_wheel_holds_every_module_and_the_package_data(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    modules = {p.relative_to(ROOT).as_posix() for p in (ROOT / "annotate").rglob("*.py")}
    assert modules <= names, sorted(modules - names)
    data = {f"annotate/schemas/{p.name}" for p in (ROOT / "schemas").iterdir() if p.suffix in (".yaml", ".md")}
    assert data and data <= names, sorted(data - names)
    metadata = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("METADATA"))).decode()
    requires = re.findall(r"^Requires-Dist: (.*)$", metadata, re.M)
    always = [r for r in requires if "extra ==" not in r]
    assert always and not [r for r in always if r.startswith("label-studio")], always
    assert [r for r in requires if r.startswith("label-studio-sdk") and 'extra == "studio"' in r]


def test_a_lean_install_works_outside_the_repository(wheel, tmp_path):
    venv = tmp_path / "venv"
    sh(sys.executable, "-m", "venv", venv, cwd=tmp_path)
    bin_ = venv / "bin"
    sh(bin_ / "python", "-m", "pip", "install", "-q", wheel, cwd=tmp_path)
    work = tmp_path / "elsewhere"
    work.mkdir()
    # nothing of the repository on the path: the installed package, from a folder of its own
    where = sh(bin_ / "python", "-c", "import annotate, annotate.core.schema as s; print(annotate.__file__, "
               "s.SCHEMAS_DIR)", cwd=work).stdout
    assert str(ROOT) not in where and "site-packages" in where
    missing = sh(bin_ / "python", "-c", "import label_studio_sdk", cwd=work, check=False)
    assert missing.returncode != 0 and "No module named 'label_studio_sdk'" in missing.stderr

    annotate = bin_ / "annotate"
    assert "Schema ace-arabic-news v1" in sh(annotate, "schema", cwd=work).stdout
    shutil.copytree(ROOT / "gold" / "articles", work / "articles")
    shutil.copytree(ROOT / "gold" / "annotations", work / "annotations")
    sh(annotate, "baseline", "articles", "-o", "baseline.jsonl", cwd=work)
    built = sh(annotate, "import", "annotations", "-o", "gold", cwd=work).stdout
    assert "fingerprint dd8627591ef749bb" in built
    scored = sh(annotate, "score", "--gold", "gold", "--predictions", "baseline.jsonl", "--json", "r.json",
                cwd=work).stdout
    assert "entities F1 strict 0.680" in scored
    sh(annotate, "export", "gold", "--format", "brat", "-o", "brat", cwd=work)
    # a command that needs the extra says which one, not an ImportError
    for args in (["push", "r.json"], ["tasks", "articles", "--predictions", "baseline.jsonl", "-o", "t.json"],
                 ["status"], ["studio", "up"]):
        out = sh(annotate, *args, cwd=work, check=False)
        assert out.returncode == 1 and "pip install 'annotate[studio]'" in out.stderr, (args, out.stderr)
        assert "Traceback" not in out.stderr
