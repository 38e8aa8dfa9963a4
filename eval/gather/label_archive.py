#!/usr/bin/env python3
"""Label the headline archive (eval/cache/archive.jsonl) for the measured codes.

    python3 eval/gather/label_archive.py     # writes eval/labels-archive.tsv

English headlines only, so an English regex per country decides what a headline names; every
headline the screen flags is written to labels-archive.tsv (same columns as labels.tsv) and was
read by the labeller, who fixed the few the regex got wrong in OVERRIDES below. Headlines the
screen does not flag name none of the measured countries and do not report the event: measure.py
counts them as negatives (event 0, no countries) — that is the one assumption here, and the
screen is deliberately broad (any Kazakh*, Uzbek*, …, Astana, Tashkent, …, Central Asia,
Abraham, Guinea, Sudan, Korea, Seoul, Pyongyang).
"""
import json, pathlib, re

EVAL = pathlib.Path(__file__).resolve().parents[1]
SCREEN = re.compile(r"kazakh|qazaq|uzbek|kyrgyz|kirghiz|tajik|turkmen|astana|tashkent|bishkek|dushanbe|"
                    r"ashgabat|tokayev|mirziyoyev|central asia|abraham|guinea|sudan|korea|pyongyang|seoul",
                    re.I)
RULES = {
    "KZ": r"\bkazakh\w*|\bastana\b",
    "UZ": r"\buzbek\w*|\btashkent\b",
    "KG": r"\bkyrgyz\w*|\bkirghiz\w*|\bbishkek\b",
    "TJ": r"\btajik\w*|\bdushanbe\b",
    "TM": r"\bturkmen\w*|\bashgabat\b",
    "PG": r"papua new guinea\w*",
    "GQ": r"equatorial guinea\w*",
    "GW": r"guinea[- ]bissau\w*",
    "GN": r"(?<!papua new )(?<!equatorial )\bguinea(n|ns)?\b(?![- ]bissau)",
    "SS": r"\bsouth sudan\w*",
    "SD": r"(?<!south )\bsudan(ese)?\b",
    "KP": r"\bnorth korea\w*|\bpyongyang\b|\bn\.? korea\w*|\bkim jong[- ]un's north\b",
    "KR": r"\bsouth korea\w*|\bseoul\b|\bs\.? korea\w*|(?<!north )(?<!\bn\. )(?<!\bn )\bkorea(n|ns)?\b|\bkospi\b",
    "IL": r"\bisrael\w*",
    "AE": r"\buae\b|united arab emirates|\bemirati\b",
    "SA": r"\bsaudi\w*",
    "IR": r"\biran(ian)?s?\b",
    "PK": r"\bpakistan\w*",
}
# the screen sees "Korean" inside "North Korean"; the KR rule excludes it by lookbehind, and the
# (?<!north ) also keeps "North Korea and South Korea" right: both codes then match.
EVENT = {  # the headlines that report Kazakhstan joining the Accords (read)
    "news/2025/11/07/05-34.md#L13", "news/2025/11/07/06-50.md#L7", "news/2025/11/07/09-47.md#L9",
}
OVERRIDES = {  # path#line -> (countries, note): where the regex is wrong for the reader.
    # A bare "Korea"/"Korean" is taken as South Korea (in these feeds: Korean stocks, Korean
    # companies, "available in Korea"); the exceptions below are the peninsula or its history.
    "news/2025/07/27/21-48.md#L10": ("KP", "archive headline: 'Korean War' is the war, not South Korea; read"),
    "news/2025/08/05/04-54.md#L11": ("", "archive headline: Korean survivors of Hiroshima (1945, before the split); read"),
    "news/2026/08/16/07-59.md#L9": ("KP,RU", "archive headline: 'Korean Liberation Day' is the peninsula's; read"),
}


def main():
    rows = []
    for line in (EVAL / "cache" / "archive.jsonl").read_text(encoding="utf-8").splitlines():
        r = json.loads(line)
        text = r["text"]
        if not SCREEN.search(text):
            continue
        low = text.lower()
        codes = [c for c, rx in RULES.items() if re.search(rx, low)]
        key = r["id"].split(":", 1)[1]
        note = "archive headline; countries by regex, read"
        if key in OVERRIDES:
            codes, note = [c for c in OVERRIDES[key][0].split(",") if c], OVERRIDES[key][1]
        event = "1" if key in EVENT else "0"
        if event == "1":
            note = "archive headline reporting the accession; read"
        rows.append([r["id"], "en", event, ",".join(c for c in codes if c), note])
    out = EVAL / "labels-archive.tsv"
    with out.open("w", encoding="utf-8") as f:
        f.write("id\tlang\tevent\tcountries\tnote\n")
        for row in rows:
            f.write("\t".join(row) + "\n")
    print(f"{len(rows)} screened headlines -> {out}")


if __name__ == "__main__":
    main()
