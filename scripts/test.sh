#!/usr/bin/env bash
# Runs every test of the project: unit, CLI and golden-data tests.
# Usage: scripts/test.sh [extra nextest/cargo-test args]
set -euo pipefail
cd "$(dirname "$0")/.."

# The Pulse and README tests talk to the real RabbitMQ on 127.0.0.1:5672 (guest/guest):
# start it if it is down and wait until it accepts connections. If it cannot be started,
# those tests fail (they never skip). One test creates a vhost of its own
# (resultpipe-test) with rabbitmqctl and closes only that vhost's connections.
broker_up() { (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null; }
if ! broker_up; then
  echo "starting RabbitMQ (rabbitmq-server -detached)..."
  rabbitmq-server -detached || echo "warning: could not start rabbitmq-server" >&2
  for _ in $(seq 60); do broker_up && break; sleep 1; done
fi
broker_up || echo "warning: RabbitMQ is not reachable on 127.0.0.1:5672; the Pulse tests will fail" >&2

# The report tests open pages in a real headless Chromium (Debian's package).
have_browser() { command -v chromium >/dev/null || command -v chromium-browser >/dev/null || command -v google-chrome >/dev/null; }
if ! have_browser && command -v apt-get >/dev/null; then
  echo "installing Chromium for the report test (apt-get install chromium)..."
  SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get install -y -q chromium >/dev/null 2>&1 ||
    { $SUDO apt-get update -q >/dev/null 2>&1 && $SUDO apt-get install -y -q chromium >/dev/null 2>&1; } ||
    echo "warning: could not install chromium; the browser test will fail" >&2
fi

# The run report's browser test drives that Chromium with playwright-core and checks
# accessibility with axe-core (npm packages pinned in tests/browser/package-lock.json).
if ! command -v npm >/dev/null && command -v apt-get >/dev/null; then
  echo "installing Node.js for the report's browser test (apt-get install nodejs npm)..."
  SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get install -y -q nodejs npm >/dev/null 2>&1 ||
    { $SUDO apt-get update -q >/dev/null 2>&1 && $SUDO apt-get install -y -q nodejs npm >/dev/null 2>&1; } ||
    echo "warning: could not install Node.js; the report's browser test will fail" >&2
fi
if [ ! -d tests/browser/node_modules/playwright-core ] || [ ! -d tests/browser/node_modules/axe-core ] ||
   [ tests/browser/package-lock.json -nt tests/browser/node_modules ]; then
  (cd tests/browser && npm ci --no-audit --no-fund --loglevel=error) ||
    echo "warning: npm ci failed in tests/browser; the report's browser test will fail" >&2
fi

# The JUnit tests read what we write with independent Python readers: python-subunit's
# subunit-ls/subunit-stats, lxml and junitparser (tests/requirements.txt).
if ! python3 -c 'import subunit, lxml, junitparser' 2>/dev/null; then
  echo "installing the JUnit tests' Python readers (pip install -r tests/requirements.txt)..."
  python3 -m pip install --quiet -r tests/requirements.txt ||
    echo "warning: could not install tests/requirements.txt; the JUnit tests will fail" >&2
fi

# Formatting is checked too: rustfmt comes with rustup's default profile; add it if not.
if ! cargo fmt --version >/dev/null 2>&1 && command -v rustup >/dev/null; then
  rustup component add rustfmt
fi
cargo fmt --check
# A CI machine builds once: incremental compilation would only cost time and disk.
if [ -n "${CI:-}" ]; then export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"; fi
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --all-targets --no-fail-fast "$@"
else
  # cargo test runs a binary's tests in threads; the RabbitMQ tests must not overlap
  cargo test --all-targets --no-fail-fast "$@" -- --test-threads=1
fi
