#!/usr/bin/env python3
"""Rebuild eval/cache/items.jsonl from the live web, for labels whose cached text is missing.

    python3 eval/gather/fetch_live.py [--all] [--limit N] [--delay 1.0]

The committed labels (eval/labels.tsv) carry the URL of every item. The cache the labels were
made on holds, per item, the *start* of the page as a search engine's stored copy showed it
(a title line and the first sentence or two of the lead; see eval/README.md). This script
re-creates an equivalent cache from the pages themselves: it fetches each URL (one request a
second, a browser-like User-Agent, 20 s timeout), takes the page's <title> (or og:title) as
the title and og:description / the first paragraphs as the lead, cut to about 350 characters,
and writes the same JSON lines as eval/gather/ingest.py.

Pages change and disappear: a rebuilt cache is close to, not identical with, the one the
baseline was measured on. `eval/measure.py` reports how many labels had no cached text, and
spot-check rebuilt items against their label notes before trusting new figures.
Standard library only.
"""
from __future__ import annotations

import argparse
import html
import json
import pathlib
import re
import sys
import time
import urllib.request
from html.parser import HTMLParser

EVAL = pathlib.Path(__file__).resolve().parents[1]
CACHE = EVAL / "cache" / "items.jsonl"
LABELS = EVAL / "labels.tsv"
UA = "Mozilla/5.0 (X11; Linux x86_64) watchword-eval/1"


class Lead(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.title, self.meta, self.paras = "", {}, []
        self._in, self._buf = None, []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "meta":
            key = a.get("property") or a.get("name")
            if key in ("og:title", "og:description", "description") and a.get("content"):
                self.meta.setdefault(key, a["content"])
        elif tag in ("title", "p", "h1"):
            self._in, self._buf = tag, []

    def handle_endtag(self, tag):
        if tag == self._in:
            text = " ".join("".join(self._buf).split())
            if tag == "title" and not self.title:
                self.title = text
            elif tag in ("p", "h1") and len(text) > 40:
                self.paras.append(text)
            self._in = None

    def handle_data(self, data):
        if self._in:
            self._buf.append(data)


def extract(body: bytes, charset: str | None) -> str:
    text = body.decode(charset or "utf-8", errors="replace")
    p = Lead()
    p.feed(text)
    title = p.meta.get("og:title") or p.title
    lead = p.meta.get("og:description") or p.meta.get("description") or " ".join(p.paras[:2])
    lead = html.unescape(lead)
    if len(lead) > 350:
        cut = lead[:350]
        lead = cut[: cut.rfind(" ")] if " " in cut else cut
    return f"{title.strip()}\n{lead.strip()}".strip()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--all", action="store_true", help="refetch even items already cached")
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--delay", type=float, default=1.0)
    args = ap.parse_args()

    cache = {}
    if CACHE.exists():
        for line in CACHE.read_text(encoding="utf-8").splitlines():
            if line.strip():
                r = json.loads(line)
                cache[r["id"]] = r
    todo = []
    for line in LABELS.read_text(encoding="utf-8").splitlines()[1:]:
        ident, lang = line.split("\t")[:2]
        if ident.startswith("http") and (args.all or ident not in cache):
            todo.append((ident, lang))
    if args.limit:
        todo = todo[: args.limit]
    ok = 0
    for n, (url, lang) in enumerate(todo, 1):
        try:
            req = urllib.request.Request(url, headers={"User-Agent": UA})
            with urllib.request.urlopen(req, timeout=20) as resp:
                body = resp.read(2_000_000)
                charset = resp.headers.get_content_charset()
            text = extract(body, charset)
            if text:
                cache[url] = {"id": url, "lang": lang, "source": "live", "query": "", "text": text}
                ok += 1
        except Exception as e:  # noqa: BLE001 - report and go on
            print(f"{n}/{len(todo)} {url}: {e}", file=sys.stderr)
        time.sleep(args.delay)
    CACHE.parent.mkdir(parents=True, exist_ok=True)
    with CACHE.open("w", encoding="utf-8") as f:
        for r in cache.values():
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    print(f"fetched {ok}/{len(todo)}; cache now {len(cache)} items", file=sys.stderr)


if __name__ == "__main__":
    main()
