import json

from annotate.articles.ingest import ingest, normalise_newlines


def test_bundled_articles_clean_and_record_boilerplate(bundled_documents):
    by_file = {d.metadata["file"]: d for d in bundled_documents}
    doc = by_file["003_98ca48b0d465946a.txt"]
    assert "رئيس مجلسى الإدارة والتحرير" not in doc.text
    assert doc.text.startswith("الكاظمي يطالب بتكثيف الجهد الاستخباري")
    rules = [d["rule"] for d in doc.metadata["boilerplate_dropped"]]
    assert rules.count("masthead") == 2
    assert "التقييمات" not in by_file["002_a86c5210d8a54d34.txt"].text
    assert "المساهمون" not in by_file["004_4a403a024812939a.txt"].text
    assert by_file["004_4a403a024812939a.txt"].metadata["date"] == "2021-08-03"
    # everything that is not a dropped line is kept byte for byte
    for d in bundled_documents:
        raw = (d.provenance.source and open(d.provenance.source, encoding="utf-8").read())
        kept_lines = [ln for ln in d.text.split("\n")]
        raw_lines = raw.split("\n")
        dropped = {x["line"] for x in d.metadata["boilerplate_dropped"]}
        survivors = [ln for i, ln in enumerate(raw_lines, 1) if i not in dropped]
        while survivors and survivors[0] == "":
            survivors.pop(0)
        assert kept_lines == survivors


def test_only_crlf_and_bom_are_normalised(tmp_path):
    p = tmp_path / "a.txt"
    p.write_bytes("\ufeffسطر أول طويل هنا\r\nسطر\u0640 ثانٍ\rثالث".encode())
    doc = ingest([p]).documents[0]
    assert doc.text == "سطر أول طويل هنا\nسطر\u0640 ثانٍ\nثالث"
    assert normalise_newlines("a\r\n\r\nb") == "a\n\nb"


def test_bad_files_are_rejected_with_their_name(tmp_path):
    (tmp_path / "latin1.txt").write_bytes("caf\xe9".encode("latin-1"))
    (tmp_path / "empty.txt").write_text("  \n")
    (tmp_path / "bin.txt").write_bytes(b"abc\x00def")
    (tmp_path / "ok.txt").write_text("نص عربي سليم هنا")
    (tmp_path / "dup.txt").write_text("نص عربي سليم هنا")
    r = ingest([tmp_path, tmp_path / "missing.txt"])
    reasons = {rej.source.split("/")[-1]: rej.reason for rej in r.rejected}
    assert "not UTF-8" in reasons["latin1.txt"]
    assert reasons["empty.txt"] == "empty"
    assert "binary" in reasons["bin.txt"]
    assert "duplicate of" in reasons["ok.txt"] and "dup.txt" in reasons["ok.txt"]  # dup.txt sorts first
    assert reasons["missing.txt"] == "no such file"
    assert len(r.documents) == 1
    assert r.inputs == len(r.documents) + len(r.rejected) == 6


def test_jsonl_articles_keep_metadata_and_reject_bad_lines(tmp_path):
    p = tmp_path / "a.jsonl"
    p.write_text("\n".join([
        json.dumps({"text": "خبر أول عن بغداد", "url": "http://x", "id": "a1"}, ensure_ascii=False),
        "{not json",
        json.dumps({"body": "no text field"}),
        json.dumps({"text": "خبر ثان عن أربيل"}, ensure_ascii=False),
    ]) + "\n", encoding="utf-8")
    r = ingest([p])
    assert [d.id for d in r.documents][0] == "a1"
    assert r.documents[0].metadata["url"] == "http://x"
    assert [x.source for x in r.rejected] == [f"{p}:2", f"{p}:3"]
    assert "not valid JSON" in r.rejected[0].reason and "'text'" in r.rejected[1].reason
    assert r.inputs == 4
