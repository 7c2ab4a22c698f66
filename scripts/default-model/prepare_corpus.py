#!/usr/bin/env python3
"""Turns the raw corpus packages into documents: one paragraph per line, documents separated by a blank line.
Held out: the State of the Union addresses of years ending in 5, and Moby-Dick's last five chapters."""
import argparse, glob, os, re

QUOTES = {"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'}


def clean(text):
    for a, b in QUOTES.items():
        text = text.replace(a, b)
    return re.sub(r"[ \t]+", " ", text).strip()


def sotu(folder):
    for path in sorted(glob.glob(os.path.join(folder, "*.txt"))):
        year = int(os.path.basename(path)[:4])
        body = clean(open(path, encoding="utf-8").read())
        # Addresses are one line each; split them into paragraphs of about five sentences.
        sentences = re.split(r"(?<=[.!?])\s+(?=[A-Z\"])", body)
        paras = [" ".join(sentences[i:i + 5]) for i in range(0, len(sentences), 5)]
        yield year % 10 == 5, "\n".join(paras)


def moby(path):
    text = open(path, encoding="utf-8").read().replace("\r\n", "\n")
    chapters = re.split(r"\n(?=CHAPTER \d+\.)", text)
    for i, ch in enumerate(chapters):
        paras = [clean(p.replace("\n", " ")) for p in re.split(r"\n\s*\n", ch) if p.strip()]
        yield i >= len(chapters) - 5, "\n".join(paras)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sotu", required=True); ap.add_argument("--moby", required=True); ap.add_argument("--out", required=True)
    a = ap.parse_args()
    train, held = [], []
    for heldout, doc in list(sotu(a.sotu)) + list(moby(a.moby)):
        (held if heldout else train).append(doc)
    for name, docs in (("train.txt", train), ("heldout.txt", held)):
        with open(os.path.join(a.out, name), "w", encoding="utf-8") as f:
            f.write("\n\n".join(docs) + "\n")
        print(f"{name}: {len(docs)} documents, {sum(len(d.split()) for d in docs)} words")
    with open(os.path.join(a.out, "SOURCES.md"), "w") as f:
        f.write(open(os.path.join(os.path.dirname(__file__), "SOURCES.md")).read())


if __name__ == "__main__":
    main()
