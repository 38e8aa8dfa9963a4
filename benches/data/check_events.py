#!/usr/bin/env python3
"""Validate benches/data/events.jsonl and print the counts quoted in events.md.

Python 3 standard library only. Usage:

    python3 benches/data/check_events.py [path/to/events.jsonl]

Exits 1 (after printing every problem found) if a hard requirement fails.
"""
import collections
import datetime as dt
import json
import re
import sys
import urllib.parse
from pathlib import Path

FIELDS = ["split", "topic", "rule", "event", "outlet", "lang", "title", "summary", "published", "link"]
LANGS = {"en", "ru", "ar", "fr", "de", "es", "zh", "tr", "fa", "uk", "kk", "uz", "pt", "it", "ja"}
CJK = {"zh", "ja"}  # no spaces between words: summaries are measured in characters
MIN_REPORTS, MAX_REPORTS = 3, 20
MAX_SPAN_H = 48
MIN_EVENTS, MIN_TEST_EVENTS, MIN_DEV_EVENTS = 45, 30, 10
MIN_MULTI_SHARE = 1 / 3
TOPIC_EVENTS = (2, 5)
WORDS = (10, 60)  # summary words, space-separated languages
CJK_CHARS = (20, 150)  # summary characters (letters and digits), zh and ja

TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
LINK = re.compile(r"^https://[a-z0-9-]+\.example/\S+$")


def canonical(link):
    """The link without utm_* parameters (syndicated copies differ only there)."""
    u = urllib.parse.urlsplit(link)
    q = [(k, v) for k, v in urllib.parse.parse_qsl(u.query) if not k.startswith("utm_")]
    return urllib.parse.urlunsplit((u.scheme, u.netloc, u.path, urllib.parse.urlencode(q), ""))


def summary_size(item):
    s = item["summary"]
    if item["lang"] in CJK:
        return sum(1 for c in s if c.isalnum())
    return len(s.split())


def main():
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).with_name("events.jsonl")
    errors = []

    def fail(msg):
        errors.append(msg)

    items = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            fail(f"line {n}: empty line")
            continue
        try:
            d = json.loads(line)
        except json.JSONDecodeError as e:
            fail(f"line {n}: not JSON ({e})")
            continue
        missing = [f for f in FIELDS if not isinstance(d.get(f), str) or not d[f].strip()]
        if missing:
            fail(f"line {n}: missing or empty field(s) {', '.join(missing)}")
            continue
        extra = sorted(set(d) - set(FIELDS))
        if extra:
            fail(f"line {n}: unknown field(s) {', '.join(extra)}")
        if d["split"] not in ("dev", "test"):
            fail(f"line {n}: split {d['split']!r} is not dev or test")
        if d["lang"] not in LANGS:
            fail(f"line {n}: lang {d['lang']!r} not in the set's languages")
        if not TS.match(d["published"]):
            fail(f"line {n}: published {d['published']!r} is not RFC 3339 UTC (YYYY-MM-DDTHH:MM:SSZ)")
            continue
        d["_t"] = dt.datetime.strptime(d["published"], "%Y-%m-%dT%H:%M:%SZ")
        if not LINK.match(d["link"]):
            fail(f"line {n}: link {d['link']!r} is not https://<domain>.example/<path>")
        d["_n"] = n
        items.append(d)

    # order
    for a, b in zip(items, items[1:]):
        if b["_t"] < a["_t"]:
            fail(f"line {b['_n']}: not sorted by published ({b['published']} after {a['published']})")

    # links
    links = collections.Counter(d["link"] for d in items)
    for link, c in links.items():
        if c > 1:
            fail(f"link used {c} times: {link}")
    by_canon = collections.defaultdict(list)
    for d in items:
        by_canon[canonical(d["link"])].append(d)
    syndicated = [g for g in by_canon.values() if len(g) > 1]
    for g in syndicated:
        if len({d["event"] for d in g}) > 1:
            fail(f"one article (utm aside) in two events: {g[0]['link']}")

    # outlets write in one language
    outlet_langs = collections.defaultdict(set)
    for d in items:
        outlet_langs[d["outlet"]].add(d["lang"])
    for o, ls in outlet_langs.items():
        if len(ls) > 1:
            fail(f"outlet {o!r} writes in several languages: {sorted(ls)}")

    # events
    events = collections.OrderedDict()
    for d in items:
        events.setdefault(d["event"], []).append(d)
    for e, its in events.items():
        for key in ("topic", "split", "rule"):
            vals = {d[key] for d in its}
            if len(vals) > 1:
                fail(f"event {e}: several {key}s {sorted(vals)} (event keys must be unique across topics)")
        if not MIN_REPORTS <= len(its) <= MAX_REPORTS:
            fail(f"event {e}: {len(its)} reports (must be {MIN_REPORTS}-{MAX_REPORTS})")
        dup = [o for o, c in collections.Counter(d["outlet"] for d in its).items() if c > 1]
        if dup:
            fail(f"event {e}: reported twice by {dup}")
        span = (its[-1]["_t"] - its[0]["_t"]).total_seconds() / 3600
        if span > MAX_SPAN_H:
            fail(f"event {e}: reports span {span:.1f} h (max {MAX_SPAN_H})")

    # topics
    topics = collections.OrderedDict()
    for e, its in events.items():
        topics.setdefault(its[0]["topic"], []).append(e)
    for t, evs in topics.items():
        rules = {events[e][0]["rule"] for e in evs}
        splits = {events[e][0]["split"] for e in evs}
        if len(rules) > 1:
            fail(f"topic {t}: several rules")
        if len(splits) > 1:
            fail(f"topic {t}: in both splits")
        if not TOPIC_EVENTS[0] <= len(evs) <= TOPIC_EVENTS[1]:
            fail(f"topic {t}: {len(evs)} events (must be {TOPIC_EVENTS[0]}-{TOPIC_EVENTS[1]})")

    # summaries
    short_long = []
    for d in items:
        lo, hi = CJK_CHARS if d["lang"] in CJK else WORDS
        if not lo <= summary_size(d) <= hi:
            short_long.append(d)
            unit = "characters" if d["lang"] in CJK else "words"
            fail(f"line {d['_n']}: summary has {summary_size(d)} {unit} (must be {lo}-{hi})")

    # splits and languages
    split_events = collections.defaultdict(list)
    for e, its in events.items():
        split_events[its[0]["split"]].append(e)
    multi = [e for e, its in events.items() if len({d["lang"] for d in its}) >= 2]
    share = len(multi) / len(events) if events else 0.0
    if len(events) < MIN_EVENTS:
        fail(f"{len(events)} events (need at least {MIN_EVENTS})")
    if len(split_events["test"]) < MIN_TEST_EVENTS:
        fail(f"{len(split_events['test'])} test events (need at least {MIN_TEST_EVENTS})")
    if len(split_events["dev"]) < MIN_DEV_EVENTS:
        fail(f"{len(split_events['dev'])} dev events (need at least {MIN_DEV_EVENTS})")
    if share < MIN_MULTI_SHARE:
        fail(f"multi-language share {share:.2f} (need at least 1/3)")

    # ---- report ----
    def p(*a):
        print(*a)

    p(f"file: {path}")
    if items:
        p(f"items: {len(items)}   events: {len(events)}   topics: {len(topics)}   "
          f"outlets: {len(outlet_langs)}   languages: {len({d['lang'] for d in items})}")
        p(f"dates: {items[0]['published'][:10]} .. {items[-1]['published'][:10]}")
    for s in ("dev", "test"):
        evs = split_events[s]
        n_items = sum(len(events[e]) for e in evs)
        n_topics = len({events[e][0]['topic'] for e in evs})
        n_multi = sum(1 for e in evs if e in multi)
        p(f"split {s}: {n_topics} topics, {len(evs)} events, {n_items} items, "
          f"{n_multi} multi-language events")
    p(f"multi-language events: {len(multi)} of {len(events)} ({share:.0%})")

    nl = collections.Counter(len({d['lang'] for d in its}) for its in events.values())
    p("languages per event: " + ", ".join(f"{k}: {nl[k]}" for k in sorted(nl)))

    sizes = collections.Counter(len(its) for its in events.values())
    p("reports per event: " + ", ".join(f"{k}: {sizes[k]}" for k in sorted(sizes)))
    bands = [(3, 6), (7, 7), (8, 12), (13, 14), (15, 20)]
    p("  bands: " + ", ".join(
        f"{a}-{b}: {sum(c for k, c in sizes.items() if a <= k <= b)}" if a != b
        else f"{a}: {sizes.get(a, 0)}" for a, b in bands))

    p("per language (items / events / outlets):")
    li = collections.Counter(d["lang"] for d in items)
    le = collections.Counter(l for its in events.values() for l in {d["lang"] for d in its})
    lo = collections.Counter(next(iter(ls)) for ls in outlet_langs.values())
    for l, c in li.most_common():
        p(f"  {l}: {c} / {le[l]} / {lo[l]}")

    within12 = sum(1 for its in events.values() for d in its
                   if (d["_t"] - its[0]["_t"]).total_seconds() <= 12 * 3600)
    spans = [(its[-1]["_t"] - its[0]["_t"]).total_seconds() / 3600 for its in events.values()]
    p(f"timing: {within12} of {len(items)} reports ({within12 / max(len(items), 1):.0%}) within 12 h "
      f"of their event's first report; longest event span {max(spans, default=0):.1f} h")
    # stragglers: a report of an event published after a later-starting event of its topic began
    straggle = 0
    for t, evs in topics.items():
        starts = {e: events[e][0]["_t"] for e in evs}
        for e in evs:
            later = [starts[f] for f in evs if starts[f] > starts[e]]
            if later:
                straggle += sum(1 for d in events[e] if d["_t"] > min(later))
    p(f"stragglers (reports published after the next event of their topic started): {straggle}")

    p(f"syndicated pairs (same link, other utm parameters): {len(syndicated)}")
    p(f"summaries: {sum(1 for d in items if d['lang'] not in CJK)} measured in words "
      f"(min {min((summary_size(d) for d in items if d['lang'] not in CJK), default=0)}, "
      f"max {max((summary_size(d) for d in items if d['lang'] not in CJK), default=0)}), "
      f"{sum(1 for d in items if d['lang'] in CJK)} in characters (zh, ja)")

    short = sum(1 for d in items
                if summary_size(d) <= (40 if d["lang"] in CJK else 15))
    p(f"short items (headline + one short sentence: summary of at most 15 words, 40 characters in zh/ja): {short}")

    p("topics (dev first, then test; each event with the hours from its topic's first report):")
    order = sorted(topics, key=lambda t: (events[topics[t][0]][0]["split"] != "dev",
                                          min(events[e][0]["_t"] for e in topics[t])))
    for t in order:
        evs = topics[t]
        t0 = min(events[e][0]["_t"] for e in evs)
        its0 = events[evs[0]][0]
        p(f"  [{its0['split']}] {t}  rule: {its0['rule']}")
        for e in sorted(evs, key=lambda e: events[e][0]["_t"]):
            its = events[e]
            langs = sorted({d["lang"] for d in its}, key=lambda l: (-sum(1 for d in its if d["lang"] == l), l))
            gap = (its[0]["_t"] - t0).total_seconds() / 3600
            p(f"    {its[0]['published'][5:16]} (+{gap:.1f} h)  {e}: {len(its)} reports, {'/'.join(langs)}")

    if errors:
        p(f"\nFAILED: {len(errors)} problem(s)")
        for m in errors:
            p("  " + m)
        return 1
    p("\nOK: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
