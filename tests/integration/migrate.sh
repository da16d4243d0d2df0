# tests/integration/migrate.sh - live migration (hedge vm migrate, hedge run
# --incoming) between monitors on 127.0.0.1: a counter moved back and forth
# many times loses and repeats no count and its clock never goes backwards;
# a target that closes early, talks garbage, refuses or corrupts the stream
# leaves the source running and answering as if nothing had happened.
#
# Background monitors are waited for by polling a condition in a bounded
# loop, never by sleeping a guessed time; all traffic stays on loopback.

MG=$T_TMP/migrate
MG_EX=build/examples
MG_PORT=$((20000 + $$ % 20000))
mkdir -p "$MG"

mg_listening() {
	ss -Hltn "sport = :$1" | grep -q .
}

mg_next_port() {
	MG_PORT=$((MG_PORT + 1))
	while mg_listening "$MG_PORT"; do MG_PORT=$((MG_PORT + 1)); done
}

# mg_target HEDGE SOCK OUT ARGS...: starts `HEDGE run --incoming` on a fresh
# port ($MG_PORT) and waits until it listens; MG_TPID is its pid.
mg_target() {
	local hedge=$1 sock=$2 out=$3
	shift 3
	mg_next_port
	rm -f "$sock"
	timeout -k 5 120 "$hedge" run --incoming "tcp:127.0.0.1:$MG_PORT" --incoming-timeout 30 \
		--api-sock "$sock" "$@" >"$out" 2>"$out.err" </dev/null &
	MG_TPID=$!
	t_wait mg_listening "$MG_PORT" || t_fail "the target never listened on $MG_PORT"
}

# mg_fake MODE: a fake target on $MG_PORT in node: "close" accepts and closes,
# "garbage" answers the hello with nonsense; MG_FPID is its pid.
mg_fake() {
	mg_next_port
	node -e '
const [port, mode] = process.argv.slice(1);
const srv = require("net").createServer((c) => {
	c.on("error", () => {});
	c.once("data", () => {
		if (mode === "close") c.destroy();
		else c.end("\x01\x02garbage\xff\n");
	});
	srv.close();
});
srv.listen(+port, "127.0.0.1");
setTimeout(() => process.exit(0), 20000);
' "$MG_PORT" "$1" &
	MG_FPID=$!
	t_wait mg_listening "$MG_PORT" || t_fail "the fake target never listened"
}

# mg_proxy PORT MODE: tcp_proxy from a fresh port ($MG_PORT) to PORT; MG_FPID.
mg_proxy() {
	mg_next_port
	tcp_proxy "$MG_PORT" "$1" "$2"
	MG_FPID=$TCP_PROXY_PID
	t_wait mg_listening "$MG_PORT" || t_fail "the proxy never listened"
}

# mg_expect_alive SOCK OUT: the source still answers and still counts.
mg_expect_alive() {
	local n
	"$HEDGE" vm status --api-sock "$1" >"$MG/status" 2>&1 || t_fail "the source does not answer"
	grep -q '^running' "$MG/status" || t_fail "the source is not running: $(cat "$MG/status")"
	n=$(counter_last "$2")
	t_wait counter_reached "$2" $((n + 2)) || t_fail "the source stopped counting"
}

# The counter moved back and forth N times between two monitors.
migrate_pingpong_case() {
	local HEDGE=$1 tag=$2 n=$3 ticks=$4 i src srcpid outs=() pids=()
	t_begin "$tag: counter migrated $n times over 127.0.0.1: no count lost or repeated"
	rm -f "$MG/p0.sock"
	timeout -k 5 120 "$HEDGE" run --api-sock "$MG/p0.sock" $MG_EX/counter.hvt "$ticks" 5 \
		>"$MG/p0.out" 2>"$MG/p0.out.err" </dev/null &
	srcpid=$!
	src=$MG/p0.sock
	outs+=("$MG/p0.out")
	t_wait test -S "$src" || t_fail "the first monitor never made its socket"
	t_wait counter_reached "$MG/p0.out" 3 || t_fail "the counter did not start"
	local ok=1 status progress
	for ((i = 1; i <= n && ok; i++)); do
		mg_target "$HEDGE" "$MG/p$i.sock" "$MG/p$i.out"
		outs+=("$MG/p$i.out")
		# The first one reports its progress (a line each on stderr, not a terminal).
		progress=--no-progress
		[ "$i" = 1 ] && progress=--progress
		if ! "$HEDGE" vm migrate --api-sock "$src" --to "tcp:127.0.0.1:$MG_PORT" --json \
			"$progress" >"$MG/mig.json" 2>"$MG/mig.err"; then
			t_fail "migration $i failed: $(cat "$MG/mig.err")"
			ok=0
		fi
		grep -q '"ok":true' "$MG/mig.json" || t_fail "migration $i: answer $(cat "$MG/mig.json")"
		[ "$(wc -l <"$MG/mig.json")" = 1 ] || t_fail "migration $i: more than the answer on stdout"
		if [ "$i" = 1 ]; then
			grep -q '^migrating: round 1, [0-9.]* MiB sent' "$MG/mig.err" &&
				grep -q '^migrating: round [0-9]* (VM paused)' "$MG/mig.err" &&
				grep -q 'waiting for the target to load the VM$' "$MG/mig.err" ||
				t_fail "no progress reports: $(cat "$MG/mig.err")"
		elif [ -s "$MG/mig.err" ]; then
			t_fail "migration $i: stderr without --progress: $(cat "$MG/mig.err")"
		fi
		wait "$srcpid"
		status=$?
		[ "$status" = 0 ] || t_fail "source $((i - 1)) exited with $status"
		t_wait test -S "$MG/p$i.sock" || t_fail "target $i never made its socket"
		src=$MG/p$i.sock
		srcpid=$MG_TPID
	done
	cp "$MG/mig.json" "$T_OUT"
	wait "$srcpid"
	status=$?
	[ "$status" = 0 ] || t_fail "the last monitor exited with $status"
	cat "${outs[@]}" >"$MG/all.out"
	local why
	why=$(counter_check "$MG/all.out" 1 "$ticks" 0) || t_fail "$why"
	t_end
}

# Targets that fail in every way leave the source running.
migrate_failure_cases() {
	local HEDGE=$1 tag=$2 sock=$MG/f.sock out=$MG/f.out pid tport
	rm -f "$sock"
	timeout -k 5 120 "$HEDGE" run --api-sock "$sock" $MG_EX/counter.hvt 1500 10 \
		>"$out" 2>"$out.err" </dev/null &
	pid=$!
	t_wait test -S "$sock" || t_fail "no control socket"
	t_wait counter_reached "$out" 2 || t_fail "the counter did not start"

	t_begin "$tag: migrate to nothing listening: refused, the source runs on"
	mg_next_port
	t_run "$HEDGE" vm migrate --api-sock "$sock" --to "tcp:127.0.0.1:$MG_PORT"
	expect_status 1
	expect_one_line_error
	expect_stderr "cannot connect"
	mg_expect_alive "$sock" "$out"
	t_end

	t_begin "$tag: a target that closes at once: refused, the source runs on"
	mg_fake close
	t_run "$HEDGE" vm migrate --api-sock "$sock" --to "tcp:127.0.0.1:$MG_PORT"
	expect_status 1
	expect_one_line_error
	mg_expect_alive "$sock" "$out"
	kill "$MG_FPID" 2>/dev/null
	wait "$MG_FPID" 2>/dev/null
	t_end

	t_begin "$tag: a target that talks garbage: refused, the source runs on"
	mg_fake garbage
	t_run "$HEDGE" vm migrate --api-sock "$sock" --to "tcp:127.0.0.1:$MG_PORT"
	expect_status 1
	expect_one_line_error
	expect_stderr "nonsense"
	mg_expect_alive "$sock" "$out"
	kill "$MG_FPID" 2>/dev/null
	wait "$MG_FPID" 2>/dev/null
	t_end

	t_begin "$tag: a target with another --mem refuses with its reason; the source runs on"
	mg_target "$HEDGE" "$MG/t.sock" "$MG/t.out" --mem 64M
	t_run "$HEDGE" vm migrate --api-sock "$sock" --to "tcp:127.0.0.1:$MG_PORT"
	expect_status 1
	expect_one_line_error
	expect_stderr "the target refuses"
	expect_stderr "--mem asks for 64 MiB"
	wait "$MG_TPID"
	[ "$?" = 3 ] || t_fail "the refusing target did not exit with 3"
	mg_expect_alive "$sock" "$out"
	t_end

	t_begin "$tag: a corrupted stream is refused by the target; the source runs on"
	mg_target "$HEDGE" "$MG/t.sock" "$MG/t.out"
	tport=$MG_PORT
	mg_proxy "$tport" flip
	t_run "$HEDGE" vm migrate --api-sock "$sock" --to "tcp:127.0.0.1:$MG_PORT"
	expect_status 1
	expect_one_line_error
	expect_stderr "checksum mismatch"
	wait "$MG_TPID"
	[ "$?" = 3 ] || t_fail "the target did not exit with 3"
	grep -q "checksum mismatch" "$MG/t.out.err" || t_fail "the target did not say why"
	kill "$MG_FPID" 2>/dev/null
	wait "$MG_FPID" 2>/dev/null
	mg_expect_alive "$sock" "$out"
	t_end

	t_begin "$tag: damaged network frames after READY are refused by the target; the source runs on"
	mg_target "$HEDGE" "$MG/t.sock" "$MG/t.out"
	tport=$MG_PORT
	mg_proxy "$tport" flip-frames
	t_run "$HEDGE" vm migrate --api-sock "$sock" --to "tcp:127.0.0.1:$MG_PORT"
	expect_status 1
	expect_one_line_error
	expect_stderr "the target refuses: bad migration stream: checksum mismatch in the network frames"
	wait "$MG_TPID"
	[ "$?" = 3 ] || t_fail "the target did not exit with 3"
	kill "$MG_FPID" 2>/dev/null
	wait "$MG_FPID" 2>/dev/null
	mg_expect_alive "$sock" "$out"
	t_end

	t_begin "$tag: the connection breaks after GO, before the target has it: the source keeps the VM paused; resumed, it runs on"
	mg_target "$HEDGE" "$MG/t.sock" "$MG/t.out"
	tport=$MG_PORT
	mg_proxy "$tport" cut-go
	t_run "$HEDGE" vm migrate --api-sock "$sock" --to "tcp:127.0.0.1:$MG_PORT"
	expect_status 1
	expect_one_line_error
	expect_stderr "did not confirm that it runs the VM"
	wait "$MG_TPID"
	[ "$?" = 5 ] || t_fail "the target without GO did not exit with 5"
	kill "$MG_FPID" 2>/dev/null
	wait "$MG_FPID" 2>/dev/null
	"$HEDGE" vm status --api-sock "$sock" >"$MG/status" 2>&1
	grep -q '^paused' "$MG/status" || t_fail "the source is not paused: $(cat "$MG/status")"
	"$HEDGE" vm resume --api-sock "$sock" >/dev/null 2>&1 || t_fail "resume failed"
	mg_expect_alive "$sock" "$out"
	t_end

	t_begin "$tag: after all that the VM still migrates, and finishes on the target"
	mg_target "$HEDGE" "$MG/t.sock" "$MG/t.out"
	t_run "$HEDGE" vm migrate --api-sock "$sock" --to "tcp:127.0.0.1:$MG_PORT" --json
	expect_status 0
	expect_stdout '"ok":true'
	wait "$pid"
	[ "$?" = 0 ] || t_fail "the source did not exit 0 after migrating"
	wait "$MG_TPID"
	[ "$?" = 0 ] || t_fail "the target did not finish"
	cat "$out" "$MG/t.out" >"$MG/all.out"
	local why
	why=$(counter_check "$MG/all.out" 1 1500 0) || t_fail "$why"
	t_end
}

# The target runs the VM but its RUNNING never reaches the source: the
# source keeps its copy paused, so the VM neither is lost nor runs twice.
migrate_in_doubt_case() {
	local HEDGE=$1 tag=$2 sock=$MG/d.sock out=$MG/d.out pid n
	t_begin "$tag: the target's RUNNING is lost: the source stays paused, the VM runs once, on the target"
	rm -f "$sock"
	timeout -k 5 120 "$HEDGE" run --api-sock "$sock" $MG_EX/counter.hvt 400 5 \
		>"$out" 2>"$out.err" </dev/null &
	pid=$!
	t_wait test -S "$sock" || t_fail "no control socket"
	t_wait counter_reached "$out" 3 || t_fail "the counter did not start"
	mg_target "$HEDGE" "$MG/dt.sock" "$MG/dt.out"
	mg_proxy "$MG_PORT" cut-running
	t_run "$HEDGE" vm migrate --api-sock "$sock" --to "tcp:127.0.0.1:$MG_PORT"
	expect_status 1
	expect_one_line_error
	expect_stderr "the VM stays paused here"
	n=$(counter_last "$out")
	wait "$MG_TPID"
	[ "$?" = 0 ] || t_fail "the target did not run the VM to its end"
	"$HEDGE" vm status --api-sock "$sock" >"$MG/status" 2>&1
	grep -q '^paused' "$MG/status" || t_fail "the source is not paused: $(cat "$MG/status")"
	[ "$(counter_last "$out")" = "$n" ] || t_fail "the source counted on"
	kill "$MG_FPID" "$pid" 2>/dev/null
	wait "$MG_FPID" 2>/dev/null
	wait "$pid" 2>/dev/null
	cat "$out" "$MG/dt.out" >"$MG/all.out"
	local why
	why=$(counter_check "$MG/all.out" 1 400 0) || t_fail "$why"
	t_end
}

migrate_static_cases() {
	local HEDGE=$1 tag=$2
	t_begin "$tag: migrate and --incoming command-line errors"
	t_run "$HEDGE" vm migrate --api-sock "$MG/x.sock"
	expect_status 64
	expect_stderr "--to"
	t_run "$HEDGE" vm migrate --api-sock "$MG/x.sock" --to udp:1.2.3.4:5
	expect_status 64
	t_run "$HEDGE" run --incoming tcp:localhost:5
	expect_status 64
	expect_one_line_error
	t_run "$HEDGE" run --incoming tcp:127.0.0.1:5 --restore x
	expect_status 64
	t_run "$HEDGE" run --incoming tcp:127.0.0.1:5 $MG_EX/hello.hvt
	expect_status 64
	t_end

	t_begin "$tag: --incoming with a TAP it cannot open fails before anything arrives"
	mg_next_port
	t_run "$HEDGE" run --incoming "tcp:127.0.0.1:$MG_PORT" --incoming-timeout 30 --net tap:no/such
	expect_status 64
	expect_one_line_error
	expect_stderr "bad TAP device name"
	t_end

	t_begin "$tag: --incoming with nothing arriving gives up after --incoming-timeout"
	mg_next_port
	t_run "$HEDGE" run --incoming "tcp:127.0.0.1:$MG_PORT" --incoming-timeout 1
	expect_status 5
	expect_one_line_error
	expect_stderr "no migration arrived"
	t_end
}

if [ -e /dev/kvm ] && command -v ss >/dev/null && command -v node >/dev/null; then
	migrate_static_cases build/hedge release
	migrate_pingpong_case build/hedge release 50 1500
	migrate_pingpong_case build/asan/hedge asan 10 600
	migrate_failure_cases build/hedge release
	migrate_in_doubt_case build/hedge release
	migrate_failure_cases build/asan/hedge asan
	migrate_in_doubt_case build/asan/hedge asan
else
	t_skip "migration tests (need /dev/kvm, ss and node)"
fi
