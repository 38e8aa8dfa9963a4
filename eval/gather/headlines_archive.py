#!/usr/bin/env python3
"""Extract the distinct headlines of the public archive wklnd/news-archive into the cache.

    python3 eval/gather/headlines_archive.py [--git-dir /work/.mirror/wklnd+news-archive/repo]

The archive (github.com/wklnd/news-archive) commits the top headlines of a news feed every
hour or so as `news/YYYY/MM/DD/HH-MM.md`, one `- Headline - Source` line per item (July 2025 –
August 2026 in the snapshot used: commit 698a4d023612558c049e5e6560638a766e97c26c). This script
reads the snapshot with `git show` (no work tree needed), keeps the first occurrence of each
distinct headline and writes eval/cache/archive.jsonl: {"id": "wklnd/news-archive@COMMIT:PATH#LN",
"lang": "en", "date": "YYYY-MM-DD", "text": headline}. The source name after the last " - " is
kept (it is part of the published line). Standard library only.
"""
import argparse, json, pathlib, re, subprocess

EVAL = pathlib.Path(__file__).resolve().parents[1]
REPO = "wklnd/news-archive"


def git(git_dir, *args):
    return subprocess.run(["git", "--git-dir", git_dir, *args], check=True,
                          capture_output=True).stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--git-dir", default="/work/.mirror/wklnd+news-archive/repo")
    ap.add_argument("--commit", default="HEAD")
    args = ap.parse_args()
    commit = git(args.git_dir, "rev-parse", args.commit).decode().strip()
    paths = [p for p in git(args.git_dir, "ls-tree", "-r", "--name-only", commit).decode().splitlines()
             if re.fullmatch(r"news/\d{4}/\d\d/\d\d/\d\d-\d\d\.md", p)]
    paths.sort()
    # one `git cat-file --batch` for all files
    proc = subprocess.run(["git", "--git-dir", args.git_dir, "cat-file", "--batch"],
                          input="".join(f"{commit}:{p}\n" for p in paths).encode(),
                          capture_output=True, check=True)
    out, seen, pos = [], set(), 0
    data = proc.stdout
    for p in paths:
        header_end = data.index(b"\n", pos)
        size = int(data[pos:header_end].split()[2])
        body = data[header_end + 1: header_end + 1 + size].decode("utf-8", "replace")
        pos = header_end + 1 + size + 1
        date = "-".join(p.split("/")[1:4])
        for n, line in enumerate(body.splitlines(), 1):
            if not line.startswith("- "):
                continue
            text = line[2:].strip()
            key = text.lower()
            if len(text) < 15 or key in seen:
                continue
            seen.add(key)
            out.append({"id": f"{REPO}@{commit}:{p}#L{n}", "lang": "en", "date": date, "text": text})
    dest = EVAL / "cache" / "archive.jsonl"
    dest.parent.mkdir(parents=True, exist_ok=True)
    with dest.open("w", encoding="utf-8") as f:
        for r in out:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    print(f"{len(paths)} files, {len(out)} distinct headlines -> {dest} (commit {commit})")


if __name__ == "__main__":
    main()
