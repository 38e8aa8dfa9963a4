#!/usr/bin/env python3
"""Ingest one hand-made batch of search results into the cache and the labels.

A batch file (kept in eval/cache/batches/, never committed) is a series of blocks:

    @@ <id> <lang> <event> <countries|-> <query-no> <note ...>
    <text: the item as stored: the start of the search excerpt, a title line then a lead>

The text goes to eval/cache/items.jsonl (gitignored), the label to eval/labels.tsv.
Ids already present are replaced (re-ingesting a batch is idempotent).

    python3 eval/gather/ingest.py [--labels FILE] [--exclude FILE ...] BATCH...

`--labels` writes the labels to another file (the fresh sample: eval/labels-fresh.tsv);
`--exclude` skips, with a note, every id already labelled in FILE (a fresh sample holds no
item of the corpus it checks).
"""
import argparse, json, sys, pathlib

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


def read_labels(path):
    labels = {}
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines()[1:]:
            if line.strip():
                f = line.split("\t")
                labels[f[0]] = f
    return labels


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--labels", default=str(LABELS))
    ap.add_argument("--exclude", action="append", default=[])
    ap.add_argument("batches", nargs="+")
    args = ap.parse_args()
    labels_path = pathlib.Path(args.labels)
    excluded = set()
    for e in args.exclude:
        excluded |= set(read_labels(pathlib.Path(e)))
    cache = load_jsonl(CACHE)
    labels = read_labels(labels_path)
    n = skipped = 0
    for path in args.batches:
        for b in parse(path):
            if b["id"] in excluded:
                skipped += 1
                print(f"skipped (already labelled): {b['id']}", file=sys.stderr)
                continue
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
    with labels_path.open("w", encoding="utf-8") as f:
        f.write(HEADER)
        for row in labels.values():
            f.write("\t".join(row) + "\n")
    print(f"ingested {n}, skipped {skipped}; cache {len(cache)}; labels {len(labels)} in {labels_path}")


if __name__ == "__main__":
    main()
