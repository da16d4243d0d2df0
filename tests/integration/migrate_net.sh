# tests/integration/migrate_net.sh - live migration between two network
# namespaces the test creates: the counter moved back and forth between them
# loses and repeats nothing; an HTTP server keeps serving while it moves, an
# open keep-alive connection to it survives, and the gratuitous ARP the
# target sends makes the bridges relearn where the guest is.
#
# Topology (all inside the two namespaces, removed on the way out):
#
#   ns SRC: bridge hbr0 10.78.0.1/24 = htap0 (guest) + hvs --veth-- hvd + htap0 (guest) = bridge hbr0 10.78.0.2/24 :ns DST
#
# The TAPs are persistent and sit in the bridges before any VM opens them, so
# a target's TAP forwards from its first frame.  The guest keeps 10.78.0.10
# and its MAC wherever it runs; the migration stream goes between the
# bridges' addresses.  Background processes are waited for by polling a
# condition in a bounded loop, never by sleeping a guessed time.

MN=$T_TMP/migrate-net
MN_EX=build/examples
MN_S=hmS$$
MN_D=hmD$$
MN_NET=10.78.0
MN_GUEST=$MN_NET.10
MN_MAC=02:00:00:78:00:0a
MN_PORT=7000
MN_PIDS=()
MN_HEDGE=build/hedge
mkdir -p "$MN"

mn_cleanup() {
	stop_pids MN_PIDS
	netns_cleanup "$MN_S"
	netns_cleanup "$MN_D"
}

mn_in() {
	local ns=$1
	shift
	timeout -k 5 90 ip netns exec "$ns" "$@"
}

# The two namespaces, each with a bridge holding its veth end and a TAP.
mn_setup() {
	netns_bridged_pair "$MN_S" "$MN_D" "$MN_NET" || return 1
	mn_in "$MN_S" ping -c 1 -W 2 "$MN_NET.2" >/dev/null 2>&1
}

mn_ns_addr() {
	if [ "$1" = "$MN_S" ]; then echo "$MN_NET.1"; else echo "$MN_NET.2"; fi
}

mn_listening() {
	ip netns exec "$1" ss -Hltn "sport = :$2" | grep -q .
}

# mn_target NS SOCK OUT ARGS...: `hedge run --incoming` in NS on its bridge
# address and a fresh port; waits until it listens.  MN_TPID, MN_TO.
mn_target() {
	local ns=$1 sock=$2 out=$3
	shift 3
	MN_PORT=$((MN_PORT + 1))
	MN_TO=tcp:$(mn_ns_addr "$ns"):$MN_PORT
	rm -f "$sock"
	timeout -k 5 120 "$MN_HEDGE" run --netns "$ns" --incoming "$MN_TO" --incoming-timeout 30 \
		--api-sock "$sock" "$@" >"$out" 2>"$out.err" </dev/null &
	MN_TPID=$!
	MN_PIDS+=("$MN_TPID")
	t_wait mn_listening "$ns" "$MN_PORT" || t_fail "the target in $ns never listened"
}

# mn_migrate SOCK SRCPID N: migrates to $MN_TO; the source must then exit 0.
mn_migrate() {
	local status
	if ! "$MN_HEDGE" vm migrate --api-sock "$1" --to "$MN_TO" --json >"$MN/mig.json" \
		2>"$MN/mig.err"; then
		t_fail "migration $3 failed: $(cat "$MN/mig.err")"
		return 1
	fi
	grep -q '"ok":true' "$MN/mig.json" || t_fail "migration $3: answer $(cat "$MN/mig.json")"
	wait "$2"
	status=$?
	[ "$status" = 0 ] || t_fail "the source of migration $3 exited with $status"
	grep -q "the VM moved to $MN_TO" "$4" || t_fail "the source of migration $3 did not say it moved"
}

mn_counter_case() {
	local n=$1 ticks=$2 i ns src srcpid outs=() ok=1
	t_begin "counter migrated $n times between two network namespaces: no count lost or repeated"
	rm -f "$MN/c0.sock"
	timeout -k 5 120 build/hedge run --netns "$MN_S" --api-sock "$MN/c0.sock" \
		$MN_EX/counter.hvt "$ticks" 5 >"$MN/c0.out" 2>"$MN/c0.out.err" </dev/null &
	srcpid=$!
	MN_PIDS+=("$srcpid")
	src=$MN/c0.sock
	outs+=("$MN/c0.out")
	t_wait test -S "$src" || t_fail "the first monitor never made its socket"
	t_wait counter_reached "$MN/c0.out" 3 || t_fail "the counter did not start"
	for ((i = 1; i <= n && ok; i++)); do
		if ((i % 2)); then ns=$MN_D; else ns=$MN_S; fi
		mn_target "$ns" "$MN/c$i.sock" "$MN/c$i.out"
		outs+=("$MN/c$i.out")
		mn_migrate "$src" "$srcpid" "$i" "${outs[-2]}.err" || ok=0
		t_wait test -S "$MN/c$i.sock" || t_fail "target $i never made its socket"
		src=$MN/c$i.sock
		srcpid=$MN_TPID
	done
	cp "$MN/mig.json" "$T_OUT"
	wait "$srcpid"
	[ "$?" = 0 ] || t_fail "the last monitor exited with a failure"
	cat "${outs[@]}" >"$MN/all.out"
	local why
	why=$(counter_check "$MN/all.out" 1 "$ticks" 0) || t_fail "$why"
	MN_PIDS=()
	t_end
}

# mn_client NS FLAG AFTER OUT: keepalive_client to the guest, output in OUT.
mn_client() {
	keepalive_client "$1" "$MN_GUEST" 8080 "$2" "$3" >"$4" 2>&1
}

# mn_udp NS MODE: a client of net_busy's UDP echo on the guest's port 9000.
# "warm": one datagram, answered within a second (the namespace then knows
# the guest's MAC).  "burst": five different datagrams, "sent" once they are
# out, then "echo X" for each that comes back; exits 0 once all five did,
# 1 after 30 s.
mn_udp() {
	timeout -k 5 60 ip netns exec "$1" node -e '
const dgram = require("dgram");
const [host, mode] = process.argv.slice(1);
const n = mode === "warm" ? 1 : 5, got = new Set(), s = dgram.createSocket("udp4");
s.on("message", (m) => {
	const text = m.toString();
	if (!got.has(text)) console.log("echo " + text);
	got.add(text);
	if (got.size === n) process.exit(0);
});
let out = 0;
for (let i = 0; i < n; i++)
	s.send(`datagram ${i} from ${process.pid}`, 9000, host, () => { if (++out === n) console.log("sent"); });
setTimeout(() => { console.log(`got ${got.size} of ${n}`); process.exit(1); }, mode === "warm" ? 1000 : 30000);
' "$MN_GUEST" "$2" </dev/null
}

# mn_start_busy HEDGE SOCK OUT MIB: net_busy (UDP echo on 9000, rewriting
# MIB MiB) in the source namespace with the guest's address; waits until it
# echoes.  MN_BUSY_PID is its pid.
mn_start_busy() {
	rm -f "$2"
	timeout -k 5 120 "$1" run --netns "$MN_S" --net tap:htap0 --ip "$MN_GUEST/24" \
		--mac "$MN_MAC" --api-sock "$2" $MN_EX/net_busy.hvt 9000 "$4" \
		>"$3" 2>"$3.err" </dev/null &
	MN_BUSY_PID=$!
	MN_PIDS+=("$MN_BUSY_PID")
	t_wait mn_udp "$MN_S" warm >/dev/null || t_fail "the guest does not echo: $(cat "$3.err")"
}

# mn_tap_queued NS: frames the kernel has queued to the guest's TAP so far
# (its qdisc's count; the link's own TX count grows only when they are read).
mn_tap_queued() {
	ip netns exec "$1" tc -s qdisc show dev htap0 | awk '/Sent/ { print $4; exit }'
}

mn_tap_queued_since() {
	[ "$(mn_tap_queued "$1")" -ge $(($2 + $3)) ]
}

# The window in which the source's VM is paused is held open by a proxy that
# keeps the target's READY back, so the datagrams certainly arrive at the
# source while nobody there reads them: without forwarding they are lost.
# mn_paused_frames_case TAG HEDGE: with monitors HEDGE.
mn_paused_frames_case() {
	local src=$MN/u0.sock srcpid mpid upid pport queued
	MN_HEDGE=$2
	t_begin "$1: datagrams that reach the source while its VM is paused are answered from the target"
	rm -f "$MN/release" "$MN/release.held"
	mn_start_busy "$MN_HEDGE" "$src" "$MN/u0.out" 0
	srcpid=$MN_BUSY_PID
	mn_target "$MN_D" "$MN/u1.sock" "$MN/u1.out" --net tap:htap0
	MN_PORT=$((MN_PORT + 1))
	pport=$MN_PORT
	tcp_proxy "$pport" "${MN_TO##*:}" "hold-ready:$MN/release" "$MN_NET.2" "$MN_S"
	MN_PIDS+=("$TCP_PROXY_PID")
	t_wait mn_listening "$MN_S" "$pport" || t_fail "the proxy never listened"
	build/hedge vm migrate --api-sock "$src" --to "tcp:127.0.0.1:$pport" --json \
		>"$MN/mig.json" 2>"$MN/mig.err" &
	mpid=$!
	t_wait test -e "$MN/release.held" || t_fail "the target never said READY: $(cat "$MN/mig.err")"
	queued=$(mn_tap_queued "$MN_S")
	mn_udp "$MN_S" burst >"$MN/udp.out" 2>&1 &
	upid=$!
	t_wait grep -q sent "$MN/udp.out" || t_fail "the datagrams were not sent"
	t_wait mn_tap_queued_since "$MN_S" "$queued" 5 || t_fail "the datagrams never reached the TAP"
	touch "$MN/release"
	wait "$mpid" || t_fail "the migration failed: $(cat "$MN/mig.err")"
	cp "$MN/mig.json" "$T_OUT"
	cp "$MN/u0.out.err" "$T_ERR"
	expect_stdout '"ok":true'
	grep -Eq '"frames":([5-9]|[1-9][0-9]+)[,}]' "$T_OUT" || t_fail "fewer than 5 frames forwarded"
	wait "$upid" || t_fail "the client missed echoes: $(tail -n 1 "$MN/udp.out")"
	[ "$(grep -c '^echo datagram' "$MN/udp.out")" = 5 ] || t_fail "expected 5 echoes"
	wait "$srcpid" || t_fail "the source did not end after the migration"
	kill -0 "$MN_TPID" 2>/dev/null || t_fail "the target is gone: $(cat "$MN/u1.out.err")"
	stop_pids MN_PIDS
	MN_HEDGE=build/hedge
	t_end
}

# A guest rewriting one word in each page of 8 MiB without pause: its pages
# go again and again, as deltas after the first time, and the target checks
# every patched page against the CRC the source computed - a migration that
# succeeds has every delta right.  The guest must answer from the target.
mn_delta_case() {
	local src=$MN/b0.sock srcpid
	t_begin "a guest rewriting its memory migrates with page deltas, each checked by the target"
	mn_start_busy build/hedge "$src" "$MN/b0.out" 8
	srcpid=$MN_BUSY_PID
	mn_target "$MN_D" "$MN/b1.sock" "$MN/b1.out" --net tap:htap0
	mn_migrate "$src" "$srcpid" delta "$MN/b0.out.err"
	cp "$MN/mig.json" "$T_OUT"
	grep -q '"delta_pages":[1-9]' "$T_OUT" || t_fail "no page went as a delta"
	t_wait mn_udp "$MN_S" warm >/dev/null || t_fail "the guest does not echo from the target"
	kill -0 "$MN_TPID" 2>/dev/null || t_fail "the target is gone: $(cat "$MN/b1.out.err")"
	stop_pids MN_PIDS
	t_end
}

# mn_status_is SOCK STATE: the monitor behind SOCK answers, in time, with STATE.
mn_status_is() {
	build/hedge vm status --api-sock "$1" --timeout 1 --json 2>/dev/null | grep -q "\"state\":\"$2\""
}

# The link is slowed to 512 kbit/s, so the first copy round (about 100 KB)
# takes over a second, during which the source waits for the target's
# acknowledgements: its control socket must answer status (and refuse
# anything else) meanwhile, not after the migration; and hedge vm migrate
# with a --timeout shorter than that still waits for the answer while
# progress reports come.
mn_status_during_case() {
	local src=$MN/s0.sock srcpid mpid
	t_begin "the control socket answers status during a migration and refuses other requests"
	rm -f "$src"
	timeout -k 5 120 build/hedge run --netns "$MN_S" --api-sock "$src" $MN_EX/counter.hvt 100000 20 \
		>"$MN/s0.out" 2>"$MN/s0.out.err" </dev/null &
	srcpid=$!
	MN_PIDS+=("$srcpid")
	t_wait counter_reached "$MN/s0.out" 2 || t_fail "the counter did not start"
	mn_target "$MN_D" "$MN/s1.sock" "$MN/s1.out"
	tc -n "$MN_S" qdisc add dev hvs root tbf rate 512kbit burst 16kbit latency 2s
	# --timeout 1, shorter than the migration: its progress reports restart it.
	build/hedge vm migrate --api-sock "$src" --to "$MN_TO" --json --timeout 1 \
		>"$MN/mig.json" 2>"$MN/mig.err" &
	mpid=$!
	t_wait mn_status_is "$src" migrating || t_fail "status did not say migrating during the copy"
	t_run build/hedge vm pause --api-sock "$src" --timeout 2
	expect_status 1
	expect_stderr "a migration is under way"
	wait "$mpid" || t_fail "the migration failed: $(cat "$MN/mig.err")"
	tc -n "$MN_S" qdisc del dev hvs root
	grep -q '"ok":true' "$MN/mig.json" || t_fail "answer: $(cat "$MN/mig.json")"
	wait "$srcpid" || t_fail "the source did not end after the migration"
	t_wait test -S "$MN/s1.sock" || t_fail "the target never made its socket"
	t_wait mn_status_is "$MN/s1.sock" running || t_fail "the target does not run the VM"
	stop_pids MN_PIDS
	t_end
}

# mn_fdb_port NS: the bridge port the guest's MAC is learned on, if any.
mn_fdb_port() {
	bridge -n "$1" fdb show br hbr0 | awk -v mac="$MN_MAC" '$1 == mac && $2 == "dev" { print $3; exit }'
}

mn_fdb_is() {
	[ "$(mn_fdb_port "$1")" = "$2" ]
}

mn_curl() {
	mn_in "$1" curl -sS --max-time 10 "http://$MN_GUEST:8080/$2"
}

# mn_http_cases TAG HEDGE: net_http moved there and back by monitors HEDGE.
mn_http_cases() {
	local tag=$1 src=$MN/h0.sock srcpid cpid
	MN_HEDGE=$2
	rm -f "$MN/moved"

	t_begin "$tag: net_http in one namespace answers from both"
	rm -f "$src"
	timeout -k 5 120 "$MN_HEDGE" run --netns "$MN_S" --net tap:htap0 --ip "$MN_GUEST/24" \
		--mac "$MN_MAC" --api-sock "$src" $MN_EX/net_http.hvt 8080 \
		>"$MN/h0.out" 2>"$MN/h0.out.err" </dev/null &
	srcpid=$!
	MN_PIDS+=("$srcpid")
	t_wait grep -q "listening on $MN_GUEST:8080" "$MN/h0.out" || t_fail "the server did not start"
	mn_curl "$MN_S" a >"$T_OUT" 2>"$T_ERR" || t_fail "no answer in $MN_S"
	mn_curl "$MN_D" b >>"$T_OUT" 2>>"$T_ERR" || t_fail "no answer in $MN_D"
	[ "$(grep -c 'Hello from a hedge unikernel!' "$T_OUT")" = 2 ] || t_fail "expected 2 greetings"
	mn_fdb_is "$MN_S" htap0 || t_fail "$MN_S's bridge has the guest at '$(mn_fdb_port "$MN_S")'"
	t_end

	t_begin "$tag: an open keep-alive connection survives migration to the other namespace"
	mn_client "$MN_S" "$MN/moved" 50 "$MN/client.out" &
	cpid=$!
	MN_PIDS+=("$cpid")
	t_wait grep -q ready "$MN/client.out" || t_fail "the client got no answers: $(cat "$MN/client.out")"
	mn_target "$MN_D" "$MN/h1.sock" "$MN/h1.out" --net tap:htap0
	mn_migrate "$src" "$srcpid" 1 "$MN/h0.out.err"
	touch "$MN/moved" # the source has ended: every later answer comes from the target
	wait "$cpid"
	[ "$?" = 0 ] || t_fail "the client failed"
	cp "$MN/client.out" "$T_OUT"
	expect_stdout "50 after the migration"
	expect_no_stdout FAIL
	src=$MN/h1.sock
	srcpid=$MN_TPID
	mn_curl "$MN_S" c >"$T_OUT" 2>"$T_ERR" || t_fail "no new connection after the migration"
	expect_stdout "Hello from a hedge unikernel!"
	mn_fdb_is "$MN_S" hvs || t_fail "$MN_S's bridge has the guest at '$(mn_fdb_port "$MN_S")'"
	t_end

	t_begin "$tag: the gratuitous ARPs after migration move the guest in both bridges"
	# Nobody talks to the guest now, and it says nothing of its own: only the
	# target's announcement can teach the bridges where it went.
	mn_fdb_is "$MN_D" htap0 || t_fail "$MN_D's bridge has the guest at '$(mn_fdb_port "$MN_D")'"
	# The announcement is repeated (4 in 350 ms): seen on the far side's bridge.
	timeout -k 5 30 ip netns exec "$MN_D" python3 tests/tools/garp_count.py hbr0 "$MN_MAC" \
		"$MN_GUEST" 4 10 >"$MN/garp.out" 2>&1 &
	local gpid=$!
	t_wait grep -q ready "$MN/garp.out" || t_fail "the ARP counter did not start: $(cat "$MN/garp.out")"
	mn_target "$MN_S" "$MN/h2.sock" "$MN/h2.out" --net tap:htap0
	mn_migrate "$src" "$srcpid" 2 "$MN/h1.out.err"
	srcpid=$MN_TPID
	wait "$gpid" || t_fail "expected 4 announcements: $(cat "$MN/garp.out")"
	t_wait mn_fdb_is "$MN_S" htap0 || t_fail "$MN_S's bridge kept the guest at '$(mn_fdb_port "$MN_S")'"
	t_wait mn_fdb_is "$MN_D" hvd || t_fail "$MN_D's bridge kept the guest at '$(mn_fdb_port "$MN_D")'"
	mn_curl "$MN_D" d >"$T_OUT" 2>"$T_ERR" || t_fail "no answer in $MN_D after migrating back"
	expect_stdout "Hello from a hedge unikernel!"
	kill -0 "$srcpid" 2>/dev/null || t_fail "the server is gone: $(cat "$MN/h2.out.err")"
	t_end
	stop_pids MN_PIDS
	MN_HEDGE=build/hedge
}

if [ ! -e /dev/kvm ]; then
	t_skip "migration between network namespaces"
elif ! command -v node >/dev/null || ! command -v bridge >/dev/null || ! command -v ss >/dev/null; then
	t_skip "migration between network namespaces (need node, bridge and ss)"
else
	trap 'mn_cleanup' EXIT
	trap 'mn_cleanup; exit 130' INT TERM
	t_begin "two namespaces joined by a veth pair, each with a bridge and a TAP"
	mn_setup || t_fail "could not build the namespaces"
	t_end
	mn_counter_case 50 2000
	mn_status_during_case
	mn_delta_case
	mn_paused_frames_case release build/hedge
	mn_paused_frames_case asan build/asan/hedge
	mn_http_cases release build/hedge
	mn_http_cases asan build/asan/hedge
	mn_cleanup
	trap - EXIT INT TERM
fi
