# tests/integration/net_guest.sh - guest networking: lwIP, the ring driver, the
# event loop and the socket API, first over the guest's own loopback, then
# through a real TAP device inside a network namespace made for the test.
#
# All traffic stays inside that namespace (10.77.0.0/24: the host end of the
# TAP is .1, the guest .2); every step is bounded by a timeout, and the VM
# and the namespace are removed on the way out, whatever happens.

NG_EX=build/examples
NG_CLIENT=build/tools/net_client
NG_NS=hedge-t$$
NG_TAP=htap0
NG_GUEST=10.77.0.2
NG_MAC=02:00:00:77:00:02
NG_PID=""
NG_LOG=$T_TMP/net-vm.log

ng_cleanup() {
	netns_cleanup "$NG_NS" "$NG_PID"
	NG_PID=""
}

# ng_in CMD...: runs CMD inside the test namespace with a time limit.
ng_in() {
	timeout -k 5 90 ip netns exec "$NG_NS" "$@"
}

# ng_start HEDGE IMAGE ARGS...: boots IMAGE with a TAP in the namespace and
# configures the host end; fails if the device never shows up.
ng_start() {
	local hedge=$1
	shift
	netns_create "$NG_NS" || return 1
	timeout -k 5 300 "$hedge" run --netns "$NG_NS" --net "tap:$NG_TAP" --ip "$NG_GUEST/24" \
		--mac "$NG_MAC" "$@" >"$NG_LOG" 2>&1 </dev/null &
	NG_PID=$!
	netns_tap "$NG_NS" "$NG_TAP" 10.77.0.1/24 "$NG_PID"
}

# ng_wait_ready TEXT: waits (bounded) until the guest has printed TEXT.
ng_wait_ready() {
	wait_log "$NG_LOG" "$1" "$NG_PID" 5
}

ng_expect_alive() {
	kill -0 "$NG_PID" 2>/dev/null || t_fail "the VM is gone: $(tail -n 3 "$NG_LOG" | tr '\n' ' ')"
}

# ng_client_run ARGS...: net_client inside the namespace, output kept for the report.
ng_client_run() {
	ng_in "$NG_CLIENT" "$@" >"$T_OUT" 2>"$T_ERR" </dev/null
	T_STATUS=$?
}

ng_echo_cases() {
	local hedge=$1 tag=$2

	t_begin "$tag: net_echo comes up on a TAP device in a namespace"
	if ! ng_start "$hedge" $NG_EX/net_echo.hvt 7; then
		t_fail "the TAP device $NG_TAP never appeared: $(tail -n 3 "$NG_LOG" | tr '\n' ' ')"
	fi
	ng_wait_ready "listening on $NG_GUEST:7" || t_fail "no 'listening' line: $(cat "$NG_LOG")"
	t_end

	t_begin "$tag: the guest answers ping"
	ng_in ping -c 3 -W 1 "$NG_GUEST" >"$T_OUT" 2>"$T_ERR"
	T_STATUS=$?
	expect_status 0
	expect_stdout "3 received"
	t_end

	t_begin "$tag: TCP echo of 10 MiB comes back intact"
	ng_client_run echo "$NG_GUEST" 7 10485760 1 60
	expect_status 0
	expect_stdout "echo ok: 1 connection(s) x 10485760 bytes"
	t_end

	[ "$tag" = release ] || return 0

	t_begin "$tag: 500 concurrent connections are echoed"
	ng_client_run echo "$NG_GUEST" 7 4000 500 60
	expect_status 0
	expect_stdout "echo ok: 500 connection(s)"
	t_end

	t_begin "$tag: malformed frames neither crash nor wedge the guest"
	ng_client_run garbage "$NG_TAP" "$NG_MAC" "$NG_GUEST" 7 20000 7
	expect_status 0
	expect_stdout "garbage: 20000 of 20000 frames sent"
	ng_expect_alive
	ng_in ping -c 2 -W 1 "$NG_GUEST" >/dev/null 2>&1 || t_fail "no ping reply after the garbage"
	ng_client_run echo "$NG_GUEST" 7 1048576 4 60
	expect_status 0
	expect_stdout "echo ok: 4 connection(s) x 1048576 bytes"
	ng_expect_alive
	t_end

	# Both once failed an lwIP assertion and ended the VM (fuzz/fuzz_lwip_rx.c).
	t_begin "$tag: TCP segments that tripped lwIP assertions do not end the VM"
	local edge=$T_TMP/tcp_edge c
	${CC:-cc} -std=gnu11 -O2 -Wall -Wextra -Werror -o "$edge" tests/tools/tcp_edge.c \
		>"$T_OUT" 2>"$T_ERR" || t_fail "tcp_edge.c does not compile"
	for c in half-space small-window; do
		ng_in "$edge" "$NG_TAP" "$NG_MAC" "$NG_GUEST" 10.77.0.5 7 "$c" >"$T_OUT" 2>"$T_ERR"
		T_STATUS=$?
		expect_status 0
		expect_stdout "tcp_edge: $c sent"
		# Answered after the segment, so the guest has handled it.
		ng_in ping -c 1 -W 2 "$NG_GUEST" >/dev/null 2>&1 || t_fail "no ping reply after $c"
		ng_expect_alive
	done
	ng_client_run echo "$NG_GUEST" 7 65536 2 60
	expect_status 0
	expect_stdout "echo ok: 2 connection(s) x 65536 bytes"
	ng_expect_alive
	t_end
}

ng_http_cases() {
	local url="http://$NG_GUEST:8080"

	t_begin "net_http: serves GET over a TAP device"
	ng_start build/hedge $NG_EX/net_http.hvt 8080 ||
		t_fail "the TAP device never appeared: $(tail -n 3 "$NG_LOG" | tr '\n' ' ')"
	ng_wait_ready "listening on $NG_GUEST:8080" || t_fail "no 'listening' line"
	ng_in curl -sS --max-time 10 "$url/" >"$T_OUT" 2>"$T_ERR"
	T_STATUS=$?
	expect_status 0
	expect_stdout "Hello from a hedge unikernel!"
	t_end

	t_begin "net_http: keep-alive carries several requests on one connection"
	ng_in curl -sS -v --max-time 10 "$url/a" "$url/b" "$url/c" >"$T_OUT" 2>"$T_ERR"
	T_STATUS=$?
	expect_status 0
	[ "$(grep -c 'Hello from a hedge unikernel!' "$T_OUT")" = 3 ] || t_fail "expected 3 bodies"
	grep -qiE 're-?using (existing )?connection' "$T_ERR" || t_fail "curl opened a new connection"
	t_end

	t_begin "net_http: HEAD, other methods, HTTP/1.0 and Connection: close"
	ng_in curl -sS -I --max-time 10 "$url/" >"$T_OUT" 2>"$T_ERR"
	T_STATUS=$?
	expect_status 0
	expect_stdout "HTTP/1.1 200 OK"
	expect_stdout "Content-Length: 30"
	ng_in curl -s -o /dev/null -w '%{http_code}\n' -X DELETE --max-time 10 "$url/" >"$T_OUT"
	expect_stdout "405"
	ng_in curl -sS --http1.0 --max-time 10 "$url/" >"$T_OUT" 2>"$T_ERR"
	expect_stdout "Hello from a hedge unikernel!"
	ng_in curl -sS -v -H 'Connection: close' --max-time 10 "$url/" >"$T_OUT" 2>"$T_ERR"
	expect_stdout "Hello from a hedge unikernel!"
	expect_stderr "Connection: close"
	ng_expect_alive
	t_end
	ng_cleanup
}

if [ ! -e /dev/kvm ]; then
	t_skip "network guest tests"
else
	for ng_hedge in build/hedge build/asan/hedge; do
		ng_tag=release
		[ "$ng_hedge" = build/hedge ] || ng_tag=asan
		t_begin "$ng_tag: socket self-test over loopback, no device needed"
		t_run "$ng_hedge" run $NG_EX/net_loopback.hvt
		expect_status 0
		expect_stdout "net_loopback: 200 connections x 20000 bytes echoed"
		expect_stdout "net_loopback: ok"
		t_end
	done

	t_begin "a network server without --net says so and exits"
	t_run build/hedge run $NG_EX/net_echo.hvt 7
	expect_status 1
	expect_stdout "net_echo: no network interface"
	t_end

	if ! build/hedge run --help | grep -q -- --net; then
		echo "SKIP: no network device in hedge run yet"
		T_SKIPPED=$((T_SKIPPED + 1))
	else
		trap 'ng_cleanup' EXIT
		trap 'ng_cleanup; exit 130' INT TERM
		ng_echo_cases build/hedge release
		ng_cleanup
		ng_echo_cases build/asan/hedge asan
		ng_cleanup
		ng_http_cases
		trap - EXIT INT TERM
	fi
fi
