# tests/lib.sh - helpers shared by the shell test suites.
#
# A suite calls `check NAME CONDITION...` style helpers; each records one
# passed or failed case.  Output of the command under test is kept in
# $T_OUT / $T_ERR for the assertions that follow `t_run`.

T_PASSED=${T_PASSED:-0}
T_FAILED=${T_FAILED:-0}
T_SKIPPED=${T_SKIPPED:-0}
T_TMP=$(mktemp -d /tmp/hedge-test.XXXXXX)
T_OUT=$T_TMP/out
T_ERR=$T_TMP/err
T_STATUS=0
t_case_failed=0
t_case_name=""

# t_begin NAME: starts a case.
t_begin() {
	t_case_name=$1
	t_case_failed=0
}

t_fail() {
	echo "    $*"
	t_case_failed=1
}

# t_end: records the case started by t_begin.
t_end() {
	if [ "$t_case_failed" = 0 ]; then
		echo "ok   $t_case_name"
		T_PASSED=$((T_PASSED + 1))
	else
		echo "FAIL $t_case_name"
		echo "    --- stdout:"; head -c 2000 "$T_OUT" | sed 's/^/    | /'
		echo "    --- stderr:"; head -c 2000 "$T_ERR" | sed 's/^/    | /'
		T_FAILED=$((T_FAILED + 1))
	fi
}

t_skip() {
	echo "SKIP: no /dev/kvm: $1"
	T_SKIPPED=$((T_SKIPPED + 1))
}

# t_run CMD...: runs a command with a time limit, capturing output and status.
t_run() {
	timeout -k 5 60 "$@" >"$T_OUT" 2>"$T_ERR" </dev/null
	T_STATUS=$?
}

# t_run_stdin FILE CMD...: t_run with stdin from FILE instead of /dev/null.
t_run_stdin() {
	local in=$1
	shift
	timeout -k 5 60 "$@" >"$T_OUT" 2>"$T_ERR" <"$in"
	T_STATUS=$?
}

# tcp_listening PORT: something listens on TCP PORT in this namespace.
tcp_listening() {
	ss -Hltn "sport = :$1" | grep -q .
}

expect_status() {
	[ "$T_STATUS" = "$1" ] || t_fail "exit status $T_STATUS, expected $1"
}

expect_stdout() {
	grep -qF -- "$1" "$T_OUT" || t_fail "stdout lacks: $1"
}

expect_no_stdout() {
	! grep -qF -- "$1" "$T_OUT" || t_fail "stdout has: $1"
}

expect_stderr() {
	grep -qF -- "$1" "$T_ERR" || t_fail "stderr lacks: $1"
}

# The monitor's own complaints are exactly one line on stderr.
expect_one_line_error() {
	local lines
	lines=$(grep -c '' "$T_ERR")
	[ "$lines" = 1 ] || t_fail "stderr has $lines lines, expected one"
	grep -q '^hedge' "$T_ERR" || t_fail "stderr does not start with 'hedge'"
}

expect_empty_stdout() {
	[ ! -s "$T_OUT" ] || t_fail "stdout is not empty"
}

t_cleanup() {
	rm -rf "$T_TMP"
}

# --- VMs on a TAP device in a network namespace ---
# A suite makes a namespace of its own (unique per run: put $$ in the name),
# starts `hedge run --netns NS --net tap:TAP ...` in the background, and gives
# the host end of the TAP an address: no traffic leaves the namespace.

# netns_create NS: a new, empty network namespace; fails if NS exists.
netns_create() {
	ip netns add "$1"
}

# netns_tap NS TAP ADDR/PREFIX [PID [SECONDS]]: waits, at most SECONDS
# (default 5), for the VM started as PID to create TAP in NS (no longer once
# PID has exited), then gives the host end ADDR and brings it up.  Fails if
# the device never appeared.
netns_tap() {
	local ns=$1 tap=$2 addr=$3 pid=${4:-} seconds=${5:-5} i
	for ((i = 0; i < seconds * 20; i++)); do
		ip -n "$ns" link show "$tap" >/dev/null 2>&1 && break
		[ -z "$pid" ] || kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	ip -n "$ns" addr add "$addr" dev "$tap" 2>/dev/null && ip -n "$ns" link set "$tap" up
}

# wait_log LOG TEXT PID SECONDS: polls until LOG holds TEXT (a fixed
# string); fails once PID has exited without printing it, or after SECONDS.
wait_log() {
	local log=$1 text=$2 pid=$3 i
	for ((i = 0; i < $4 * 20; i++)); do
		grep -qF -- "$text" "$log" && return 0
		kill -0 "$pid" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}

# netns_cleanup NS [PID]: stops the VM PID, if given, and removes NS with
# everything in it.  Always succeeds, so that traps can call it.
netns_cleanup() {
	local ns=$1 pid=${2:-}
	if [ -n "$pid" ]; then
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	fi
	ip netns del "$ns" 2>/dev/null
	return 0
}

# netns_bridged_pair SRC DST NET: two new namespaces joined by a veth pair
# (hvs in SRC, hvd in DST), each with a bridge hbr0 that holds its veth end
# and a TAP htap0 for a guest; the bridges get NET.1/24 (SRC) and NET.2/24
# (DST).  One Ethernet segment across both, as between the two hosts of a
# migration; the bridges' addresses carry the migration stream.
netns_bridged_pair() {
	local src=$1 dst=$2 net=$3 ns dev addr
	ip netns add "$src" && ip netns add "$dst" || return 1
	ip -n "$src" link add hvs type veth peer name hvd netns "$dst" || return 1
	for ns in "$src" "$dst"; do
		if [ "$ns" = "$src" ]; then dev=hvs addr=$net.1; else dev=hvd addr=$net.2; fi
		ip -n "$ns" link add hbr0 type bridge &&
			ip -n "$ns" tuntap add dev htap0 mode tap &&
			ip -n "$ns" link set htap0 master hbr0 &&
			ip -n "$ns" link set "$dev" master hbr0 &&
			ip -n "$ns" addr add "$addr/24" dev hbr0 &&
			ip -n "$ns" link set lo up &&
			ip -n "$ns" link set "$dev" up &&
			ip -n "$ns" link set htap0 up &&
			ip -n "$ns" link set hbr0 up || return 1
	done
}

# stop_pids NAME: ends each process whose pid is in the array named NAME
# (started by the caller, so it can be waited for) and empties the array.
stop_pids() {
	local -n pids=$1
	local p
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	pids=()
}

# t_wait CMD...: polls CMD every 10 ms for up to 20 s; fails if it never
# succeeds.  Background work is waited for this way, never by a guessed sleep.
t_wait() {
	local i
	for ((i = 0; i < 2000; i++)); do
		"$@" 2>/dev/null && return 0
		sleep 0.01
	done
	return 1
}

# The counter example prints "count=N mono_ns=T" lines and "final count=N".

# counter_last FILE...: the last count the files show (empty if none).
counter_last() {
	sed -n 's/^count=\([0-9]*\) .*/\1/p' "$@" 2>/dev/null | tail -n 1
}

# counter_reached FILE N: FILE has counted to N or beyond.
counter_reached() {
	local n
	n=$(counter_last "$1")
	[ -n "$n" ] && [ "$n" -ge "$2" ]
}

# counter_check FILE FIRST LAST MIN_NS: FILE counts FIRST..LAST without a gap
# or repeat, ends with "final count=LAST", and its mono_ns never goes below
# MIN_NS or backwards.  Prints what is wrong.
counter_check() {
	awk -v first="$2" -v last="$3" -v prev="$4" '
	/^count=[0-9]+ mono_ns=[0-9]+$/ {
		split($1, a, "="); split($2, b, "=")
		if (a[2] + 0 != first + seen) { print "count " a[2] " where " first + seen " was due"; exit 1 }
		if (b[2] + 0 < prev) { print "mono_ns went back: " b[2] " < " prev; exit 1 }
		prev = b[2] + 0; seen++; next
	}
	/^final count=/ { final = $0; next }
	{ print "unexpected line: " $0; exit 1 }
	END {
		if (first + seen - 1 != last) { print "counted to " first + seen - 1 ", not " last; exit 1 }
		if (final != "final count=" last) { print "no final count=" last; exit 1 }
	}' "$1"
}

# keepalive_client NS HOST PORT FLAG AFTER: one keep-alive connection from
# namespace NS to the HTTP server of examples/c/net_http.c at HOST:PORT, a
# request each millisecond; every answer must be the server's greeting on
# the same socket (same local port, never closed).  Once file FLAG exists it
# sends AFTER more and ends; it prints "ready" after 20 answers and at the
# end "ok: N answers ... longest gap G ms".  Exits 1 on anything wrong.
keepalive_client() {
	timeout -k 5 90 ip netns exec "$1" node -e '
const net = require("net"), fs = require("fs");
const [host, port, flag, after] = process.argv.slice(1);
const want = "Hello from a hedge unikernel!\n";
const fail = (m) => { console.log("FAIL " + m); process.exit(1); };
const sock = net.connect(+port, host);
let buf = "", n = 0, nAfter = -1, localPort = 0, last = 0, maxGap = 0, done = false;
const send = () => sock.write(`GET /r${n} HTTP/1.1\r\nHost: guest\r\n\r\n`);
sock.setNoDelay(true);
sock.on("connect", () => { localPort = sock.localPort; last = Date.now(); send(); });
sock.on("data", (d) => {
	buf += d.toString("latin1");
	for (;;) {
		const end = buf.indexOf("\r\n\r\n");
		if (end < 0) return;
		const head = buf.slice(0, end), m = /\r\nContent-Length: (\d+)/i.exec(head);
		if (!m) fail("answer " + n + " has no Content-Length: " + JSON.stringify(head));
		if (buf.length < end + 4 + +m[1]) return;
		const body = buf.slice(end + 4, end + 4 + +m[1]);
		buf = buf.slice(end + 4 + +m[1]);
		if (!head.startsWith("HTTP/1.1 200 OK\r\n") || body !== want || /\r\nConnection: close/i.test(head))
			fail("answer " + n + " is wrong: " + JSON.stringify(head + body));
		if (sock.localPort !== localPort) fail("the local port changed");
		const now = Date.now();
		maxGap = Math.max(maxGap, now - last);
		last = now;
		n++;
		if (n === 20) console.log("ready");
		if (nAfter < 0 && fs.existsSync(flag)) nAfter = 0;
		else if (nAfter >= 0) nAfter++;
		if (nAfter >= +after) {
			console.log(`ok: ${n} answers on one connection from port ${localPort}, ` +
				`${nAfter} after the migration, longest gap ${maxGap} ms`);
			done = true;
			sock.end();
			return;
		}
		setTimeout(send, 1);
	}
});
sock.on("close", () => { if (!done) fail("the connection closed after " + n + " answers"); });
sock.on("error", (e) => fail(e.message));
setTimeout(() => fail("timed out after " + n + " answers"), 60000).unref();
' "$2" "$3" "$4" "$5" </dev/null
}


# tcp_proxy PORT TO MODE [HOST [NS]]: forwards one connection to
# 127.0.0.1:PORT (in network namespace NS if given) on to HOST:TO (HOST
# defaults to 127.0.0.1; for 20 s at most), damaging or
# delaying a migration stream on the way; TCP_PROXY_PID is its pid (the
# caller waits until PORT listens).  MODE "flip" inverts one byte of guest
# memory (bytes 100000 and on are page data); "flip-frames" one byte of the
# checksum of the network frames the source sends after READY; "cut-go" breaks both
# connections instead of passing on the source's GO, "cut-running" instead of
# passing on the target's RUNNING; "hold-ready:FILE" keeps the target's READY
# (and whatever follows) from the source, with the source's VM paused, until
# FILE exists, and creates FILE.held when it starts holding; anything else
# passes everything.
tcp_proxy() {
	${5:+ip netns exec "$5"} node -e '
const net = require("net"), fs = require("fs");
const [port, to] = process.argv.slice(1, 3).map(Number), mode = process.argv[3];
const host = process.argv[4] || "127.0.0.1";
const hold = mode.startsWith("hold-ready:") ? mode.slice(11) : "";
const srv = net.createServer((c) => {
	const t = net.connect(to, host);
	let seen = 0, done = false, ready = false, said = "", held = null, ended = false;
	const cut = () => { c.destroy(); t.destroy(); };
	c.on("data", (d) => {
		if (mode === "cut-go" && ready) return cut();
		if (mode === "flip-frames" && ready && !done) {
			d = Buffer.from(d); d[4] ^= 0x55; done = true;
		}
		if (mode === "flip" && !done && seen + d.length > 100000) {
			d = Buffer.from(d); d[100000 - seen] ^= 0x55; done = true;
		}
		seen += d.length; t.write(d);
	});
	t.on("data", (d) => {
		if (mode === "cut-running" && ready) return cut();
		said = (said + d.toString("latin1")).slice(-64);
		if (hold && !ready && said.includes("READY\n")) {
			held = [];
			fs.writeFileSync(hold + ".held", "");
			const poll = setInterval(() => {
				if (!fs.existsSync(hold)) return;
				clearInterval(poll);
				for (const h of held) c.write(h);
				held = null;
				if (ended) c.end();
			}, 2);
		}
		ready = ready || said.includes("READY\n");
		if (held) held.push(d);
		else c.write(d);
	});
	c.on("end", () => t.end());
	t.on("end", () => { if (held) ended = true; else c.end(); });
	c.on("error", () => t.destroy()); t.on("error", () => c.destroy());
	srv.close();
});
srv.listen(port, "127.0.0.1");
setTimeout(() => process.exit(0), 20000);
' "$1" "$2" "$3" "${4:-}" &
	TCP_PROXY_PID=$!
}
