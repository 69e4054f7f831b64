#!/bin/sh
# The source-code corpus of `analyze cells`: this repository's own C# source (src/**/*.cs, build output excluded),
# concatenated in byte order of the paths into one UTF-8 text, so a char-LM can be trained on code.
#   bench/make_code_corpus.sh [OUT]        (default runs/code-corpus.txt; run from the repository root)
set -eu
out=${1:-runs/code-corpus.txt}
mkdir -p "$(dirname "$out")"
find src -name '*.cs' -not -path '*/bin/*' -not -path '*/obj/*' | LC_ALL=C sort | while read -r f; do
  cat "$f"
  printf '\n'
done > "$out"
echo "wrote $out: $(wc -c < "$out") bytes from $(find src -name '*.cs' -not -path '*/bin/*' -not -path '*/obj/*' | wc -l) files"
