#!/usr/bin/env bash
# Regenerates the program outputs shown in the docs from real runs: every fenced block after an
# `<!-- output: COMMAND -->` marker is replaced with `$ COMMAND` and what the command prints now.
# Marker syntax, flags and the comparison the tests make: docs/doc_outputs.py (its docstring).
#
#   bash docs/regenerate_outputs.sh [--slow] [--gpu] [build dir] [doc.md ...]
#
#   build dir  where the programs were built (default: build/); build them first
#   doc.md     the pages to refresh (default: every docs/*.md with a marker)
#   --slow     also run the blocks marked (slow) (tutorial 1 step 7 measures for about 30 s)
#   --gpu      also run the blocks marked (gpu) (a CUDA build on a machine with a GPU)
#
# The numbers will differ from the previous run (timings, ports); read the prose around each
# changed block before committing. The tests docs_output_* check the blocks (tests/docs_outputs.cmake).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
flags=() build="$root/build" docs=()
for arg in "$@"; do
  case "$arg" in
    --slow|--gpu) flags+=("$arg") ;;
    -h|--help) sed -n '2,14p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "regenerate_outputs.sh: error: unknown option $arg" >&2; exit 2 ;;
    *.md) docs+=("$arg") ;;
    *) [ -d "$arg" ] || { echo "regenerate_outputs.sh: error: build directory $arg not found" >&2; exit 2; }
       build=$arg ;;
  esac
done
if [ ${#docs[@]} -eq 0 ]; then
  mapfile -t docs < <(grep -l '^<!-- output: ' "$root"/docs/*.md)
fi
exec python3 "$root/docs/doc_outputs.py" regenerate "${flags[@]}" --build "$build" "${docs[@]}"
