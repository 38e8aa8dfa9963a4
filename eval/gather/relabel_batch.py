#!/usr/bin/env python3
"""Fill the headers of a rebuild batch from an existing labels file.

Rebuilding the cache for labels that already exist (the cache is not committed and can be
lost): re-run the searches of gather/queries*.tsv, and for every labelled URL found, write a
block headed only `@@ <id> <query-no>` followed by the item's text, taken the way ingest.py
documents (title line, then the first one or two sentences of the lead, verbatim). This script
rewrites each header into ingest.py's full form from the label, so the labels stay the ones
made on the original text:

    python3 eval/gather/relabel_batch.py --labels eval/labels-fresh.tsv IN OUT

Ids not in the labels file stop the run (a rebuild adds no new items; extending the corpus
is ingest.py's job, with a label written for the new item).
"""
import argparse, pathlib, sys

ap = argparse.ArgumentParser()
ap.add_argument("--labels", required=True)
ap.add_argument("inp")
ap.add_argument("out")
a = ap.parse_args()
labels = {}
for line in pathlib.Path(a.labels).read_text(encoding="utf-8").splitlines()[1:]:
    if line.strip():
        f = (line.split("\t") + [""] * 5)[:5]
        labels[f[0]] = f
out = []
for line in pathlib.Path(a.inp).read_text(encoding="utf-8").splitlines():
    if line.startswith("@@ "):
        parts = line[3:].split()
        ident, qno = parts[0], (parts[1] if len(parts) > 1 else "-")
        if ident not in labels:
            sys.exit(f"{a.inp}: {ident}: not in {a.labels}")
        _, lang, event, countries, note = labels[ident]
        out.append(f"@@ {ident} {lang} {event} {countries or '-'} {qno} {note}")
    else:
        out.append(line)
pathlib.Path(a.out).write_text("\n".join(out) + "\n", encoding="utf-8")
print(f"{a.out}: {sum(l.startswith('@@ ') for l in out)} blocks")
