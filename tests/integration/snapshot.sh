# tests/integration/snapshot.sh - the control socket (hedge run --api-sock,
# hedge vm), snapshot files and hedge run --restore: a counter and a wasm
# computation snapshotted mid-run must go on exactly where they stopped,
# with clocks that never go backwards; bad requests change nothing; and a
# damaged snapshot is refused with one line and status 3, never resumed.
#
# Background VMs are waited for by polling a condition in a bounded loop,
# never by sleeping a guessed time.

SN=$T_TMP/snapshot
SN_EX=build/examples
mkdir -p "$SN"

# sn_start SOCK OUT HEDGE ARGS...: runs `HEDGE run --api-sock SOCK ARGS` in the
# background with stdout in OUT (stderr in OUT.err); SN_PID is its pid.
sn_start() {
	local sock=$1 out=$2 hedge=$3
	shift 3
	rm -f "$sock"
	timeout -k 5 60 "$hedge" run --api-sock "$sock" "$@" >"$out" 2>"$out.err" </dev/null &
	SN_PID=$!
	t_wait test -S "$sock" || t_fail "the control socket $sock never appeared"
}

# sn_finish: waits for the background VM; SN_STATUS is its exit status.
sn_finish() {
	wait "$SN_PID"
	SN_STATUS=$?
}

# sn_raw SOCK LINE...: sends the lines on one connection, prints the answers.
sn_raw() {
	node -e '
const [sock, ...lines] = process.argv.slice(1);
const c = require("net").connect(sock);
let buf = "";
const done = () => buf.split("\n").length - 1 >= lines.length;
c.on("connect", () => c.write(lines.join("\n") + "\n"));
c.on("data", (d) => { buf += d; if (done()) c.end(); });
c.on("close", () => { process.stdout.write(buf); process.exit(0); });
c.on("error", (e) => { console.error(e.message); process.exit(2); });
setTimeout(() => { process.stdout.write(buf); process.exit(3); }, 20000);
' "$@"
}

# sn_threads: threads of the hedge run under $SN_PID (a timeout), KVM's own workers aside.
sn_threads() {
	local pid
	pid=$(tr -d ' ' <"/proc/$SN_PID/task/$SN_PID/children")
	cat /proc/"$pid"/task/*/comm | grep -c '^hedge$'
}

# sn_expect_refused HEDGE FILE ARGS...: restoring FILE fails with status 3 and
# one line, and the guest never runs.
sn_expect_refused() {
	local hedge=$1 file=$2
	shift 2
	t_run "$hedge" run --restore "$file" "$@"
	expect_status 3
	expect_one_line_error
	expect_empty_stdout
}

# sn_forge FILE feature|vendor: rewrites the snapshot's CPUID (leaf 7 edx bit 3,
# AVX512_4FMAPS, which only Xeon Phi had; or the vendor) in the cpuid section
# and the header, with every checksum recomputed, as a hostile writer would.
sn_forge() {
	node -e '
const fs = require("fs");
const [file, what] = process.argv.slice(1);
const T = new Uint32Array(256);
for (let n = 0; n < 256; n++) {
	let c = n;
	for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
	T[n] = c >>> 0;
}
const crc = (b) => {
	let c = 0xffffffff;
	for (const x of b) c = T[(c ^ x) & 0xff] ^ (c >>> 8);
	return (c ^ 0xffffffff) >>> 0;
};
const fd = fs.openSync(file, "r+");
const head = Buffer.alloc(128);
fs.readSync(fd, head, 0, 128, 0);
const meta = Number(head.readBigUInt64LE(24));
const buf = Buffer.alloc(meta);
fs.readSync(fd, buf, 0, meta, 0);
const sec = 128, plen = Number(buf.readBigUInt64LE(sec + 8)), n = buf.readUInt32LE(sec + 24);
for (let i = 0; i < n; i++) {
	const e = sec + 32 + 40 * i, fn = buf.readUInt32LE(e), idx = buf.readUInt32LE(e + 4);
	if (what === "feature" && fn === 7 && idx === 0) {
		buf.writeUInt32LE((buf.readUInt32LE(e + 24) | 8) >>> 0, e + 24);
		buf.writeUInt32LE(buf.readUInt32LE(e + 24), 88);
	}
	if (what === "vendor" && fn === 0) {
		buf.write("HedgeTestCPU", 56, "latin1");
		buf.write("Hedg", e + 16, "latin1");
		buf.write("eTes", e + 24, "latin1");
		buf.write("tCPU", e + 20, "latin1");
	}
}
buf.writeUInt32LE(0, sec + 16);
buf.writeUInt32LE(crc(buf.subarray(sec, sec + 24 + Math.ceil(plen / 8) * 8)), sec + 16);
buf.writeUInt32LE(0, 124);
buf.writeUInt32LE(crc(buf.subarray(0, 128)), 124);
fs.writeSync(fd, buf, 0, meta, 0);
' "$@"
}

sn_last_mono() {
	sed -n 's/^count=[0-9]* mono_ns=\([0-9]*\)$/\1/p' "$1" | tail -n 1
}

# Refusals that need no KVM: command lines, sockets nobody serves, files that
# are not snapshots.
snapshot_static_cases() {
	local HEDGE=$1 tag=$2

	t_begin "$tag: hedge vm --help and per-command help"
	t_run "$HEDGE" vm --help
	expect_status 0
	expect_stdout "Usage: hedge vm COMMAND"
	expect_stdout "snapshot"
	t_run "$HEDGE" vm snapshot --help
	expect_status 0
	expect_stdout "--stop"
	t_run "$HEDGE" run --help
	expect_stdout "--restore FILE"
	expect_stdout "3  bad snapshot"
	t_end

	t_begin "$tag: hedge vm command-line errors"
	t_run "$HEDGE" vm
	expect_status 64
	expect_one_line_error
	t_run "$HEDGE" vm frobnicate --api-sock "$SN/x.sock"
	expect_status 64
	expect_one_line_error
	t_run "$HEDGE" vm status
	expect_status 64
	expect_stderr "--api-sock"
	t_run "$HEDGE" vm snapshot --api-sock "$SN/x.sock"
	expect_status 64
	expect_stderr "FILE"
	t_run "$HEDGE" vm pause --api-sock "$SN/x.sock" --stop
	expect_status 64
	t_end

	t_begin "$tag: hedge vm with no VM behind the socket"
	t_run "$HEDGE" vm status --api-sock "$SN/nobody.sock"
	expect_status 2
	expect_one_line_error
	expect_stderr "cannot connect"
	t_end

	t_begin "$tag: --restore command-line errors"
	t_run "$HEDGE" run --restore "$SN/x" $SN_EX/hello.hvt
	expect_status 64
	expect_one_line_error
	t_run "$HEDGE" run --restore "$SN/x" --env A=B
	expect_status 64
	t_run "$HEDGE" run --restore "$SN/x" --mac 52:54:00:00:00:01
	expect_status 64
	t_end

	t_begin "$tag: --restore of a missing, empty or foreign file is status 3"
	t_run "$HEDGE" run --restore "$SN/no-such-snapshot"
	expect_status 3
	expect_one_line_error
	expect_stderr "cannot open"
	: >"$SN/empty"
	t_run "$HEDGE" run --restore "$SN/empty"
	expect_status 3
	expect_one_line_error
	t_run "$HEDGE" run --restore $SN_EX/hello.hvt
	expect_status 3
	expect_one_line_error
	expect_stderr "bad magic"
	t_run "$HEDGE" run --restore "$SN"
	expect_status 3
	expect_stderr "not a regular file"
	t_end
}

# flip FILE OFFSET: inverts the byte at OFFSET.
sn_flip() {
	local b
	b=$(od -An -tu1 -j "$2" -N 1 "$1" | tr -d ' ')
	printf "$(printf '\\x%02x' $((b ^ 0x55)))" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

# sn_u64 FILE OFFSET: the little-endian 64-bit number at OFFSET.
sn_u64() {
	od -An -tu8 -j "$2" -N 8 "$1" | tr -d ' '
}

# The counter, paused, snapshotted, resumed: both it and its restored copy
# must count on without a gap, and the copy's clock must not go backwards.
snapshot_counter_case() {
	local HEDGE=$1 tag=$2 sock=$SN/c-$2.sock snap=$SN/counter-$2.snap out=$SN/c-$2.out

	t_begin "$tag: counter: pause, status, snapshot, resume; the original finishes"
	sn_start "$sock" "$out" "$HEDGE" $SN_EX/counter.hvt 30 40 7
	t_wait counter_reached "$out" 4 || t_fail "the counter did not start counting"
	[ "$(stat -c %a "$sock")" = 600 ] || t_fail "socket mode is $(stat -c %a "$sock"), not 600"
	t_run "$HEDGE" vm status --json --api-sock "$sock"
	expect_status 0
	expect_stdout '"state":"running"'
	expect_stdout '"mem_bytes":33554432'
	grep -q '"exits":[1-9]' "$T_OUT" || t_fail "status reports no VM exits"
	grep -q '"uptime_ms":[1-9]' "$T_OUT" || t_fail "status reports no uptime"
	t_run "$HEDGE" vm pause --api-sock "$sock"
	expect_status 0
	expect_stdout "paused"
	local at mono_at
	at=$(counter_last "$out")
	mono_at=$(sn_last_mono "$out")
	t_run "$HEDGE" vm status --api-sock "$sock"
	expect_stdout "paused"
	t_run "$HEDGE" vm snapshot --api-sock "$sock" "$snap"
	expect_status 0
	expect_stdout "wrote $snap"
	expect_stdout "the VM is paused" # it was paused before, so it stays paused
	[ "$(counter_last "$out")" = "$at" ] || t_fail "the counter ran while paused"
	t_run "$HEDGE" vm resume --api-sock "$sock"
	expect_status 0
	expect_stdout "running"
	sn_finish
	[ "$SN_STATUS" = 7 ] || t_fail "the original exited with $SN_STATUS, not 7"
	local why
	why=$(counter_check "$out" 1 30 0) || t_fail "original: $why"
	[ ! -e "$sock" ] || t_fail "the socket was not removed at exit"
	[ "$(stat -c %a "$snap")" = 600 ] || t_fail "snapshot mode is not 600"
	t_end

	t_begin "$tag: counter: the restored copy goes on from count $at with its clock ahead"
	t_run "$HEDGE" run --restore "$snap"
	expect_status 7
	why=$(counter_check "$T_OUT" $((at + 1)) 30 "$mono_at") || t_fail "restored: $why"
	[ ! -s "$T_ERR" ] || t_fail "stderr is not empty"
	t_run "$HEDGE" run --timings --quiet --restore "$snap"
	expect_status 7
	expect_stderr '"mode":"restore"'
	expect_stderr '"ready_us":'
	t_end
}

# Everything else uses one snapshot of the counter and the release monitor.
snapshot_kvm_cases() {
	local HEDGE=$1 tag=$2 sock=$SN/k.sock out=$SN/k.out snap=$SN/counter-$2.snap
	local bad=$SN/bad.snap

	t_begin "$tag: snapshot of a running VM resumes it; a snapshot can be taken again"
	sn_start "$sock" "$out" "$HEDGE" $SN_EX/counter.hvt 25 40
	t_wait counter_reached "$out" 2 || t_fail "the counter did not start"
	t_run "$HEDGE" vm snapshot --json --api-sock "$sock" "$SN/running.snap"
	expect_status 0
	expect_stdout '"state":"running"'
	grep -q '"bytes":[1-9]' "$T_OUT" || t_fail "no bytes reported"
	grep -q '"ms":' "$T_OUT" || t_fail "no time reported"
	t_run "$HEDGE" vm snapshot --api-sock "$sock" "$SN/running.snap"
	expect_status 0
	t_run "$HEDGE" vm status --api-sock "$sock"
	expect_stdout "running"
	sn_finish
	[ "$SN_STATUS" = 0 ] || t_fail "the VM exited with $SN_STATUS"
	local why
	why=$(counter_check "$out" 1 25 0) || t_fail "$why"
	t_run "$HEDGE" run --restore "$SN/running.snap"
	expect_status 0
	expect_stdout "final count=25"
	t_end

	t_begin "$tag: snapshot --stop leaves the VM paused until resumed"
	sn_start "$sock" "$out" "$HEDGE" $SN_EX/counter.hvt 20 40
	t_wait counter_reached "$out" 2 || t_fail "the counter did not start"
	t_run "$HEDGE" vm snapshot --stop --api-sock "$sock" "$SN/stopped.snap"
	expect_status 0
	expect_stdout "the VM is paused"
	t_run "$HEDGE" vm status --api-sock "$sock"
	expect_stdout "paused"
	local at
	at=$(counter_last "$out")
	t_run "$HEDGE" run --restore "$SN/stopped.snap"
	expect_status 0
	why=$(counter_check "$T_OUT" $((at + 1)) 20 0) || t_fail "restored: $why"
	[ "$(counter_last "$out")" = "$at" ] || t_fail "the stopped VM went on counting"
	t_run "$HEDGE" vm resume --api-sock "$sock"
	sn_finish
	[ "$SN_STATUS" = 0 ] || t_fail "the VM exited with $SN_STATUS after resume"
	t_end

	t_begin "$tag: bad requests get an error and change nothing"
	sn_start "$sock" "$out" "$HEDGE" $SN_EX/counter.hvt 250 40
	t_wait counter_reached "$out" 1 || t_fail "the counter did not start"
	sn_raw "$sock" 'not json' '{"op":"fly"}' '{"op":"status","x":1}' '{"op":1}' \
		'{"op":"snapshot"}' '{"op":"snapshot","path":"relative/file"}' \
		'{"op":"snapshot","path":"/x","stop":"yes"}' '{"op":"pause"}{}' \
		'{"op":"migrate","to":"tcp:127.0.0.1:1","progress":"yes"}' '{"op":"status"}' \
		>"$SN/raw.out"
	[ "$(grep -c '^{"error":' "$SN/raw.out")" = 9 ] ||
		t_fail "expected 9 errors: $(head -c 600 "$SN/raw.out")"
	grep -qF 'progress\" must be true or false' "$SN/raw.out" || t_fail "progress not checked"
	grep -q '^{"state":"running",' "$SN/raw.out" || t_fail "status after bad requests: not running"
	head -c 5000 /dev/zero | tr '\0' 'x' >"$SN/long"
	sn_raw "$sock" "$(cat "$SN/long")" >"$SN/raw.out"
	grep -q 'longer than 4096' "$SN/raw.out" || t_fail "an overlong request was not refused"
	t_run "$HEDGE" vm snapshot --api-sock "$sock" "$SN/no-such-dir/x.snap"
	expect_status 1
	expect_one_line_error
	expect_stderr "cannot create"
	t_run "$HEDGE" vm resume --api-sock "$sock" # resuming a running VM is fine
	expect_status 0
	t_run "$HEDGE" vm status --api-sock "$sock"
	expect_stdout "running"
	t_end

	t_begin "$tag: a second VM cannot take a live socket; a stale one is replaced"
	t_run "$HEDGE" run --api-sock "$sock" $SN_EX/hello.hvt
	expect_status 64
	expect_one_line_error
	expect_stderr "in use"
	kill -TERM "$SN_PID"
	sn_finish
	[ "$SN_STATUS" = 143 ] || t_fail "SIGTERM: status $SN_STATUS, not 143"
	[ ! -e "$sock" ] || t_fail "SIGTERM left the socket behind"
	node -e 'const s = require("net").createServer(); s.listen(process.argv[1], () => process.exit(0));' "$sock"
	[ -S "$sock" ] || t_fail "could not leave a stale socket"
	t_run "$HEDGE" run --api-sock "$sock" $SN_EX/hello.hvt
	expect_status 0
	expect_stdout "Hello from a hedge unikernel!"
	[ ! -e "$sock" ] || t_fail "the socket was not removed"
	t_end

	t_begin "$tag: without --api-sock there is one monitor thread; with it, two"
	timeout -k 5 60 "$HEDGE" run $SN_EX/counter.hvt 20 40 >"$out" 2>&1 </dev/null &
	SN_PID=$!
	t_wait counter_reached "$out" 1 || t_fail "the counter did not start"
	[ "$(sn_threads)" = 1 ] || t_fail "$(sn_threads) monitor threads without --api-sock"
	sn_finish
	sn_start "$sock" "$out" "$HEDGE" $SN_EX/counter.hvt 20 40
	t_wait counter_reached "$out" 1 || t_fail "the counter did not start"
	[ "$(sn_threads)" = 2 ] || t_fail "$(sn_threads) monitor threads with --api-sock"
	sn_finish
	t_end

	# Damaged snapshots: status 3, one line, and the guest never runs.
	local mem_offset meta_size first_gpa
	mem_offset=$(sn_u64 "$snap" 32)
	meta_size=$(sn_u64 "$snap" 24)

	t_begin "$tag: a flipped byte in the header or any section is refused (status 3)"
	local off
	for off in 0 9 13 30 60 100 124 $((meta_size - 1)); do
		cp --sparse=always "$snap" "$bad"
		sn_flip "$bad" "$off"
		sn_expect_refused "$HEDGE" "$bad"
	done
	# One byte in the middle of each section's payload.
	off=128
	while [ "$off" -lt "$meta_size" ]; do
		local plen
		plen=$(sn_u64 "$snap" $((off + 8)))
		cp --sparse=always "$snap" "$bad"
		sn_flip "$bad" $((off + 24 + plen / 2))
		sn_expect_refused "$HEDGE" "$bad"
		expect_stderr "checksum mismatch"
		off=$((off + 24 + (plen + 7) / 8 * 8))
	done
	t_end

	t_begin "$tag: damaged guest memory and data in a hole are refused"
	cp --sparse=always "$snap" "$bad"
	# The first page of the image (page 0 is never used, so it is a hole)...
	printf 'x' | dd of="$bad" bs=1 seek="$mem_offset" conv=notrunc status=none
	sn_expect_refused "$HEDGE" "$bad"
	expect_stderr "does not list"
	# ...and a byte of the first page that holds data (the boot info at 0x1000).
	cp --sparse=always "$snap" "$bad"
	sn_flip "$bad" $((mem_offset + 4096 + 8))
	sn_expect_refused "$HEDGE" "$bad"
	expect_stderr "checksum mismatch"
	t_end

	t_begin "$tag: truncated snapshots are refused"
	local size cut
	size=$(stat -c %s "$snap")
	for cut in 0 4 100 200 $((meta_size / 2)) $meta_size $((mem_offset + 4096)) \
		$((size / 2)) $((size - 1)); do
		head -c "$cut" "$snap" >"$bad"
		sn_expect_refused "$HEDGE" "$bad"
	done
	expect_stderr "truncated"
	cp --sparse=always "$snap" "$bad"
	printf 'x' >>"$bad"
	sn_expect_refused "$HEDGE" "$bad"
	expect_stderr "trailing"
	t_end

	t_begin "$tag: a snapshot needing CPU features or a vendor this host lacks is status 4"
	cp --sparse=always "$snap" "$bad"
	sn_forge "$bad" feature
	t_run "$HEDGE" run --restore "$bad"
	expect_status 4
	expect_one_line_error
	expect_stderr "lacks features"
	expect_empty_stdout
	cp --sparse=always "$snap" "$bad"
	sn_forge "$bad" vendor
	t_run "$HEDGE" run --restore "$bad"
	expect_status 4
	expect_one_line_error
	expect_stderr "taken on a HedgeTestCPU CPU"
	t_end

	t_begin "$tag: other format version, other memory size"
	cp --sparse=always "$snap" "$bad"
	printf '\x02' | dd of="$bad" bs=1 seek=8 conv=notrunc status=none
	sn_expect_refused "$HEDGE" "$bad"
	expect_stderr "format version 2"
	cp --sparse=always "$snap" "$bad"
	sn_expect_refused "$HEDGE" "$bad" --mem 64M
	expect_stderr "--mem asks for 64 MiB"
	t_run "$HEDGE" run --restore "$snap" --mem 32M --quiet
	expect_status 7
	t_end
}

# A wasm computation, snapshotted while it runs and stopped there, then
# restored: it must print exactly what an uninterrupted run prints.
snapshot_wasm_case() {
	local HEDGE=$1 tag=$2 sock=$SN/w.sock out=$SN/w.out snap=$SN/sha-$2.snap
	local old_cache=${HEDGE_CACHE_DIR-}
	export HEDGE_CACHE_DIR=$SN/cache

	t_begin "$tag: wasm sha256 snapshotted mid-computation gives the uninterrupted result"
	t_run "$HEDGE" run -q build/wasm/sha256.wasm 8 # builds the image into the cache
	t_run "$HEDGE" run build/wasm/sha256.wasm 160
	expect_status 0
	cp "$T_OUT" "$SN/sha.expected"
	sn_start "$sock" "$out" "$HEDGE" build/wasm/sha256.wasm 160
	sn_up_200ms() {
		"$HEDGE" vm status --json --api-sock "$sock" | grep -q '"uptime_ms":\([2-9][0-9][0-9]\|[0-9]\{4,\}\)'
	}
	t_wait sn_up_200ms || t_fail "the wasm VM did not run for 200 ms"
	t_run "$HEDGE" vm snapshot --stop --api-sock "$sock" "$snap"
	expect_status 0
	[ ! -s "$out" ] || t_fail "the computation finished before the snapshot: make it longer"
	kill -TERM "$SN_PID"
	sn_finish
	t_run "$HEDGE" run --restore "$snap"
	expect_status 0
	cmp -s "$T_OUT" "$SN/sha.expected" ||
		t_fail "restored output '$(cat "$T_OUT")' differs from '$(cat "$SN/sha.expected")'"
	t_end
	if [ -n "$old_cache" ]; then
		export HEDGE_CACHE_DIR=$old_cache
	else
		unset HEDGE_CACHE_DIR
	fi
}

# sn_in_read PID: a thread of the hedge run under PID (a timeout) is blocked
# reading stdin (read(0, ...) in /proc/TID/syscall).
sn_in_read() {
	local pid
	pid=$(tr -d ' ' <"/proc/$1/task/$1/children")
	cat /proc/"$pid"/task/*/syscall 2>/dev/null | grep -q '^0 0x0 '
}

# A guest blocked reading stdin - a read that may never return - pauses,
# and a snapshot or a migration taken then hands the copy the read again,
# from its own stdin: the restored copy and the target must each print what
# they are given, not take the pending read for an end of file.
snapshot_stdin_case() {
	local HEDGE=$1 tag=$2 sock=$SN/in-$2.sock snap=$SN/stdin-$2.snap out=$SN/in-$2.out
	local fifo=$SN/in-$2.fifo w pid tpid port=$((20000 + ($$ + 7919) % 20000))
	rm -f "$fifo" && mkfifo "$fifo"
	t_begin "$tag: a VM blocked reading stdin pauses, snapshots and migrates; copies read their own stdin"
	t_run "$HEDGE" build -q build/wasm/cat.wasm -o "$SN/cat-$tag.hvt"
	expect_status 0
	rm -f "$sock"
	timeout -k 5 60 "$HEDGE" run --api-sock "$sock" "$SN/cat-$tag.hvt" <"$fifo" >"$out" 2>"$out.err" &
	pid=$!
	exec {w}>"$fifo"
	t_wait test -S "$sock" || t_fail "the control socket never appeared"
	echo one >&"$w"
	t_wait grep -qx one "$out" || t_fail "cat did not copy its first line"
	t_wait sn_in_read "$pid" || t_fail "the VM is not blocked reading stdin"
	t_run "$HEDGE" vm pause --api-sock "$sock"
	expect_status 0
	expect_stdout "paused"
	t_run "$HEDGE" vm snapshot --api-sock "$sock" "$snap"
	expect_status 0
	expect_stdout "wrote $snap"
	t_run "$HEDGE" vm resume --api-sock "$sock"
	expect_status 0
	echo two >&"$w"
	t_wait grep -qx two "$out" || t_fail "the resumed VM did not read on"
	t_wait sn_in_read "$pid" || t_fail "the VM is not blocked reading stdin again"
	while tcp_listening "$port"; do port=$((port + 1)); done
	printf 'moved\n' >"$SN/moved.txt"
	timeout -k 5 60 "$HEDGE" run --incoming "tcp:127.0.0.1:$port" --incoming-timeout 30 \
		<"$SN/moved.txt" >"$SN/in-$tag.target" 2>"$SN/in-$tag.target.err" &
	tpid=$!
	t_wait tcp_listening "$port" || t_fail "the target never listened"
	t_run "$HEDGE" vm migrate --api-sock "$sock" --to "tcp:127.0.0.1:$port"
	expect_status 0
	exec {w}>&-
	wait "$pid" || t_fail "the source exited with $?: $(cat "$out.err")"
	grep -q "the VM moved to" "$out.err" || t_fail "the source did not say the VM moved"
	wait "$tpid" || t_fail "the target exited with $?: $(cat "$SN/in-$tag.target.err")"
	[ "$(cat "$out")" = "$(printf 'one\ntwo')" ] || t_fail "the source printed '$(cat "$out")'"
	[ "$(cat "$SN/in-$tag.target")" = moved ] ||
		t_fail "the target printed '$(cat "$SN/in-$tag.target")', not its own stdin"
	printf 'three\n' >"$SN/three.txt"
	t_run_stdin "$SN/three.txt" "$HEDGE" run --restore "$snap"
	expect_status 0
	[ "$(cat "$T_OUT")" = three ] || t_fail "the restored copy printed '$(cat "$T_OUT")', not its own stdin"
	t_end
}

snapshot_static_cases build/hedge release
snapshot_static_cases build/asan/hedge asan
if [ -e /dev/kvm ]; then
	snapshot_counter_case build/hedge release
	snapshot_counter_case build/asan/hedge asan
	snapshot_kvm_cases build/hedge release
	snapshot_wasm_case build/hedge release
	snapshot_wasm_case build/asan/hedge asan
	snapshot_stdin_case build/hedge release
	snapshot_stdin_case build/asan/hedge asan
else
	t_skip "snapshot and restore tests"
fi
