#!/usr/bin/env bash
# scripts/demo.sh - sets everything up on a fresh machine and boots the hello
# unikernel in a KVM microVM.
set -eu
cd "$(dirname "$0")/.."
bash scripts/deps.sh
echo "== building hedge"
make -j"$(nproc)" all >/dev/null
echo "== hedge run build/examples/hello.hvt -- hello from the demo"
build/hedge run --timings build/examples/hello.hvt -- hello from the demo
echo "== a WebAssembly app, AoT-compiled into a unikernel on first use:"
echo "== hedge run --dir examples::/data build/wasm/ls.wasm -- -l /data/c"
build/hedge run --dir examples::/data build/wasm/ls.wasm -- -l /data/c
echo "== the guest's exit status becomes hedge's: hedge run build/examples/exit_code.hvt 42"
set +e
build/hedge run build/examples/exit_code.hvt 42
echo "exit status: $?"
