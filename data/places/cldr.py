#!/usr/bin/env python3
"""Writes data/places/cldr.toml: country, region and bloc names in more languages, from the
Unicode CLDR territory names that ship inside the Python package Babel (no network access at
run time: the data is in the package).

    pip install babel==2.19.0 wordfreq==3.1.1
    python3 data/places/cldr.py > data/places/cldr.toml

CLDR has names only (no demonyms, no capitals); hand-written forms for the languages below
(a treaty's own names, variant spellings seen in real text) go into the place's entry in
countries-*.toml, regions.toml or blocs.toml, and the generated names are added after them.

A generated name that is also a common ordinary word in its language (Korean 수단, "means", is
also Sudan; Persian مالی, "financial", is also Mali) is a false match waiting to happen. The
script lists candidates on stderr: names whose frequency as a word in their language
(wordfreq's Zipf scale, from its bundled word lists) is at least half a step (x3) above the
median of the same country's names in the other languages, in a language not spoken in the
country. Each candidate was judged by hand; the verdicts are COMMON_WORDS (left out) and
EXACT_CASE (matched only as written, `=Komory`), with the reason.
"""

import math
import re
import statistics
import sys
import tomllib
from pathlib import Path

import babel
from babel import Locale
from babel.core import get_global

HERE = Path(__file__).parent

# watchword language code -> CLDR locales whose names it takes (first one first).
LANGS = {
    "zh": ["zh", "zh_Hant"],
    "ja": ["ja"],
    "ko": ["ko"],
    "he": ["he"],
    "fa": ["fa"],
    "tr": ["tr"],
    "uk": ["uk"],
    "uz": ["uz", "uz_Cyrl"],
    "kk": ["kk"],
    "hi": ["hi"],
    "bn": ["bn"],
    "pt": ["pt", "pt_PT"],
    "it": ["it"],
    "pl": ["pl"],
    "id": ["id"],
}

# Blocs that CLDR names as territories.
BLOCS = {"EU": "eu", "EZ": "eurozone"}

# Left out: the word is mostly something else, and exact case does not help (it starts a
# sentence, or the other thing is a name too).
COMMON_WORDS = {
    ("uk", "Того"): "того, 'of that', starts sentences",
    ("kk", "Того"): "того, as in Russian",
    ("uz", "Того"): "того, as in Russian",
    ("ko", "건지"): "건지, 'whether'",
    ("ko", "수단"): "수단, 'means'",
    ("ko", "말리"): "말리-, 'to dry / to stop'",
    ("ko", "오만"): "오만, 'arrogance'",
    ("ko", "피지"): "피지, 'sebum'",
    ("pt", "Reunião"): "reunião, 'meeting', starts headlines",
    ("it", "Riunione"): "riunione, 'meeting', starts headlines",
    ("pl", "Reunion"): "French réunion and Spanish reunión, 'meeting'",
    ("id", "Réunion"): "French réunion and Spanish reunión, 'meeting'",
    ("fa", "چک"): "چک, 'cheque'",
    ("fa", "مالی"): "مالی, 'financial'",
    ("fa", "پرو"): "پرو, 'fitting'",
    ("he", "בנין"): "בנין, 'building'",
    ("he", "קמרון"): "קמרון, 'vault'",
    ("he", "פרו"): "פרו, 'be fruitful'",
    ("pt", "Granada"): "Granada, the Spanish city",
    ("pt", "Guadalupe"): "Guadalupe, a given name and Mexican places",
    ("pt", "Maurício"): "Maurício, a given name",
    ("pl", "Dominika"): "Dominika, a given name",
    ("uk", "Домініка"): "Домініка, a given name",
    ("it", "Monaco"): "Monaco (di Baviera), Munich",
}

# Matched with exact case only: the lower-case word is common, the capitalised one is the place.
EXACT_CASE = {
    ("pl", "Komory"): "komory, 'chambers'",
    ("pl", "Mali"): "mali, 'small'",
    ("it", "Mali"): "mali, 'ills'",
    ("tr", "Mali"): "mali, 'financial'",
    ("pt", "Chile"): "chile, the pepper",
    ("uz", "Chili"): "chili, the pepper (in English text)",
    ("tr", "Gana"): "gana, 'wins' (in Spanish text)",
    ("uz", "Gana"): "gana, 'wins' (in Spanish text)",
    ("pt", "Gana"): "gana, 'desire'; Spanish 'wins'",
}

# Candidates for review: this far above the median of the other languages' names.
REVIEW_MARGIN = 0.5


def zipf(word, lang, cache={}):
    try:
        from wordfreq import available_languages, get_frequency_dict
    except ImportError:
        return None
    if lang not in available_languages():
        return None
    if lang not in cache:
        try:
            cache[lang] = get_frequency_dict(lang)
        except (LookupError, ValueError):
            cache[lang] = None
    table = cache[lang]
    if table is None:
        return None
    freq = table.get(word.lower(), 0)
    return math.log10(freq) + 9 if freq else 0.0


def load(pattern):
    out = {}
    for path in sorted(HERE.glob(pattern)):
        with open(path, "rb") as f:
            out.update(tomllib.load(f))
    return out


def main():
    countries = load("countries-*.toml")
    regions = load("regions.toml")
    blocs = load("blocs.toml")
    places = []  # (key, cldr code, entry)
    for code, entry in countries.items():
        places.append((code, code, entry))
    for slug, entry in regions.items():
        places.append((slug, entry["m49"], entry))
    for cldr_code, slug in BLOCS.items():
        places.append((slug, cldr_code, blocs[slug]))

    out = sys.stdout
    cldr_version = get_global("cldr").get("version", "unknown")
    out.write(
        "# Generated by data/places/cldr.py from the Unicode CLDR territory names in Babel "
        f"{babel.__version__}\n# (CLDR {cldr_version}, Unicode License v3); do not edit: "
        "change the script, or add forms to the\n# place's hand-written entry. See "
        "data/places/README.md.\n"
    )
    territory_languages = get_global("territory_languages")
    for key, cldr_code, entry in places:
        spoken = {l.split("_")[0] for l in territory_languages.get(cldr_code, {})}
        lines = []
        generated = {}
        for lang, locales in LANGS.items():
            names = []
            omitted = []
            hand = entry.get(lang, {}).get("names", [])
            for locale in locales:
                name = Locale.parse(locale).territories.get(cldr_code)
                if not name or name == cldr_code:
                    continue
                # CLDR writes some names with a dash between parts (Papua – Yangi Gvineya) and
                # some with a gloss in parentheses (Ameryka Północna (USA, Kanada)).
                name = re.sub(r"\s*\(.*?\)", "", name)
                name = " ".join(name.replace(" – ", " ").replace(" — ", " ").split())
                if (lang, name) in COMMON_WORDS:
                    note = f"{name} ({COMMON_WORDS[(lang, name)]})"
                    if note not in omitted:
                        omitted.append(note)
                    continue
                if (lang, name) in EXACT_CASE:
                    name = f"={name}"
                if name in names or name in hand or f"={name}" in hand:
                    continue
                names.append(name)
            if names:
                generated[lang] = names
                quoted = ", ".join(f'"{n}"' for n in names)
                lines.append(f"{lang}.names = [{quoted}]")
            for note in omitted:
                lines.append(f"# omitted {lang}: {note}")
        if lines:
            out.write(f"\n[{key}]\n")
            out.write("\n".join(lines) + "\n")
        review(key, generated, spoken)


def review(key, generated, spoken):
    """Prints the names that look like common words (see the module's doc) on stderr."""
    single = {
        lang: names[0].lstrip("=")
        for lang, names in generated.items()
        if " " not in names[0]
    }
    scores = {lang: zipf(name, lang) for lang, name in single.items()}
    scores = {lang: z for lang, z in scores.items() if z}
    if len(scores) < 4:
        return
    median = statistics.median(scores.values())
    for lang, z in scores.items():
        if lang not in spoken and z - median >= REVIEW_MARGIN:
            sys.stderr.write(
                f"review {key} {lang} {single[lang]}: Zipf {z:.1f}, median {median:.1f}\n"
            )


if __name__ == "__main__":
    main()
