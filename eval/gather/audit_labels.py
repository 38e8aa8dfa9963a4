#!/usr/bin/env python3
"""Cross-check the `countries` labels against the cached text with a small keyword list of
our own (independent of watchword's gazetteer), for the codes the measurement relies on.

    python3 eval/gather/audit_labels.py

Prints items where a keyword for a code occurs but the label lacks the code, or the label has
the code but no keyword occurs. Each flag is then settled by reading the text; a keyword list
cannot decide (e.g. "Sudan" inside "South Sudan", a company name like Kazatomprom).
"""
import json, pathlib, re

EVAL = pathlib.Path(__file__).resolve().parents[1]
STEMS = {
    "KZ": ["kazakh", "kazach", "kasach", "kazaj", "kazak", "cazaq", "qazaq", "казах", "қазақ", "казаст",
           "қозоғ", "qozog", "كازاخ", "قازاق", "قزاق", "קזח", "哈萨克", "哈薩克", "カザフ", "카자흐",
           "कजाक", "কাজাখ", "കസാ", "കസഖ", "ղազախ", "kazahstan", "kazašsk", "astana", "астан", "أستانا",
           "آستانه", "アスタナ", "아스타나", "阿斯塔纳", "আস্তানা", "nur-sultan", "нур-султ", "نورسلطان",
           "نور سلطان", "noursoultan", "nursultan"],
    "UZ": ["uzbek", "ouzb", "usbek", "uzbequ", "özbek", "узбек", "ўзбек", "o'zbek", "أوزبك", "اوزبك",
           "وزبەك", "אוזבק", "乌兹别克", "烏茲別克", "ウズベク", "우즈베", "우즈벡", "ուզբեկ", "tashkent",
           "ташкент", "тошкент", "tachkent", "taschkent", "تاشقند"],
    "KG": ["kyrgyz", "kirgh", "kirgis", "kirgiz", "kirguis", "quirguist", "kırgız", "кыргыз", "киргиз",
           "қирғиз", "qirg'iz", "قيرغيز", "قرغيز", "吉里吉斯", "吉尔吉斯", "キルギス", "키르기스",
           "ղրղըզ", "bishkek", "бишкек"],
    "TJ": ["tajik", "tadjik", "tadschik", "tayik", "tagik", "tacik", "таджик", "тожик", "طاجيك", "تاجیک",
           "塔吉克", "タジキ", "타지키", "տաջիկ", "dushanbe", "душанбе", "douchanbé", "ドゥシャンベ",
           "杜尚别", "дүйшөмбү", "тажик"],
    "TM": ["turkmen", "turcomen", "туркмен", "تركمانستان", "土庫曼", "土库曼", "トルクメニ", "투르크메니",
           "թուրքմեն", "turkmeń", "تورکمن", "তুর্কমেন", "ashgabat", "ашхабад", "achgabat"],
    "GN": ["guinea", "guinée", "guinee", "guiné", "гвине", "غينيا", "ギニア"],
    "SD": ["sudan", "soudan", "судан", "السودان", "سودان", "סודאן", "スーダン", "수단", "苏丹", "蘇丹",
           "সুদান", "സുഡാ", "ሱዳን"],
    "KR": ["south korea", "südkorea", "corée du sud", "corea del sur", "corea del sud", "южн", "південн",
           "韩国", "韓國", "南韩", "南韓", "韓国", "한국", "seoul", "сеул", "首尔", "首爾", "kr"],
    "KP": ["north korea", "nordkorea", "corée du nord", "corea del norte", "corea del nord", "кндр",
           "северн", "північн", "朝鲜", "朝鮮", "北韩", "北韓", "北朝鮮", "كوريا الشمالية", "کره شمالی",
           "pyongyang", "пхеньян", "dprk", "n. korean", "n korean", "norde", "нордов"],
}
# South/North Korea stems in Cyrillic are only hints: "южн"/"северн" also hit other words.

def main():
    cache = {}
    for line in (EVAL / "cache" / "items.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            r = json.loads(line); cache[r["id"]] = r["text"].lower()
    flags = 0
    for line in (EVAL / "labels.tsv").read_text(encoding="utf-8").splitlines()[1:]:
        ident, lang, event, countries, note = (line.split("\t") + [""] * 5)[:5]
        text = cache.get(ident)
        if text is None:
            continue
        have = set(countries.split(",")) - {""}
        for code, stems in STEMS.items():
            hit = [s for s in stems if s in text]
            if code == "KR":
                hit = [s for s in hit if s not in ("kr", "южн", "південн")] or \
                      ([s for s in hit if s in ("южн", "південн")] if re.search(r"(южн\w*\s+коре|південн\w*\s+коре|южнокор)", text) else [])
            if code == "KP":
                hit = [s for s in hit if s not in ("северн", "північн")] or \
                      ([s for s in hit if s in ("северн", "північн")] if re.search(r"(северн\w*\s+коре|північн\w*\s+коре|северокор)", text) else [])
            if hit and code not in have:
                print(f"MISSING {code} [{lang}] {ident} — text has {hit[:3]}; label {countries}")
                flags += 1
            if not hit and code in have:
                print(f"EXTRA   {code} [{lang}] {ident} — no keyword in text; label {countries}")
                flags += 1
    print(f"{flags} flag(s)")

if __name__ == "__main__":
    main()
