#!/usr/bin/env bash
# Fuzzes the readers with cargo-fuzz (libFuzzer), seeded from testdata/.
# Usage: scripts/fuzz.sh [TARGET (subunit_v2|subunit_v1|records|task|junit)] [SECONDS per target, default 60]
# Needs `cargo install cargo-fuzz`; on a stable toolchain RUSTC_BOOTSTRAP=1 lets it use
# the sanitizer flags.
set -euo pipefail
cd "$(dirname "$0")/.."
targets=${1:-"subunit_v2 subunit_v1 records task junit"}
secs=${2:-60}
export RUSTC_BOOTSTRAP=1
for t in $targets; do
  corpus=fuzz/corpus/$t
  mkdir -p "$corpus"
  if [ "$t" = task ]; then
    # each line of the sample tasks is a seed
    split -l 1 testdata/tasks/tasks.jsonl "$corpus/seed-"
  elif [ "$t" = junit ]; then
    find testdata/junit -name input.xml \
      -exec sh -c 'cp "$1" "$2/seed-$(echo "$1" | tr / _)"' _ {} "$corpus" \;
  else
    find testdata/subunit testdata/stackviz/errors/input -type f \
      \( -name '*.subunit' -o -name '*.v1' -o -regex '.*/dot-[a-z]*/[0-9]+' \) \
      -exec sh -c 'cp "$1" "$2/seed-$(echo "$1" | tr / _)"' _ {} "$corpus" \;
  fi
  cargo fuzz run "$t" "$corpus" -- -max_total_time="$secs" -max_len=1048576
done
