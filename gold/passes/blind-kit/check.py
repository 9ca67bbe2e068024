"""Check an annotation pass file against the articles and the schema (stdlib + PyYAML if present)."""
import json
import sys
from pathlib import Path

HERE = Path(__file__).parent
EDGE = set(" \n\t،؛؟.:-()\"«»ـ")


def occurrences(text, s):
    out, pos = [], text.find(s)
    while pos != -1:
        out.append(pos)
        pos = text.find(s, pos + 1)
    return out


def load_schema():
    try:
        import yaml
    except ImportError:
        return None
    return yaml.safe_load((HERE / "schema.yaml").read_text(encoding="utf-8"))


def main(path):
    schema = load_schema()
    problems = 0
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        rec = json.loads(line)
        art = HERE / "articles" / f"{rec['id']}.txt"
        if not art.exists():
            print(f"line {n}: no article {rec['id']}")
            problems += 1
            continue
        text = art.read_text(encoding="utf-8")
        print(f"=== {rec['id']}")

        def resolve(span, where):
            nonlocal problems
            found = occurrences(text, span["text"])
            k = span.get("occurrence", 1)
            if k > len(found) or k < 1:
                print(f"  PROBLEM {where}: {span['text']!r} occurs {len(found)} time(s); occurrence {k} missing")
                problems += 1
                return None
            s = found[k - 1]
            e = s + len(span["text"])
            if text[s] in EDGE or text[e - 1] in EDGE:
                print(f"  PROBLEM {where}: span edge on space/punctuation: {span['text']!r}")
                problems += 1
            return s, e

        ids = set()
        for i, ent in enumerate(rec.get("entities", [])):
            r = resolve(ent, f"entity {ent.get('id')}")
            ids.add(ent.get("id"))
            if schema and ent["type"] not in schema["entity_types"]:
                print(f"  PROBLEM entity {ent.get('id')}: unknown type {ent['type']}")
                problems += 1
            if r:
                s, e = r
                print(f"  {ent['id']:>5} {ent['type']:<9} …{text[max(0, s - 15):s]}[{text[s:e]}]{text[e:e + 15]}…"
                      .replace("\n", " "))
        for v in rec.get("events", []):
            r = resolve(v["trigger"], f"event {v.get('id')} trigger")
            et = schema["event_types"].get(v["type"]) if schema else None
            if schema and et is None:
                print(f"  PROBLEM event {v.get('id')}: unknown type {v['type']}")
                problems += 1
            if r:
                s, e = r
                print(f"  {v['id']:>5} {v['type']:<24} [{text[s:e]}] {v.get('attributes', {})}")
            for a in v.get("arguments", []):
                if a["entity"] not in ids:
                    print(f"  PROBLEM event {v.get('id')}: argument points to unknown entity {a['entity']}")
                    problems += 1
                if et is not None and a["role"] not in et["roles"]:
                    print(f"  PROBLEM event {v.get('id')}: role {a['role']} not in {v['type']}")
                    problems += 1
                print(f"         {a['role']} -> {a['entity']}")
    print(f"{problems} problem(s)")


if __name__ == "__main__":
    main(sys.argv[1])
