#!/usr/bin/env bash
# bench/http.sh - requests per second of the static-file HTTP server
# (examples/wasm/http_server.c) as a hedge wasm unikernel, against the same
# source built natively, measured with wrk at 1, 64 and 400 connections.
#
# Both run inside network namespaces this script makes and removes; no
# traffic leaves them.  The client namespace holds wrk.  hedge's TAP device
# is created in it (hedge run --netns), so requests cross TAP into the guest;
# the native server runs in a second namespace joined to the client's by a
# veth pair, so its requests cross one virtual link too, through the same
# kernel stack on the client side.  wrk is pinned to CPU 0 and either server
# to CPU 1; the same file is served, with the same connection counts and
# durations, each server started afresh for each count.
#
# Prints, per connection count, req/s and p99 latency of both, their ratio,
# and hedge's VM exits per request (the guest's network exits, counted by
# hedge's WASI layer and printed at exit with HEDGE_NET_STATS=1).
#
#   bash bench/http.sh            (as root, with /dev/kvm and wrk installed)
#   HTTP_BENCH_SECONDS=5 HTTP_BENCH_CONNS="1 64" bash bench/http.sh
set -u
cd "$(dirname "$0")/.."
# For the netns_* helpers; its scratch directory goes in cleanup.
. tests/lib.sh

SECONDS_PER_RUN=${HTTP_BENCH_SECONDS:-10}
CONN_COUNTS=${HTTP_BENCH_CONNS:-"1 64 400"}
FILE_BYTES=${HTTP_BENCH_FILE_BYTES:-612} # the size of nginx's default index.html
NS_C=hedge-bc$$
NS_S=hedge-bs$$
TAP=hbtap0
HEDGE_IP=10.80.0.2
NATIVE_IP=10.81.0.2
PORT=8080
TMP=$(mktemp -d /tmp/hedge-http-bench.XXXXXX)
SERVER_PID=""

die() {
	echo "bench/http.sh: $*" >&2
	exit 1
}

stop_server() {
	if [ -n "$SERVER_PID" ]; then
		kill "$SERVER_PID" 2>/dev/null
		wait "$SERVER_PID" 2>/dev/null
		SERVER_PID=""
	fi
}

cleanup() {
	stop_server
	netns_cleanup "$NS_C"
	netns_cleanup "$NS_S"
	rm -rf "$TMP"
	t_cleanup
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[ "$(id -u)" = 0 ] || die "needs root (network namespaces)"
[ -e /dev/kvm ] || die "needs /dev/kvm"
command -v wrk >/dev/null || die "needs wrk (Debian package wrk)"
[ -x build/hedge ] && [ -f build/wasm/http_server.wasm ] || die "run make first"

# The same source, twice.
build/hedge build -q build/wasm/http_server.wasm -o "$TMP/http_server.hvt" ||
	die "hedge build of http_server.wasm failed"
${CC:-cc} -O2 -DNATIVE -o "$TMP/http_server_native" examples/wasm/http_server.c ||
	die "native build failed"
mkdir -p "$TMP/site"
head -c "$FILE_BYTES" /dev/zero | tr '\0' x >"$TMP/site/index.html"

# Namespaces: wrk in NS_C; a veth pair to NS_S for the native server.
netns_create "$NS_C" && netns_create "$NS_S" || die "cannot create network namespaces"
ip -n "$NS_C" link set lo up
ip -n "$NS_S" link set lo up
ip -n "$NS_C" link add vc type veth peer name vs netns "$NS_S" || die "cannot create a veth pair"
ip -n "$NS_C" addr add 10.81.0.1/24 dev vc
ip -n "$NS_S" addr add "$NATIVE_IP/24" dev vs
ip -n "$NS_C" link set vc up
ip -n "$NS_S" link set vs up

# wait_line FILE TEXT: bounded wait for a server's "listening" line.
wait_line() {
	wait_log "$1" "$2" "$SERVER_PID" 10
}

start_hedge() {
	taskset -c 1 build/hedge run --mem 256M --netns "$NS_C" --net "tap:$TAP" --ip "$HEDGE_IP/24" \
		--dir "$TMP/site::/site" --env HEDGE_NET_STATS=1 "$TMP/http_server.hvt" -- \
		--quit /__quit "$PORT" /site >"$TMP/server.log" 2>&1 </dev/null &
	SERVER_PID=$!
	netns_tap "$NS_C" "$TAP" 10.80.0.1/24 "$SERVER_PID" ||
		die "the TAP device never appeared: $(cat "$TMP/server.log")"
	wait_line "$TMP/server.log" "listening on port" || die "hedge server: $(cat "$TMP/server.log")"
}

start_native() {
	ip netns exec "$NS_S" taskset -c 1 "$TMP/http_server_native" --quit /__quit "$PORT" \
		"$TMP/site" >"$TMP/server.log" 2>&1 </dev/null &
	SERVER_PID=$!
	wait_line "$TMP/server.log" "listening on port" || die "native server: $(cat "$TMP/server.log")"
}

# quit IP: asks the server to exit (it prints its counters), bounded.
quit() {
	timeout 10 ip netns exec "$NS_C" curl -s --max-time 5 "http://$1:$PORT/__quit" >/dev/null
	local i
	for ((i = 0; i < 100; i++)); do
		kill -0 "$SERVER_PID" 2>/dev/null || break
		sleep 0.05
	done
	stop_server
}

# run_wrk IP CONNS: prints "REQ_PER_S P99_MS ERRORS".
run_wrk() {
	local out=$TMP/wrk.txt
	timeout $((SECONDS_PER_RUN + 30)) ip netns exec "$NS_C" taskset -c 0 wrk -t1 -c "$2" \
		-d "${SECONDS_PER_RUN}s" --timeout 5s --latency "http://$1:$PORT/index.html" >"$out" 2>&1
	local rps p99 errors
	rps=$(awk '/^Requests\/sec:/ {print $2}' "$out")
	p99=$(awk '$1 == "99%" {v = $2; if (v ~ /us$/) {sub(/us$/, "", v); v /= 1000}
		else if (v ~ /ms$/) sub(/ms$/, "", v); else if (v ~ /s$/) {sub(/s$/, "", v); v *= 1000}
		print v}' "$out")
	errors=$(awk '/Socket errors|Non-2xx/ {printf "%s ", $0}' "$out")
	echo "${rps:-0} ${p99:-0} ${errors:-none}"
}

printf '%s\n' "http_server, ${FILE_BYTES}-byte file, wrk -t1, ${SECONDS_PER_RUN} s per run"
printf '%-6s %12s %9s %12s %9s %8s %10s\n' conns hedge_rps p99_ms native_rps p99_ms ratio exits/req
for c in $CONN_COUNTS; do
	start_hedge
	read -r h_rps h_p99 h_err < <(run_wrk "$HEDGE_IP" "$c")
	quit "$HEDGE_IP"
	reqs=$(sed -n 's/^http_server: \([0-9]*\) requests.*/\1/p' "$TMP/server.log")
	exits=$(sed -n 's/^hedge-net: exits=\([0-9]*\).*/\1/p' "$TMP/server.log")
	ip -n "$NS_C" link del "$TAP" 2>/dev/null # hedge removes it at exit; make sure

	start_native
	read -r n_rps n_p99 n_err < <(run_wrk "$NATIVE_IP" "$c")
	quit "$NATIVE_IP"

	ratio=$(awk -v a="$h_rps" -v b="$n_rps" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}')
	epr=$(awk -v e="${exits:-0}" -v r="${reqs:-0}" 'BEGIN {printf "%.3f", (r > 0 ? e / r : 0)}')
	printf '%-6s %12.0f %9.2f %12.0f %9.2f %8s %10s\n' "$c" "$h_rps" "$h_p99" "$n_rps" "$n_p99" \
		"$ratio" "$epr"
	[ "$h_err" = none ] || echo "  hedge: $h_err"
	[ "$n_err" = none ] || echo "  native: $n_err"
done
