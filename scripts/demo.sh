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
set -e

# The static-file web server, built from WebAssembly, on a TAP device inside a
# network namespace this script creates and removes: no traffic leaves it.
. tests/lib.sh # the netns_* helpers; its scratch directory goes in cleanup
NS=hedge-demo$$
TAP=hdemo0
SITE=$(mktemp -d)
LOG=$(mktemp)
printf '<html><body><h1>Served by a WebAssembly unikernel on hedge</h1></body></html>\n' >"$SITE/index.html"
cleanup() {
	set +e
	netns_cleanup "$NS" "${PID:-}"
	rm -rf "$SITE" "$LOG"
	t_cleanup
}
trap cleanup EXIT
echo "== the web server: hedge run --netns $NS --net tap:$TAP --ip 10.99.0.2/24 --dir SITE::/site build/wasm/http_server.wasm -- 8080 /site"
netns_create "$NS"
timeout -k 5 120 build/hedge run --netns "$NS" --net "tap:$TAP" --ip 10.99.0.2/24 \
	--dir "$SITE::/site" build/wasm/http_server.wasm -- 8080 /site >"$LOG" 2>&1 </dev/null &
PID=$!
# The monitor makes the TAP before the guest starts, so a listening server has one.
wait_log "$LOG" listening "$PID" 60 || true # the first run builds the image: give it a minute
netns_tap "$NS" "$TAP" 10.99.0.1/24 "$PID"
echo "== curl http://10.99.0.2:8080/index.html (inside the namespace)"
ip netns exec "$NS" curl -sS --max-time 10 --retry 5 --retry-connrefused http://10.99.0.2:8080/index.html
