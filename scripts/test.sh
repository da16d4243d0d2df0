#!/usr/bin/env bash
# scripts/test.sh - the test command: installs dependencies, builds, runs every
# test and ends with "N passed, N failed".
set -eu
cd "$(dirname "$0")/.."
bash scripts/deps.sh
make -j"$(nproc)" all build/test_monitor build/test_guestlib fuzz >/dev/null
exec bash tests/run.sh
