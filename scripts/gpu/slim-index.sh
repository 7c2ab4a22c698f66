#!/usr/bin/env bash
# The tracked tree (default model, tokenizer, pooling, decoder and multimodal fixtures) is larger than the 64 MiB a GPU call carries.
# `slim-index.sh on` takes those folders out of git's index (the files stay on disk, ignored through
# .git/info/exclude) for the duration of a GPU call; `slim-index.sh off` puts them back. Never commit in between.
set -euo pipefail
cd "$(dirname "$0")/../.."
paths=(models tests/fixtures/tokenizers tests/fixtures/pooling tests/fixtures/models tests/fixtures/multimodal scripts/fixtures/pending-models)
exclude=.git/info/exclude
case "${1:-}" in
  on)
    git rm -r --cached -q "${paths[@]}"
    # gitignore has no trailing comments: the patterns stand alone and `off` removes exactly these lines.
    for p in "${paths[@]}"; do echo "/$p/" >> "$exclude"; done
    git ls-files -z | xargs -0 du -cb 2>/dev/null | tail -1 ;;
  off)
    git reset -q -- "${paths[@]}"
    for p in "${paths[@]}"; do grep -vxF "/$p/" "$exclude" > "$exclude.tmp" || true; mv "$exclude.tmp" "$exclude"; done
    git status --short | head -5 ;;
  *) echo "usage: scripts/gpu/slim-index.sh on|off" >&2; exit 2 ;;
esac
