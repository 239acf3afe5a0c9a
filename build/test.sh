#!/usr/bin/env bash
# Builds the solution, runs every test assembly and prints one closing line:
#   tests: N passed, M failed, K skipped
# Extra arguments go to `dotnet test` (e.g. --filter).
set -uo pipefail
cd "$(dirname "$0")/.."

results="TestResults"
rm -rf "$results"
dotnet test Skim.sln --nologo --logger "trx" --results-directory "$results" "$@"
status=$?

passed=0; failed=0; skipped=0; files=0
for trx in "$results"/*.trx; do
  [ -f "$trx" ] || continue
  files=$((files + 1))
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -n 1)
  get() { echo "$counters" | sed -n "s/.* $1=\"\([0-9]*\)\".*/\1/p"; }
  passed=$((passed + $(get passed)))
  failed=$((failed + $(get failed) + $(get error) + $(get timeout) + $(get aborted)))
  # xunit's skips leave the Counters' notExecuted at 0; the results themselves say NotExecuted.
  skipped=$((skipped + $(grep -o '<UnitTestResult [^>]*outcome="NotExecuted"' "$trx" | wc -l)))
done

if [ "$skipped" -gt 0 ]; then
  # Every skip with its reason (the message of the result that follows it), counted per reason.
  echo "skipped tests, by reason:"
  for trx in "$results"/*.trx; do
    [ -f "$trx" ] || continue
    awk '
      /<UnitTestResult / { skipping = ($0 ~ /outcome="NotExecuted"/) }
      skipping && /<Message>/ {
        line = $0; sub(/.*<Message>/, "", line); sub(/<\/Message>.*/, "", line)
        print line; skipping = 0
      }' "$trx"
  done | sed 's/&quot;/"/g; s/&apos;/'"'"'/g; s/&lt;/</g; s/&gt;/>/g; s/&amp;/\&/g' | sort | uniq -c | sed 's/^ */  /'
fi

echo "tests: ${passed} passed, ${failed} failed, ${skipped} skipped"
if [ "$files" -eq 0 ] && [ "$status" -eq 0 ]; then
  echo "no test results were written" >&2
  exit 1
fi
if [ "$status" -ne 0 ] || [ "$failed" -ne 0 ]; then
  exit 1
fi
exit 0
