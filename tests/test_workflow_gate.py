"""The shipped GitHub Actions workflow (`examples/github-actions/extractor-gate.yml`), run here step by step.

Each `run:` step is executed in order with bash as GitHub runs it (`bash --noprofile --norc -eo pipefail`), in a
temporary folder holding the committed gold set (what `actions/checkout` gives), with the environment GitHub
sets (`GITHUB_ENV`, `GITHUB_STEP_SUMMARY`, `GITHUB_REPOSITORY`, the workflow's and the step's `env:`), and
`if:` conditions and failed steps honoured. What differs from a GitHub runner, and only that:
- `actions/setup-python` is this checkout's `.venv/bin` put first on PATH, and the install step's one line
  `python -m pip install "$ANNOTATE_PACKAGE"` becomes `python -m pip show annotate` (annotate is installed in
  that virtualenv already; there is no package index here);
- `actions/upload-artifact` copies the step's `path` into a folder standing for the run's artifacts, and a `gh`
  on PATH answers `gh run list` / `gh run download` from the artifacts of the last successful push to main
  (GitHub's API cannot be reached from here).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW = ROOT / "examples" / "github-actions" / "extractor-gate.yml"
INSTALL_LINE = 'python -m pip install "$ANNOTATE_PACKAGE"'

GH_STAND_IN = """#!{python}
# `gh run list` / `gh run download` answered from the artifacts of the last successful push to main
import os, shutil, sys
store = os.path.join(os.environ["ARTIFACT_STORE"], "main")
args = sys.argv[1:]
if args[:2] == ["run", "list"]:
    assert "--branch" in args and args[args.index("--branch") + 1] == "main", args
    print("4242" if os.path.isdir(store) else "")
elif args[:2] == ["run", "download"]:
    assert args[2] == "4242", args
    src = os.path.join(store, args[args.index("--name") + 1])
    if not os.path.isdir(src):
        sys.exit("no artifact")
    shutil.copytree(src, args[args.index("--dir") + 1], dirs_exist_ok=True)
else:
    sys.exit(f"gh stand-in: {{args}} not supported")
"""


@dataclass
class Step:
    name: str
    code: int | None  # None: skipped


def workflow() -> dict:
    return yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))


def condition(expr: str | None, event: str, failed: bool) -> bool:
    """The `if:` expressions the workflow uses; anything else fails the test rather than being guessed."""
    if expr is None:
        return not failed
    if expr == "always()":
        return True
    m = re.fullmatch(r"github\.event_name == '(\w+)'", expr.strip())
    assert m, f"the test does not know the expression {expr!r}"
    return not failed and event == m.group(1)


def expand(value: str) -> str:
    assert value.count("${{") == value.count("${{ github.token }}"), value
    return value.replace("${{ github.token }}", "token-for-the-test")


def run_workflow(event: str, repo: Path, store: Path, tmp: Path, **env_overrides) -> tuple[list[Step], str]:
    """Run the workflow's steps for `event` in `repo`; (steps with exit codes, the step summary)."""
    wf = workflow()
    job = wf["jobs"]["gate"]
    summary, github_env = tmp / f"summary-{event}.md", tmp / f"env-{event}"
    summary.write_text("", encoding="utf-8")
    github_env.write_text("", encoding="utf-8")
    bin_dir = tmp / "bin"
    bin_dir.mkdir(exist_ok=True)
    gh = bin_dir / "gh"
    gh.write_text(GH_STAND_IN.format(python=sys.executable), encoding="utf-8")
    gh.chmod(0o755)
    env = {"PATH": f"{Path(sys.executable).parent}:{bin_dir}:/usr/bin:/bin", "HOME": str(tmp),
           "LANG": "C.UTF-8", "GITHUB_ENV": str(github_env), "GITHUB_STEP_SUMMARY": str(summary),
           "GITHUB_REPOSITORY": "someone/extractor", "GITHUB_EVENT_NAME": event, "GITHUB_WORKSPACE": str(repo),
           "ARTIFACT_STORE": str(store), "CI": "true"}
    env.update({k: expand(str(v)) for k, v in (wf.get("env") or {}).items()})
    env.update(env_overrides)
    steps: list[Step] = []
    failed = False
    run_store = store / "this-run"
    shutil.rmtree(run_store, ignore_errors=True)
    for step in job["steps"]:
        name = step.get("name") or step.get("uses")
        if not condition(step.get("if"), event, failed):
            steps.append(Step(name, None))
            continue
        if "uses" in step:
            action = step["uses"].split("@")[0]
            assert action in ("actions/checkout", "actions/setup-python", "actions/upload-artifact"), action
            if action == "actions/upload-artifact":
                src = repo / step["with"]["path"]
                if src.is_dir():
                    shutil.copytree(src, run_store / step["with"]["name"], dirs_exist_ok=True)
            steps.append(Step(name, 0))
            continue
        script = step["run"]
        if INSTALL_LINE in script:
            script = script.replace(INSTALL_LINE, "python -m pip show annotate >/dev/null")
        step_env = {**env, **{k: expand(str(v)) for k, v in (step.get("env") or {}).items()}}
        for line in github_env.read_text(encoding="utf-8").splitlines():  # what earlier steps exported
            key, _, value = line.partition("=")
            step_env[key] = value
        proc = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script], cwd=repo,
                              env=step_env, capture_output=True, text=True, timeout=600)
        steps.append(Step(name, proc.returncode))
        if proc.returncode:
            failed = True
            (tmp / f"stderr-{len(steps)}.txt").write_text(proc.stdout + proc.stderr, encoding="utf-8")
    if not failed and event == "push":  # what `gh run list --status success --branch main` finds next time
        shutil.rmtree(store / "main", ignore_errors=True)
        shutil.copytree(run_store, store / "main")
    return steps, summary.read_text(encoding="utf-8")


def logs(tmp: Path) -> str:
    return "".join(p.read_text() for p in sorted(tmp.glob("stderr-*.txt")))


def codes(steps: list[Step]) -> dict[str, int | None]:
    return {s.name: s.code for s in steps}


SCORE = "Score the extractor"
BASELINE = "Get the main branch's last report (the baseline)"
UPLOAD = "Keep the report (the HTML to read, the JSON as the next baseline)"


@pytest.fixture
def repo(tmp_path):
    """What `actions/checkout` gives: the repository of an extractor with the committed gold set in it."""
    repo = tmp_path / "repo"
    shutil.copytree(ROOT / "gold" / "dataset", repo / "gold" / "dataset")
    return repo


def test_the_workflow_parses_and_names_what_it_needs():
    wf = workflow()
    assert set(wf[True]) == {"pull_request", "push"}  # YAML 1.1 reads the key `on` as true
    names = [s.get("name") or s["uses"] for s in wf["jobs"]["gate"]["steps"]]
    assert names[:2] == ["actions/checkout@v4", "actions/setup-python@v5"] and SCORE in names and names[-1] == UPLOAD
    score_step = next(s["run"] for s in wf["jobs"]["gate"]["steps"] if s.get("name") == SCORE)
    assert '--markdown "$GITHUB_STEP_SUMMARY" --markdown-append' in score_step and "--html" in score_step
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "## Gate an extractor in CI" in readme and "examples/github-actions/extractor-gate.yml" in readme


def test_main_keeps_its_report_and_a_pull_request_is_gated_against_it(repo, tmp_path):
    store = tmp_path / "artifacts"
    # a pull request before main has any report: scored without a baseline, said so in the summary
    steps, summary = run_workflow("pull_request", repo, store, tmp_path)
    assert codes(steps)[SCORE] == 0, logs(tmp_path)
    assert summary.startswith("> No report of the main branch yet: scored without a baseline.\n")
    assert "**✅ PASS**: entities.strict.micro.f1 0.680 ≥ 0.60 ✓; triggers.classification.f1 0.722 ≥ 0.60 ✓\n" \
        in summary

    # the push to main: its report becomes the artifact later pull requests compare with
    steps, summary = run_workflow("push", repo, store, tmp_path)
    assert codes(steps) == {"actions/checkout@v4": 0, "actions/setup-python@v5": 0,
                            "Install annotate (lean, without Label Studio) and the extractor": 0,
                            "Get the gold set": 0, BASELINE: None, SCORE: 0, UPLOAD: 0}
    assert summary.startswith("**✅ PASS**") and (store / "main" / "extractor-report" / "report.json").exists()

    # the same extractor in a pull request: compared with main, no regression
    steps, summary = run_workflow("pull_request", repo, store, tmp_path)
    assert codes(steps)[BASELINE] == 0 and codes(steps)[SCORE] == 0
    first = summary.splitlines()[0]
    assert first.startswith("**✅ PASS**") and "no significant regression against the baseline ✓" in first
    assert "Against baseline baseline/report.json:" in summary

    # an extractor that lost its triggers: the threshold fails (exit 3), the regression is named, the HTML kept
    worse = repo / "worse.py"
    worse.write_text("import json, subprocess, sys\n"
                     f"out = subprocess.run([{sys.executable!r}, '-m', 'annotate.cli', 'baseline'], stdin=sys.stdin,"
                     " capture_output=True, text=True, check=True).stdout\n"
                     "for line in out.splitlines():\n"
                     "    print(json.dumps({**json.loads(line), 'events': []}, ensure_ascii=False))\n",
                     encoding="utf-8")
    shutil.rmtree(repo / "reports", ignore_errors=True)
    steps, summary = run_workflow("pull_request", repo, store, tmp_path, EXTRACTOR="python worse.py")
    assert codes(steps)[SCORE] == 3 and codes(steps)[UPLOAD] == 0
    first = summary.splitlines()[0]
    assert first.startswith("**❌ FAIL**: entities.strict.micro.f1 0.680 ≥ 0.60 ✓; "
                            "triggers.classification.f1 0.000 < 0.60 ✗; ")
    assert "significantly worse than the baseline ✗" in first
    assert (store / "this-run" / "extractor-report" / "report.html").exists()

    # an extractor that answers nothing: exit 1, however the thresholds are set
    steps, summary = run_workflow("pull_request", repo, store, tmp_path,
                                  EXTRACTOR="python -c 'import sys; sys.stdin.read()'")
    assert codes(steps)[SCORE] == 1 and summary.startswith("**❌ FAIL**: nothing predicted")


def test_a_missing_gold_set_stops_the_job_before_scoring(tmp_path):
    repo = tmp_path / "empty-repo"
    repo.mkdir()
    steps, _ = run_workflow("push", repo, tmp_path / "artifacts", tmp_path)
    assert codes(steps)["Get the gold set"] == 1 and codes(steps)[SCORE] is None
    assert "no gold set at gold/dataset" in logs(tmp_path)


if os.environ.get("ANNOTATE_SHOW_SUMMARY"):  # print the step summary the README shows
    def test_print_summary(repo, tmp_path):
        run_workflow("push", repo, tmp_path / "artifacts", tmp_path)
        _, summary = run_workflow("pull_request", repo, tmp_path / "artifacts", tmp_path)
        print(summary)
