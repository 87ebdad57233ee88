#!/usr/bin/env bash
# End-to-end benchmark: generates the issue's 100k-test stream (≈154 MB) once, runs the
# release binaries over it and prints wall time, MB/s, tests/s and peak RSS.
# Needs python3 with python-subunit (installed with pip if missing); the generators are
# in scripts/gen/. Usage: scripts/bench.sh [runs per command, default 3] [report|worker|junit]
# ("report": only the run report's budgets, see report_bench below; "worker": only the
# queue workers', see worker_bench; "junit": the JUnit reader's, see junit_bench).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
only=${2:-}
data=bench-data
gen=scripts/gen/gen_subunit.py
mkdir -p "$data"

# Runs a command $runs times under /usr/bin/time; sets best_wall and best_rss (KB) of
# the fastest run.
best_of() {
  best_wall="" best_rss=""
  for _ in $(seq "$runs"); do
    /usr/bin/time -f "%e %M" -o "$data/time.txt" "$@" >/dev/null
    read -r wall rss < <(tail -n 1 "$data/time.txt")
    if [ -z "$best_wall" ] || awk "BEGIN{exit !($wall < $best_wall)}"; then best_wall=$wall; best_rss=$rss; fi
  done
}

# gen_report_run.py's 10 000-test run (162 MB, 128 MB of logs) with its dstat log and
# baseline, generated once.
gen_report_run() {
  if [ ! -s "$1" ]; then
    python3 -c 'import subunit' 2>/dev/null || pip install --quiet python-subunit
    echo "generating $1 ..."
    python3 scripts/gen/gen_report_run.py -n 10000 -w 8 --log-bytes 12800 -o "$1" \
      --dstat "$data/report-10k-dstat.csv" --baseline "$data/report-10k-baseline.subunit"
  fi
}

# The run report (issue 12's budgets): gen_report_run.py's 10 000-test run with
# 128 MB of logs and its dstat log, and the 14-test run from testdata/. Generation:
# wall time, peak RSS, file size. In headless Chromium (tests/browser/report.mjs
# --bench): first paint of header and failures, opening a failure, the name filter's
# keystrokes, JS heap after opening, DOM nodes, and a full-text search of every log.
report_bench() {
  local big=$data/report-10k.subunit
  gen_report_run "$big"
  [ -d tests/browser/node_modules/playwright-core ] || (cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)
  for run in "10k:$big:$data/report-10k-dstat.csv" "14:testdata/report/small.subunit:testdata/report/small-dstat.csv"; do
    IFS=: read -r name stream dstat <<<"$run"
    local page=$data/report-$name.html
    best_of $bin/resultpipe -q report "$stream" --dstat "$dstat" -o "$page"
    awk -v n="$name" -v w="$best_wall" -v r="$best_rss" -v f="$(stat -c %s "$page")" -v i="$(stat -c %s "$stream")" 'BEGIN{
      printf "report (%s tests, %.0f MB stream)  %6.2f s  peak RSS %6.1f MiB  file %5.1f MB\n", n, i/1e6, w, r/1024, f/1e6 }'
    local best=""
    for _ in $(seq "$runs"); do
      node tests/browser/report.mjs "$page" "$data/report-shots" --bench >"$data/browser-$name.json"
      best=$(python3 - "$data/browser-$name.json" "$best" <<'PY'
import json, sys
new = json.load(open(sys.argv[1]))
old = json.loads(sys.argv[2]) if sys.argv[2] else None
key = lambda r: r["firstPaintMs"] + r["openTestMs"]
print(json.dumps(new if old is None or key(new) < key(old) else old))
PY
)
    done
    python3 - "$best" "$name" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
print("  chromium (%s tests): first paint %.0f ms, ready %.0f ms, open a test %.0f ms, name filter keystroke %.0f ms median, %.0f ms worst (key to paint; slowest handler %.1f ms), JS heap %.1f MB, DOM nodes %d; full-text search: %s (%.1f s to the last result, longest main-thread task %.0f ms)"
      % (sys.argv[2], r["firstPaintMs"], r["readyMs"], r["openTestMs"], r["filter"]["median"], r["filter"]["worst"], r["filter"]["handler"], r["heapMB"], r["domNodes"],
         r["search"]["status"], r["search"]["ms"] / 1000, r["search"]["longestTaskMs"]))
PY
  done
  rm -f "$data/time.txt"
}

# Queue workers (issue 14): tasks/s with 1 and 2 workers, small and 10k-test runs over
# HTTP, stackviz + report + a Pulse job each (scripts/bench_worker.py).
worker_bench() {
  local big=$data/report-10k.subunit
  gen_report_run "$big"
  python3 -c 'import pika' 2>/dev/null || pip install --quiet pika
  mkdir -p "$data/worker"
  python3 scripts/bench_worker.py "$bin" testdata/stackviz/own_stestr_2workers/input/testrepository.subunit \
    "$big" "$data/worker" "$runs"
}

# JUnit XML (issue 15): a 200 000-testcase report (gen_junit.py, ~28 MB) converted to
# subunit and summarised; python-subunit's junitxml2subunit on it when installed.
junit_bench() {
  local xml=$data/junit-200k.xml
  [ -s "$xml" ] || python3 scripts/gen/gen_junit.py "$xml" 200000
  best_of $bin/resultpipe -q subunit "$xml" -o "$data/junit.subunit"
  awk -v w="$best_wall" -v r="$best_rss" -v b="$(stat -c %s "$xml")" 'BEGIN{
    printf "%-34s %6.2f s  %8.1f MB/s  %9.0f tests/s  peak RSS %6.1f MiB\n", "resultpipe subunit junit-200k.xml", w, b/1e6/w, 200000/w, r/1024 }'
  /usr/bin/time -f "%e %M" -o "$data/time.txt" $bin/resultpipe -q summary "$xml" >/dev/null || true
  read -r wall rss < <(tail -n 1 "$data/time.txt")
  awk -v w="$wall" -v r="$rss" 'BEGIN{printf "%-34s %6.2f s  peak RSS %6.1f MiB\n", "resultpipe summary junit-200k.xml", w, r/1024}'
  # the other way: the 100k-test benchmark stream as JUnit XML
  local big=$data/big.subunit
  if [ ! -s "$big" ]; then
    python3 -c 'import subunit' 2>/dev/null || pip install --quiet python-subunit
    python3 scripts/gen/gen_subunit.py -n 100000 -w 8 --log-bytes 1024 -o "$big"
  fi
  best_of $bin/resultpipe -q junit "$big" -o "$data/junit-big.xml"
  awk -v w="$best_wall" -v r="$best_rss" 'BEGIN{
    printf "%-34s %6.2f s  %9.0f tests/s  peak RSS %6.1f MiB\n", "resultpipe junit big.subunit", w, 100000/w, r/1024 }'
  rm -f "$data/junit-big.xml"
  if command -v junitxml2subunit >/dev/null; then
    /usr/bin/time -f "%e %M" -o "$data/time.txt" junitxml2subunit "$xml" >/dev/null 2>&1 || true
    read -r wall rss < <(tail -n 1 "$data/time.txt")
    awk -v w="$wall" -v r="$rss" 'BEGIN{printf "%-34s %6.2f s  peak RSS %6.1f MiB\n", "python-subunit junitxml2subunit", w, r/1024}'
  fi
  rm -f "$data/junit.subunit" "$data/time.txt"
}

if [ "$only" = junit ]; then
  cargo build --release --quiet
  bin=target/release
  echo "best of $runs runs"
  junit_bench
  exit 0
fi

if [ "$only" = worker ]; then
  cargo build --release --quiet
  bin=target/release
  echo "best of $runs runs"
  worker_bench
  exit 0
fi

if [ "$only" = report ]; then
  cargo build --release --quiet
  bin=target/release
  echo "best of $runs runs"
  report_bench
  exit 0
fi

input=$data/big.subunit
if [ ! -s "$input" ]; then
  python3 -c 'import subunit' 2>/dev/null || pip install --quiet python-subunit
  echo "generating $input ..."
  python3 "$gen" -n 100000 -w 8 --log-bytes 1024 -o "$input"
fi
tests=100000
bytes=$(stat -c %s "$input")
cargo build --release --quiet
bin=target/release

measure() { # name, command...
  local name=$1; shift
  local best_wall="" best_rss=""
  for _ in $(seq "$runs"); do
    rm -rf "$data/out"; sync
    /usr/bin/time -f "%e %M" -o "$data/time.txt" "$@" >/dev/null 2>"$data/stderr.txt" || true
    read -r wall rss < <(tail -n 1 "$data/time.txt")
    if [ -z "$best_wall" ] || awk "BEGIN{exit !($wall < $best_wall)}"; then best_wall=$wall; best_rss=$rss; fi
  done
  awk -v n="$name" -v w="$best_wall" -v r="$best_rss" -v b="$bytes" -v t="$tests" 'BEGIN{
    printf "%-34s %6.2f s  %8.1f MB/s  %9.0f tests/s  peak RSS %6.1f MiB\n", n, w, b/1e6/w, t/w, r/1024 }'
}

echo "input: $input ($(awk -v b="$bytes" 'BEGIN{printf "%.1f MB", b/1e6}'), $tests tests); best of $runs runs"
measure "stackviz-export --layout current" $bin/stackviz-export --layout current -f "$input" "$data/out"
measure "stackviz-export (seed layout)" $bin/stackviz-export -f "$input" "$data/out"
measure "stackviz-export --layout current -z" $bin/stackviz-export --layout current -z -f "$input" "$data/out"
measure "stackviz-export -z (seed layout)" $bin/stackviz-export -z -f "$input" "$data/out"
measure "stackviz-export -i (stdin, current)" sh -c "$bin/stackviz-export --layout current -i $data/out < $input"
measure "resultpipe summary" $bin/resultpipe summary "$input"
[ -s "$input.gz" ] || gzip -c "$input" >"$input.gz"
measure "resultpipe summary (gzipped input)" $bin/resultpipe summary "$input.gz"
rm -rf "$data/out" "$data/time.txt" "$data/stderr.txt"

# Treeherder / Pulse: 50 000 jobs from one run's job, each with its own taskId.
jobs=$data/jobs-50k.jsonl
if [ ! -s "$jobs" ]; then
  $bin/resultpipe treeherder job testdata/stackviz/tempest_fixture/input/tempest.subunit \
    --project mozilla-central --revision 9c6e4c31ad26efdad0b9af47a2b530bc414ce2c3 > "$data/one-job.json"
  python3 - "$data/one-job.json" "$jobs" <<'PY'
import json, sys
job = json.loads(open(sys.argv[1]).read())
with open(sys.argv[2], "w") as f:
    for i in range(50000):
        job["taskId"] = "rp-bench-%d" % i
        f.write(json.dumps(job) + "\n")
PY
fi
tstart=$(date +%s.%N)
$bin/resultpipe treeherder validate "$jobs" | tail -1
tend=$(date +%s.%N)
awk -v a="$tstart" -v b="$tend" 'BEGIN{printf "%-34s %6.2f s  %9.0f jobs/s (parse + validate)\n", "treeherder validate (50k jobs)", b-a, 50000/(b-a)}'
if (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null && python3 -c 'import pika' 2>/dev/null; then
  python3 - <<'PY'
import pika
c = pika.BlockingConnection(pika.URLParameters("amqp://guest:guest@127.0.0.1:5672/%2f"))
ch = c.channel()
ch.exchange_declare("exchange/rpbench/jobs", "topic", durable=True)
ch.queue_declare("queue/rpbench/jobs")
ch.queue_purge("queue/rpbench/jobs")
ch.queue_bind("queue/rpbench/jobs", "exchange/rpbench/jobs", "#")
c.close()
PY
  tstart=$(date +%s.%N)
  PULSE_URL=amqp://guest:guest@127.0.0.1:5672/%2f $bin/resultpipe pulse publish "$jobs" --exchange exchange/rpbench/jobs | tail -1
  tend=$(date +%s.%N)
  awk -v a="$tstart" -v b="$tend" 'BEGIN{printf "%-34s %6.2f s  %9.0f confirmed jobs/s\n", "pulse publish (50k jobs)", b-a, 50000/(b-a)}'
else
  echo "pulse publish: skipped (needs RabbitMQ on 127.0.0.1:5672 and python3 pika to bind a queue)"
fi

# OCT: the report and results-to-csv on the issue's 1 000 000-row database (OCT 0.4.12
# needs about 60 s of CPU and 1 GB for each).
oct=$data/oct-big.sqlite
if [ ! -s "$oct" ]; then
  python3 scripts/gen/gen_oct_big.py "$oct" 1000000 3600
fi
echo '{"run_time": 3600, "results_ts_interval": 10, "testing": false, "progress_bar": false, "turrets": []}' >"$data/oct-config.json"
measure_oct() {
  label=$1
  shift
  local best_wall="" best_rss=""
  for _ in $(seq "$runs"); do
    /usr/bin/time -f "%e %M" -o "$data/time.txt" "$@" >/dev/null 2>&1 || true
    read -r wall rss < <(tail -n 1 "$data/time.txt")
    if [ -z "$best_wall" ] || awk "BEGIN{exit !($wall < $best_wall)}"; then best_wall=$wall; best_rss=$rss; fi
  done
  wall=$best_wall; rss=$best_rss
  awk -v l="$label" -v w="$wall" -v r="$rss" 'BEGIN{printf "%-34s %6.2f s  %9.0f rows/s  peak RSS %6.1f MiB\n", l, w, 1000000/w, r/1024}'
}
measure_oct "oct report (1M rows)" $bin/resultpipe oct report "$oct" --config "$data/oct-config.json" -o "$data/oct-report"
measure_oct "oct results-to-csv (1M rows)" $bin/resultpipe oct results-to-csv "$oct" "$data/oct-big.csv"
rm -rf "$data/oct-big.csv" "$data/oct-report" "$data/time.txt"

# Splunk HEC: run events to the loopback HEC of the test suite (tests/it/support/hec.rs:
# token check, gzip, every envelope parsed), from the 100k-test stream (200 018 events)
# and the 1M-row OCT database (1 000 004 events); then the library's delivery alone.
cargo bench --quiet --bench hec --no-run 2>/dev/null
for input in "$input" "$oct"; do
  for _ in $(seq "$runs"); do
    HEC_BENCH_INPUT=$PWD/$input cargo bench --quiet --bench hec 2>/dev/null | tail -n 1
  done | sort -k6 -n | head -n 1
  echo "  (input: $input; best of $runs)"
done
cargo bench --quiet --bench hec -- --noplot 2>/dev/null | grep -E "^splunk_hec|thrpt" || true

# In-process benchmarks (criterion): the subunit v2 reader alone (scanning, and scanning
# with grouping into records), and generating + validating one Treeherder job.
for b in reader treeherder; do
  cargo bench --quiet --bench "$b" -- --noplot 2>/dev/null | grep -E "^[a-z_0-9]+/|time:|thrpt:" || true
done

report_bench
worker_bench
junit_bench
