"""The README's "Run a round with people", followed step by step against the real server: every `annotate` line of
its code block is run as written (only `studio up` is pointed at the session's server, which it then reuses);
the two comment lines are the people's part, done here as they would do it: each annotator logs in with the
account `users add` made and takes tasks from Label Studio's label stream (`/api/projects/ID/next`, what "Label
All Tasks" asks), and the reviewer writes decisions into the log."""

import glob
import json
import re
import shlex
import shutil
import urllib.error
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path
from urllib.parse import urlencode

import pytest
import yaml
from click.testing import CliRunner

from annotate.cli import main

pytestmark = pytest.mark.studio

ROOT = Path(__file__).resolve().parents[1]
PASSWORDS = {"amal@example.org": "amal-round-pass-1", "bilal@example.org": "bilal-round-pass-2",
             "rana@example.org": "rana-round-pass-3"}


def readme_round() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## Run a round with people"):]
    block = section[section.index("```bash\n") + 8:]
    return [line for line in block[:block.index("```")].splitlines() if line.strip()]


class Person:
    """A browser-like session of one person: logs in through the login form, then calls the API with the
    session cookie and its CSRF token, as Label Studio's own front end does."""

    def __init__(self, url: str, email: str, password: str):
        self.url, self.jar = url, CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        self.opener.open(f"{url}/user/login/").read()
        form = urlencode({"csrfmiddlewaretoken": self._csrf(), "email": email, "password": password}).encode()
        self.opener.open(urllib.request.Request(f"{url}/user/login/", data=form)).read()
        status, me = self.api("GET", "/api/current-user/whoami")
        assert status == 200 and me and me.get("email") == email, f"{email} could not log in ({status})"

    def _csrf(self) -> str:
        return next(c.value for c in self.jar if c.name == "csrftoken")

    def api(self, method: str, path: str, payload=None):
        body = json.dumps(payload).encode() if payload is not None else None
        req = urllib.request.Request(f"{self.url}{path}", data=body, method=method, headers={
            "Content-Type": "application/json", "X-CSRFToken": self._csrf(), "Referer": self.url + "/"})
        try:
            with self.opener.open(req) as answer:
                return answer.status, json.loads(answer.read() or b"null")
        except urllib.error.HTTPError as exc:
            return exc.code, None


def label_all_tasks(person: Person, project_id: int, label_for) -> list[str]:
    """Take tasks from the label stream until it has none left for this person; label each one's first word."""
    done = []
    for _ in range(50):
        status, task = person.api("GET", f"/api/projects/{project_id}/next")
        if status != 200 or not task or not task.get("id"):
            break
        text = task["data"]["text"]
        word = re.search(r"[\u0621-\u064A]+", text)
        region = {"id": "r1", "from_name": "entity", "to_name": "text", "type": "labels",
                  "value": {"start": word.start(), "end": word.end(), "text": word.group(),
                            "labels": [label_for(task["data"]["doc_id"])]}}
        status, _ = person.api("POST", f"/api/tasks/{task['id']}/annotations/", {"result": [region],
                                                                                 "lead_time": 12.0})
        assert status == 201, status
        done.append(task["data"]["doc_id"])
    return done


def decide(log: Path) -> int:
    """The reviewer's part: keep what amal marked (ORG) and not what bilal marked, with a reason. Each entry is
    one disagreement with the options side by side (A, B, ..., neither)."""
    entries = yaml.safe_load(log.read_text(encoding="utf-8"))
    for e in entries:
        e["decision"] = next(label for label, text in e["options"].items() if "ORG" in str(text))
        e["reason"] = "the headline's first word names the organisation in this round"
    log.write_text(yaml.safe_dump(entries, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return len(entries)


def test_the_readme_round_runs_as_written(studio, studio_env, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    shutil.copytree(ROOT / "gold" / "articles", tmp_path / "gold" / "articles")
    monkeypatch.setenv("ANNOTATE_PROGRESS_SECONDS", "5")
    lines = readme_round()
    assert lines[0].startswith("annotate studio up") and lines[-1].startswith("annotate score")
    outputs: dict[str, str] = {}
    project_id = None
    disagreements = 0
    for line in lines:
        command = line.split("#", 1)[0].strip()
        if not command:  # a person's step
            if "logs in" in line:
                project_id = int(re.search(r"Annotate at \S+/projects/(\d+)/", outputs["push"]).group(1))
                amal = Person(studio.url, "amal@example.org", PASSWORDS["amal@example.org"])
                bilal = Person(studio.url, "bilal@example.org", PASSWORDS["bilal@example.org"])
                first = label_all_tasks(amal, project_id, lambda doc: "ORG")
                odd = sorted(first)[0]  # bilal disagrees on one article
                second = label_all_tasks(bilal, project_id, lambda doc, odd=odd: "GPE" if doc == odd else "ORG")
                # overlap 2: the stream gave every task to both of them
                assert sorted(first) == sorted(second) and len(first) == 5
            elif "decision" in line:
                # the review annotations `adjudicate --push --reviewer` made are rana's, and she can log in
                rana = Person(studio.url, "rana@example.org", PASSWORDS["rana@example.org"])
                _, me = rana.api("GET", "/api/current-user/whoami")
                _, listed = rana.api("GET", f"/api/tasks?project={project_id}&page_size=100")
                hers = [a for t in listed["tasks"] for a in rana.api("GET", f"/api/tasks/{t['id']}/annotations/")[1]
                        if a["completed_by"] == me["id"]]
                assert len(hers) == 5 and sum(bool(a["ground_truth"]) for a in hers) == 4  # the odd one in review
                disagreements = decide(tmp_path / "adjudication.yaml")
            else:
                pytest.fail(f"a README step the test does not know: {line}")
            continue
        args = shlex.split(command)[1:]
        if args[:2] == ["studio", "up"]:
            args += ["--home", str(studio.home), "--port", str(studio.port)]
        args = [a for arg in args for a in (sorted(glob.glob(arg)) if "*" in arg else [arg])]
        env = {"ANNOTATE_USER_PASSWORD": PASSWORDS[args[2]]} if args[:2] == ["users", "add"] else {}
        res = CliRunner().invoke(main, args, env=env)
        assert res.exit_code == 0, f"{line}\n{res.output}"
        assert "\r" not in res.output
        outputs.setdefault(args[0] if args[0] != "users" else f"users {args[1]}", res.output)

    assert "reviewer" in next(row for row in outputs["users list"].splitlines() if "rana@example.org" in row)
    assert "overlap 2: 5/5 task(s) done by 2 annotator(s)" in outputs["status"]
    assert disagreements == 1  # bilal's GPE against amal's ORG on the one article: one entry, two options
    agreement = json.loads((tmp_path / "agreement.json").read_text())
    assert agreement["tasks"] == 5 and agreement["overall"]["entities_exact_f1"] == pytest.approx(0.8)
    # the gold set: every article with its first word as ORG, the reviewer's resolution on the odd one
    from annotate.gold.reader import gold_documents

    gold, _ = gold_documents(tmp_path / "dataset")
    assert len(gold) == 5
    assert all([e.type for e in d.entities] == ["ORG"] for d in gold)
    assert "Scored 5/5 document(s)" in outputs["score"]
    assert project_id is not None
