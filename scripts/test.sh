#!/usr/bin/env bash
# Runs every test of the project: unit, CLI and golden-data tests.
# Usage: scripts/test.sh [extra nextest/cargo-test args]
set -euo pipefail
cd "$(dirname "$0")/.."

# No test needs an outside service yet. (When the Pulse/AMQP tests land, this script
# starts RabbitMQ with `rabbitmq-server -detached` if 127.0.0.1:5672 is down.)

cargo fmt --check
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --all-targets --no-fail-fast "$@"
else
  cargo test --all-targets --no-fail-fast "$@"
fi
