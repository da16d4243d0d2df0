# tests/integration/net_wasm.sh - WASI sockets: the WasmEdge socket extension,
# preview1's sock_* calls and poll_oneoff readiness, first through a
# self-test over the guest's own loopback, then the static-file HTTP server
# example (examples/wasm/http_server.c) on a TAP device inside a network
# namespace made for the test.
#
# All traffic stays inside that namespace (10.79.0.0/24: the host end of the
# TAP is .1, the guest .2); every step is bounded by a timeout, and the VM and
# the namespace are removed on the way out, whatever happens.

NW_DIR=$T_TMP/net-wasm
NW_NS=hedge-w$$
NW_TAP=hwtap0
NW_GUEST=10.79.0.2
NW_URL=http://$NW_GUEST:8080
NW_PID=""
NW_LOG=$NW_DIR/vm.log
NW_SITE=$NW_DIR/site
NW_LOAD=$NW_DIR/http_load

nw_cleanup() {
	netns_cleanup "$NW_NS" "$NW_PID"
	NW_PID=""
}

# nw_in CMD...: runs CMD inside the test namespace with a time limit.
nw_in() {
	timeout -k 5 90 ip netns exec "$NW_NS" "$@"
}

# nw_start IMAGE ARGS...: boots IMAGE with a TAP in the namespace, the site
# at /site, and configures the host end; fails if the device never shows up.
nw_start() {
	netns_create "$NW_NS" || return 1
	timeout -k 5 300 build/hedge run --mem 256M --netns "$NW_NS" --net "tap:$NW_TAP" \
		--ip "$NW_GUEST/24" --dir "$NW_SITE::/site" --env HEDGE_NET_STATS=1 "$@" \
		>"$NW_LOG" 2>&1 </dev/null &
	NW_PID=$!
	netns_tap "$NW_NS" "$NW_TAP" 10.79.0.1/24 "$NW_PID"
}

# nw_wait_ready TEXT: waits (bounded) until the guest has printed TEXT.
nw_wait_ready() {
	wait_log "$NW_LOG" "$1" "$NW_PID" 10
}

nw_expect_alive() {
	kill -0 "$NW_PID" 2>/dev/null || t_fail "the VM is gone: $(tail -n 3 "$NW_LOG" | tr '\n' ' ')"
}

# nw_code ARGS...: curl's HTTP status for a request made inside the namespace.
nw_code() {
	nw_in curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$@"
}

# nw_raw BYTES: sends BYTES (printf %b escapes) on a fresh connection and
# prints everything the server answers until it closes the connection.
nw_raw() {
	nw_in timeout 10 bash -c 'exec 3<>"/dev/tcp/$1/8080" && printf "%b" "$2" >&3 && cat <&3' \
		_ "$NW_GUEST" "$1"
}

# A site with a few kinds of files, nested directories, a name that needs
# escaping, an empty file and one large enough to be streamed (over 1 MiB).
nw_make_site() {
	mkdir -p "$NW_SITE/css" "$NW_SITE/deep/er/still"
	printf '<!doctype html><title>hedge</title><h1>hello</h1>\n' >"$NW_SITE/index.html"
	printf 'body { color: #123; }\n' >"$NW_SITE/css/site.css"
	printf '{"n": [1, 2, 3]}\n' >"$NW_SITE/data.json"
	printf 'console.log(1);\n' >"$NW_SITE/app.js"
	head -c 20000 /dev/urandom >"$NW_SITE/image.png"
	head -c 3000000 /dev/urandom >"$NW_SITE/big.bin"
	printf 'deep\n' >"$NW_SITE/deep/er/still/file.txt"
	printf 'spaced out\n' >"$NW_SITE/with space.txt"
	: >"$NW_SITE/empty.txt"
	printf 'inner index\n' >"$NW_SITE/deep/index.html"
}

nw_self_test() {
	local hedge=$1 tag=$2
	t_begin "$tag: wasi sockets self-test over the guest's loopback"
	t_run "$hedge" run "$NW_DIR/wasi_sock_check.wasm"
	expect_status 0
	expect_stdout "wasi_sock_check: "
	expect_stdout " passed, 0 failed"
	t_end
}

nw_http_cases() {
	local image=$NW_DIR/http_server.hvt f rel url
	t_begin "http_server: comes up on a TAP device in a namespace"
	if ! nw_start "$image" -- --quit /__quit 8080 /site; then
		t_fail "the TAP device $NW_TAP never appeared: $(tail -n 3 "$NW_LOG" | tr '\n' ' ')"
	fi
	nw_wait_ready "http_server: listening on port 8080" || t_fail "no 'listening' line: $(cat "$NW_LOG")"
	t_end

	t_begin "http_server: the guest answers ping"
	nw_in ping -c 3 -W 1 "$NW_GUEST" >"$T_OUT" 2>"$T_ERR"
	T_STATUS=$?
	expect_status 0
	expect_stdout "3 received"
	t_end

	t_begin "http_server: GET of every file equals the host's copy"
	: >"$T_OUT"
	while IFS= read -r f; do
		rel=${f#"$NW_SITE"/}
		url="$NW_URL/${rel// /%20}"
		if ! nw_in curl -sS --fail --max-time 20 -o "$NW_DIR/got" "$url" 2>>"$T_ERR"; then
			t_fail "GET /$rel failed"
			continue
		fi
		[ "$(sha256sum <"$NW_DIR/got")" = "$(sha256sum <"$f")" ] || t_fail "GET /$rel differs"
		echo "GET /$rel ok" >>"$T_OUT"
	done < <(find "$NW_SITE" -type f | sort)
	[ "$(grep -c ' ok$' "$T_OUT")" -ge 9 ] || t_fail "fewer files than expected were checked"
	nw_in curl -sS --max-time 10 "$NW_URL/" >"$NW_DIR/got" && cmp -s "$NW_DIR/got" "$NW_SITE/index.html" ||
		t_fail "GET / is not index.html"
	nw_in curl -sS --max-time 10 "$NW_URL/deep/" >"$NW_DIR/got" &&
		cmp -s "$NW_DIR/got" "$NW_SITE/deep/index.html" || t_fail "GET /deep/ is not its index.html"
	t_end

	t_begin "http_server: HEAD, MIME types, keep-alive"
	nw_in curl -sS -I --max-time 10 "$NW_URL/css/site.css" >"$T_OUT" 2>"$T_ERR"
	expect_stdout "HTTP/1.1 200 OK"
	expect_stdout "Content-Type: text/css"
	expect_stdout "Content-Length: $(stat -c %s "$NW_SITE/css/site.css")"
	nw_in curl -sS -I --max-time 10 "$NW_URL/big.bin" >"$T_OUT" 2>"$T_ERR"
	expect_stdout "Content-Length: 3000000"
	expect_stdout "Content-Type: application/octet-stream"
	nw_in curl -sS -v --max-time 10 "$NW_URL/data.json" "$NW_URL/app.js" "$NW_URL/" \
		>"$T_OUT" 2>"$T_ERR"
	expect_stdout '"n": [1, 2, 3]'
	expect_stdout "console.log(1);"
	grep -qiE 're-?using (existing )?connection' "$T_ERR" || t_fail "curl opened a new connection"
	grep -qi 'Content-Type: application/json' "$T_ERR" || t_fail "no JSON type"
	t_end

	t_begin "http_server: 404, 405, 414, and paths that climb out of the root get 400"
	[ "$(nw_code "$NW_URL/missing.html")" = 404 ] || t_fail "missing file: not 404"
	[ "$(nw_code "$NW_URL/css")" = 404 ] || t_fail "directory without a slash: not 404"
	[ "$(nw_code -X POST -d x=1 "$NW_URL/")" = 405 ] || t_fail "POST: not 405"
	[ "$(nw_code -X DELETE "$NW_URL/index.html")" = 405 ] || t_fail "DELETE: not 405"
	[ "$(nw_code --path-as-is "$NW_URL/../../etc/passwd")" = 400 ] || t_fail "/../: not 400"
	[ "$(nw_code --path-as-is "$NW_URL/deep/%2e%2e/%2E%2E/etc/passwd")" = 400 ] ||
		t_fail "escaped ..: not 400"
	[ "$(nw_code "$NW_URL/$(head -c 3000 /dev/zero | tr '\0' a)")" = 414 ] || t_fail "long URI: not 414"
	nw_expect_alive
	t_end

	t_begin "http_server: malformed requests get 400 and the connection closed"
	local req
	for req in 'GARBAGE\r\n\r\n' 'GET / HTTP/1.1\r\n\r\n' 'GET / HTTP/1.1\r\nHost x\r\n\r\n' \
		'GET /\r\n\r\n' 'GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1x\r\n\r\n' \
		'G@T / HTTP/1.1\r\nHost: x\r\n\r\n' 'GET / HTTP/1.1\r\n Host: x\r\n\r\n'; do
		nw_raw "$req" >"$T_OUT" 2>"$T_ERR"
		grep -q "^HTTP/1.1 400 Bad Request" "$T_OUT" || t_fail "no 400 for: $req"
		grep -q "^Connection: close" "$T_OUT" || t_fail "not closing after: $req"
	done
	nw_raw 'GET / HTTP/2.0\r\nHost: x\r\n\r\n' >"$T_OUT" 2>"$T_ERR"
	expect_stdout "HTTP/1.1 505"
	nw_raw 'GET / HTTP/1.0\r\n\r\n' >"$T_OUT" 2>"$T_ERR"
	expect_stdout "HTTP/1.1 200 OK"
	expect_stdout "<h1>hello</h1>"
	# Two pipelined requests and a body to skip on one connection.
	nw_raw 'POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhelloGET /app.js HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' \
		>"$T_OUT" 2>"$T_ERR"
	expect_stdout "HTTP/1.1 405"
	expect_stdout "console.log(1);"
	nw_expect_alive
	t_end

	t_begin "http_server: 500 concurrent keep-alive connections are all answered"
	nw_in "$NW_LOAD" "$NW_GUEST" 8080 500 10 /index.html "$NW_SITE/index.html" 60 >"$T_OUT" 2>"$T_ERR"
	T_STATUS=$?
	expect_status 0
	expect_stdout "http_load ok: 500 connection(s) x 10 request(s), 5000 answers checked"
	nw_in "$NW_LOAD" "$NW_GUEST" 8080 4 3 /big.bin "$NW_SITE/big.bin" 60 >"$T_OUT" 2>"$T_ERR"
	T_STATUS=$?
	expect_status 0
	expect_stdout "http_load ok: 4 connection(s) x 3 request(s)"
	nw_expect_alive
	t_end

	t_begin "http_server: exits when asked, with its counters"
	nw_in curl -sS --max-time 10 "$NW_URL/__quit" >"$T_OUT" 2>"$T_ERR"
	expect_stdout "bye"
	local i
	for ((i = 0; i < 100; i++)); do
		kill -0 "$NW_PID" 2>/dev/null || break
		sleep 0.05
	done
	wait "$NW_PID"
	T_STATUS=$?
	NW_PID=""
	cp "$NW_LOG" "$T_OUT"
	expect_status 0
	expect_stdout "http_server: "
	expect_stdout "hedge-net: exits="
	local reqs exits
	reqs=$(sed -n 's/^http_server: \([0-9]*\) requests.*/\1/p' "$NW_LOG")
	exits=$(sed -n 's/^hedge-net: exits=\([0-9]*\).*/\1/p' "$NW_LOG")
	[ -n "$reqs" ] && [ -n "$exits" ] && echo "    ($reqs requests, $exits network VM exits)"
	t_end
	nw_cleanup

	if ! build/hedge run --help | grep -q -- --listen; then
		echo "SKIP: hedge run has no --listen yet (preopened listening sockets)"
		T_SKIPPED=$((T_SKIPPED + 1))
		return 0
	fi
	t_begin "http_server: takes a socket preopened with --listen"
	nw_start --listen 0.0.0.0:8081 "$image" -- 0 /site ||
		t_fail "the TAP device never appeared: $(tail -n 3 "$NW_LOG" | tr '\n' ' ')"
	nw_wait_ready "http_server: listening" || t_fail "no 'listening' line: $(cat "$NW_LOG")"
	nw_in curl -sS --max-time 10 "http://$NW_GUEST:8081/index.html" >"$T_OUT" 2>"$T_ERR"
	expect_stdout "<h1>hello</h1>"
	t_end
	nw_cleanup
}

if [ ! -e /dev/kvm ]; then
	t_skip "WASI socket tests"
else
	mkdir -p "$NW_DIR"
	t_begin "wasi sockets: the test programs build"
	clang --target=wasm32-wasi -O2 -Wall -Wextra -Werror -o "$NW_DIR/wasi_sock_check.wasm" \
		tests/tools/wasi_sock_check.c >"$T_OUT" 2>"$T_ERR" || t_fail "wasi_sock_check.c does not compile"
	${CC:-cc} -std=gnu11 -O2 -Wall -Wextra -Werror -o "$NW_LOAD" tests/tools/http_load.c \
		>>"$T_OUT" 2>>"$T_ERR" || t_fail "http_load.c does not compile"
	t_run build/hedge build build/wasm/http_server.wasm -o "$NW_DIR/http_server.hvt"
	expect_status 0
	nw_built=$t_case_failed
	t_end

	if [ "$nw_built" = 0 ]; then
		nw_self_test build/hedge release
		nw_self_test build/asan/hedge asan
		nw_make_site
		trap 'nw_cleanup' EXIT
		trap 'nw_cleanup; exit 130' INT TERM
		nw_http_cases
		nw_cleanup
		trap - EXIT INT TERM
	fi
fi
