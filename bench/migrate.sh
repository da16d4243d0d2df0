#!/usr/bin/env bash
# bench/migrate.sh - live migration between two network namespaces joined by
# a veth pair, as a matrix: an idle guest, a busy one (net_busy rewriting one
# word in each page of BUSY_MIB MiB without pause: pages go as small deltas)
# and a dense one (rewriting every word: no delta helps), 64 MiB and 512 MiB
# of guest memory, the link
# unlimited and limited to 100 Mbit/s (tbf on the source's veth end).  For
# each: the monitor's downtime (vCPU parked to the target's READY), the
# longest gap between answers seen by a UDP probe polling the guest every
# millisecond from the source's namespace, total time, bytes sent and copy
# rounds (medians of RUNS), pages sent as deltas, how many probes went
# unanswered and how many frames the source forwarded.  Then the longest stall a keep-alive HTTP
# connection sees when net_http migrates under it; snapshot size and restore
# time (start of hedge to the guest's first instruction) for the same guests, and the
# figures the papers give for MirageManager and Podman+CRIU, which cannot
# run here.  Needs root (namespaces).  Not a test.
#   bench/migrate.sh [RUNS (default 3)] [BUSY_MIB (default 16)]
set -u
cd "$(dirname "$0")/.."
RUNS=${1:-3}
BUSY=${2:-16}
H=${HEDGE_BIN:-build/hedge} # another build to compare: HEDGE_BIN=path
IMG=build/examples/net_busy.hvt
PROBE=build/bench/udp_probe
S=hbS$$
D=hbD$$
NET=10.79.0
GUEST=$NET.10
UDP=9000
PORT=7000
# For netns_bridged_pair; its scratch directory goes in cleanup.
. tests/lib.sh
TMP=$(mktemp -d /tmp/hedge-bench-mig.XXXXXX)
PIDS=()

make -s build/hedge "$IMG" build/examples/net_http.hvt || exit 1
mkdir -p build/bench
gcc -O2 -Wall -Wextra -Werror -o "$PROBE" bench/udp_probe.c || exit 1

cleanup() {
	stop_pids PIDS
	netns_cleanup "$S"
	netns_cleanup "$D"
	rm -rf "$TMP" "$T_TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Bounded polling; a benchmark may not hang.
wait_for() { for ((i = 0; i < 3000; i++)); do "$@" 2>/dev/null && return 0; sleep 0.01; done; return 1; }
listening() { ip netns exec "$1" ss -Hltn "sport = :$2" | grep -q .; }
field() { sed -n "s/.*\"$2\":\([0-9.]*\).*/\1/p" <<<"$1"; }
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)]; else print "-" }'; }
answers() { ip netns exec "$S" "$PROBE" "$GUEST" "$UDP" 20 | grep -q '"answered":[1-9]'; }

# ns SRC and DST: a bridge each with a persistent TAP for the guest and one
# end of the veth pair; the bridges carry the migration stream.
setup() {
	netns_bridged_pair "$S" "$D" "$NET" || return 1
	wait_for ip netns exec "$S" ping -c 1 -W 1 "$NET.2" >/dev/null
}

# start_guest MEM MIB LIFETIME_MS [WORDS]: net_busy in SRC; sets GPID.
start_guest() {
	rm -f "$TMP/src.sock"
	"$H" run --quiet --netns "$S" --net tap:htap0 --ip "$GUEST/24" --mem "$1" \
		--api-sock "$TMP/src.sock" "$IMG" "$UDP" "$2" "$3" "${4:-1}" 2>"$TMP/src.err" &
	GPID=$!
	PIDS+=("$GPID")
	if wait_for test -S "$TMP/src.sock" && wait_for answers; then return 0; fi
	kill "$GPID" 2>/dev/null
	wait "$GPID" 2>/dev/null
	PIDS=()
	return 1
}

# migrate_once MEM MIB WORDS: one migration SRC -> DST; appends a result line.
migrate_once() {
	start_guest "$1" "$2" 0 "$3" || { echo "guest did not start: $(cat "$TMP/src.err")"; return 1; }
	local base
	base=$(ip netns exec "$S" "$PROBE" "$GUEST" "$UDP" 300)
	PORT=$((PORT + 1))
	"$H" run --quiet --netns "$D" --net tap:htap0 --incoming "tcp:$NET.2:$PORT" \
		--incoming-timeout 60 2>"$TMP/dst.err" &
	local tpid=$!
	PIDS+=("$tpid")
	wait_for listening "$D" "$PORT" || { echo "target did not listen"; stop_pids PIDS; return 1; }
	ip netns exec "$S" "$PROBE" "$GUEST" "$UDP" >"$TMP/probe" &
	local ppid=$!
	PIDS+=("$ppid")
	sleep 0.1                  # a little history before the migration
	local res
	res=$("$H" vm migrate --api-sock "$TMP/src.sock" --to "tcp:$NET.2:$PORT" --json --timeout 120)
	if ! grep -q '"ok":true' <<<"$res"; then
		echo "migration failed: $res"
		kill "$GPID" "$tpid" "$ppid"
		wait
		PIDS=()
		return 1
	fi
	wait "$GPID"
	sleep 0.4 # let the probe see the guest answer again from DST (or not)
	kill -TERM "$ppid"
	wait "$ppid"
	kill "$tpid"
	wait "$tpid" 2>/dev/null
	PIDS=()
	echo "$res $(cat "$TMP/probe") base_gap=$(field "$base" max_gap_ms)" >>"$TMP/rows"
}

# tcp_once: net_http in SRC with a keep-alive client in SRC sending a request
# each millisecond, migrated to DST; appends the client's longest gap and
# the frames forwarded.
tcp_once() {
	rm -f "$TMP/src.sock" "$TMP/moved"
	"$H" run --netns "$S" --net tap:htap0 --ip "$GUEST/24" --api-sock "$TMP/src.sock" \
		build/examples/net_http.hvt 8080 >"$TMP/http.out" 2>"$TMP/src.err" &
	GPID=$!
	PIDS+=("$GPID")
	if ! wait_log "$TMP/http.out" "listening on" "$GPID" 10; then
		echo "net_http did not start: $(cat "$TMP/src.err")"
		stop_pids PIDS
		return 1
	fi
	keepalive_client "$S" "$GUEST" 8080 "$TMP/moved" 200 >"$TMP/client" 2>&1 &
	local cpid=$! res
	PIDS+=("$cpid")
	if ! wait_for grep -q ready "$TMP/client"; then
		echo "no answers: $(cat "$TMP/client")"
		stop_pids PIDS
		return 1
	fi
	PORT=$((PORT + 1))
	"$H" run --quiet --netns "$D" --net tap:htap0 --incoming "tcp:$NET.2:$PORT" \
		--incoming-timeout 60 2>"$TMP/dst.err" &
	local tpid=$!
	PIDS+=("$tpid")
	if ! wait_for listening "$D" "$PORT"; then
		echo "target did not listen"
		stop_pids PIDS
		return 1
	fi
	res=$("$H" vm migrate --api-sock "$TMP/src.sock" --to "tcp:$NET.2:$PORT" --json --timeout 120)
	wait "$GPID"
	touch "$TMP/moved"
	wait "$cpid" || { echo "client failed: $(cat "$TMP/client")"; }
	kill "$tpid"
	wait "$tpid" 2>/dev/null
	PIDS=()
	echo "$res gap=$(sed -n 's/.*longest gap \([0-9]*\) ms.*/\1/p' "$TMP/client")" >>"$TMP/tcp"
}

# snapshot_once MEM MIB: snapshot of a running guest, then its restore.
snapshot_once() {
	start_guest "$1" "$2" 1500 || { echo "guest did not start"; return 1; }
	local snap t
	snap=$("$H" vm snapshot --api-sock "$TMP/src.sock" --json "$TMP/g.snap")
	wait "$GPID" # its lifetime ends; a restore then exits at once
	PIDS=()
	"$H" run --quiet --netns "$S" --net tap:htap0 --restore "$TMP/g.snap" --timings \
		2>"$TMP/restore.err"
	t=$(grep '"mode":"restore"' "$TMP/restore.err")
	echo "$snap $t" >>"$TMP/snaps"
	rm -f "$TMP/g.snap"
}

setup || { echo "cannot build the namespaces (root needed)"; exit 1; }
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "runs: $RUNS per cell; busy guest rewrites $BUSY MiB; probe: one UDP datagram per ms from the source's namespace"
echo
printf '%-5s %-5s %-9s | %10s %12s %10s %12s %7s %7s %5s %5s | %9s | %s\n' guest mem link downtime "probe gap" total "bytes sent" rounds deltas lost fwd "MM/hedge" "probe gap w/o migration"
for link in unlimited 100mbit; do
	tc -n "$S" qdisc del dev hvs root 2>/dev/null
	[ "$link" = 100mbit ] && tc -n "$S" qdisc add dev hvs root tbf rate 100mbit burst 32kbit latency 50ms
	for mem in 64M 512M; do
		for kind in idle busy dense; do
			mib=0 words=1
			[ "$kind" = idle ] || mib=$BUSY
			[ "$kind" = dense ] && words=512
			: >"$TMP/rows"
			for ((r = 0; r < RUNS; r++)); do migrate_once "$mem" "$mib" "$words"; done
			col() { sed -n "s/.*\"$1\":\([0-9.]*\).*/\1/p" "$TMP/rows" | median; }
			down=$(col downtime_ms)
			lost=$(awk '{ s = a = 0; if (match($0, /"sent":[0-9]+/)) s = substr($0, RSTART + 7, RLENGTH - 7);
				if (match($0, /"answered":[0-9]+/)) a = substr($0, RSTART + 11, RLENGTH - 11); print s - a }' "$TMP/rows" | median)
			printf '%-5s %-5s %-9s | %7s ms %9s ms %7s ms %12s %7s %7s %5s %5s | %8sx | %s ms\n' "$kind" "$mem" "$link" \
				"$down" "$(col max_gap_ms)" "$(col total_ms)" "$(col bytes)" "$(col rounds)" "$(col delta_pages)" "$lost" "$(col frames)" \
				"$(awk -v d="$down" 'BEGIN { if (d <= 0) print "-"; else if (330 / d >= 10) printf "%.0f", 330 / d; else printf "%.2f", 330 / d }')" \
				"$(sed -n 's/.*base_gap=\([0-9.]*\).*/\1/p' "$TMP/rows" | median)"
			cat "$TMP/rows" >>"$TMP/all-rows"
		done
	done
done
tc -n "$S" qdisc del dev hvs root 2>/dev/null
echo "lost: probes sent minus answered (the last one or two are still in flight when the probe stops); fwd: frames forwarded"

echo
: >"$TMP/tcp"
for ((r = 0; r < RUNS; r++)); do tcp_once; done
echo "keep-alive HTTP across migration (net_http 64M, unlimited link, a request per ms): longest gap between answers" \
	"$(sed -n 's/.*gap=\([0-9]*\).*/\1/p' "$TMP/tcp" | median) ms (median of $RUNS; all: $(sed -n 's/.*gap=\([0-9]*\).*/\1/p' "$TMP/tcp" | tr '\n' ' ')ms)," \
	"frames forwarded: $(sed -n 's/.*"frames":\([0-9]*\).*/\1/p' "$TMP/tcp" | tr '\n' ' ')"

echo
printf '%-5s %-5s | %14s %14s %12s %16s\n' guest mem "snapshot bytes" "file (apparent)" "VM paused" "restore to 1st insn"
for mem in 64M 512M; do
	for kind in idle busy; do
		mib=0
		[ "$kind" = busy ] && mib=$BUSY
		: >"$TMP/snaps"
		for ((r = 0; r < RUNS; r++)); do snapshot_once "$mem" "$mib"; done
		col() { sed -n "s/.*\"$1\":\([0-9.]*\).*/\1/p" "$TMP/snaps" | median; }
		printf '%-5s %-5s | %14s %14s %9s ms %13s us\n' "$kind" "$mem" "$(col bytes)" \
			"$(col file_bytes)" "$(col paused_ms)" "$(col ready_us)"
	done
done

echo
echo "reference figures from the papers (not run here):"
echo "  MirageManager (MirageOS unikernels): downtime 330 ms, total 3540 ms"
echo "  Podman + CRIU (containers):          downtime 1800 ms"
echo "MM/hedge: MirageManager's downtime divided by ours (medians above); CRIU's is 5.5 times MirageManager's."
