#!/usr/bin/env bash
# scripts/test.sh - the test command: installs dependencies, builds, runs every
# test and ends with "N passed, N failed".
set -eu
cd "$(dirname "$0")/.."
bash scripts/deps.sh
make -j"$(nproc)" all unit-tests fuzz >/dev/null
exec bash tests/run.sh
