#!/usr/bin/env bash
# scripts/demo.sh - sets everything up on a fresh machine, boots the hello
# unikernel in a KVM microVM, runs WebAssembly apps (one serving a page in a
# network namespace) and live-migrates a web server between two namespaces.
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
S=hedge-demoS$$
D=hedge-demoD$$
cleanup() {
	set +e
	netns_cleanup "$NS" "${PID:-}"
	netns_cleanup "$S" "${SRC:-}"
	netns_cleanup "$D" "${DST:-}"
	rm -rf "$SITE" "$LOG" "$LOG.target"
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

# Live migration: a web server moves, while it runs, to a monitor in a second
# namespace.  The two namespaces this script creates are joined by a veth
# pair with a bridge in each; the guest keeps its address and MAC.
echo "== live migration: net_http in namespace $S moves to a monitor in namespace $D"
netns_bridged_pair "$S" "$D" 10.98.0
# A new bridge port forwards once the kernel has seen its link come up.
t_wait ip netns exec "$S" ping -c 1 -W 1 10.98.0.2 >/dev/null
SOCK=$T_TMP/vm.sock
timeout -k 5 120 build/hedge run --netns "$S" --net tap:htap0 --ip 10.98.0.10/24 \
	--api-sock "$SOCK" build/examples/net_http.hvt 8080 >"$LOG" 2>&1 </dev/null &
SRC=$!
wait_log "$LOG" listening "$SRC" 10
ip netns exec "$S" curl -sS --max-time 10 http://10.98.0.10:8080/before
timeout -k 5 120 build/hedge run --netns "$D" --net tap:htap0 --incoming tcp:10.98.0.2:7000 \
	--incoming-timeout 30 >"$LOG.target" 2>&1 </dev/null &
DST=$!
t_wait eval 'ip netns exec "$D" ss -Hltn "sport = :7000" | grep -q .'
echo "== hedge vm migrate --api-sock SOCK --to tcp:10.98.0.2:7000 --progress"
build/hedge vm migrate --api-sock "$SOCK" --to tcp:10.98.0.2:7000 --progress
wait "$SRC" || true
SRC=
echo "== the same address answers from the other namespace's monitor now"
ip netns exec "$S" curl -sS --max-time 10 http://10.98.0.10:8080/after
