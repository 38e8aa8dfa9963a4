#!/usr/bin/env python3
"""Ingest one hand-made batch of search results into the cache and the labels.

A batch file (kept in eval/cache/batches/, never committed) is a series of blocks:

    @@ <id> <lang> <event> <countries|-> <query-no> <note ...>
    <text: the item as stored: the start of the search excerpt, a title line then a lead>

The text goes to eval/cache/items.jsonl (gitignored), the label to eval/labels.tsv.
Ids already present are replaced (re-ingesting a batch is idempotent).
"""
import json, sys, pathlib

ROOT = pathlib.Path(__file__).resolve().parents[1]
CACHE = ROOT / "cache" / "items.jsonl"
LABELS = ROOT / "labels.tsv"
HEADER = "id\tlang\tevent\tcountries\tnote\n"


def parse(path):
    blocks, cur = [], None
    for line in pathlib.Path(path).read_text(encoding="utf-8").splitlines():
        if line.startswith("@@ "):
            parts = line[3:].split(None, 5)
            while len(parts) < 6:
                parts.append("")
            ident, lang, event, countries, qno, note = parts
            cur = {"id": ident, "lang": lang, "event": int(event),
                   "countries": "" if countries == "-" else countries,
                   "query": qno, "note": note.strip(), "lines": []}
            blocks.append(cur)
        elif cur is not None:
            cur["lines"].append(line)
    for b in blocks:
        b["text"] = "\n".join(b.pop("lines")).strip()
    return blocks


def load_jsonl(p):
    out = {}
    if p.exists():
        for line in p.read_text(encoding="utf-8").splitlines():
            if line.strip():
                r = json.loads(line)
                out[r["id"]] = r
    return out


def main():
    cache = load_jsonl(CACHE)
    labels = {}
    if LABELS.exists():
        for line in LABELS.read_text(encoding="utf-8").splitlines()[1:]:
            if line.strip():
                f = line.split("\t")
                labels[f[0]] = f
    n = 0
    for path in sys.argv[1:]:
        for b in parse(path):
            if not b["text"]:
                sys.exit(f"{path}: {b['id']}: empty text")
            cache[b["id"]] = {"id": b["id"], "lang": b["lang"], "source": "pages",
                              "query": b["query"], "text": b["text"]}
            labels[b["id"]] = [b["id"], b["lang"], str(b["event"]), b["countries"], b["note"]]
            n += 1
    CACHE.parent.mkdir(parents=True, exist_ok=True)
    with CACHE.open("w", encoding="utf-8") as f:
        for r in cache.values():
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    with LABELS.open("w", encoding="utf-8") as f:
        f.write(HEADER)
        for row in labels.values():
            f.write("\t".join(row) + "\n")
    print(f"ingested {n}; cache {len(cache)}; labels {len(labels)}")


if __name__ == "__main__":
    main()
