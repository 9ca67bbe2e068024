"""One token count per gold set, whatever the predictions: the report's `tokens` is the gold set's own (its
`tokens` column), and `scored_tokens` names the count cut at both sides' span edges."""

import json

from click.testing import CliRunner
from datasets import load_from_disk

from annotate.cli import main


def test_the_token_count_does_not_depend_on_the_predictions(tmp_path):
    own = sum(len(t) for t in load_from_disk("gold/dataset")["test"]["tokens"])
    ids = load_from_disk("gold/dataset")["test"]["id"]
    empty = tmp_path / "empty.jsonl"
    empty.write_text("".join(json.dumps({"id": i, "entities": [], "events": []}) + "\n" for i in ids))
    counts = {}
    for name, source in (("baseline", ["--extractor", "annotate.baseline:extract"]),
                         ("empty", ["--predictions", str(empty)])):
        res = CliRunner().invoke(main, ["score", "--gold", "gold/dataset", *source, "--resamples", "20",
                                        "--allow-empty-predictions",
                                        "--json", str(tmp_path / f"{name}.json")])
        assert res.exit_code == 0, res.output
        report = json.loads((tmp_path / f"{name}.json").read_text())
        counts[name] = (report["tokens"], report["scored_tokens"])
        assert f"{own} gold token(s)" in res.output
    assert counts["baseline"][0] == counts["empty"][0] == own
    assert counts["empty"][1] == own  # nothing predicted: no extra cut
    assert counts["baseline"][1] > own  # the baseline's own span edges cut some words: named apart
