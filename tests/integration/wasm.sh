# tests/integration/wasm.sh - WebAssembly programs on hedge: the examples in
# examples/wasm (arguments, environment, exit statuses, stdin, files under
# --dir, traps, compute programs that must print what their native builds
# print) and the WASI conformance programs in tests/wasi, each of which
# prints "ok ..."/"FAIL ..." per check and exits 0 only if all passed.
#
# The file system a guest sees under --dir is a copy: whatever it writes
# stays in the VM, so after every run the host directory must be unchanged.
#
# Every module is built with its C split into parts (toolchain.md), so these
# cases check that split builds behave exactly as the single-file ones did.

TW=$T_TMP/wasm-suite
W=build/wasm
WT=build/wasi-tests
mkdir -p "$TW"
export HEDGE_CACHE_DIR=$TW/cache

# The directory the programs get as /sandbox, with a file next to it that
# the sandbox test tries to reach (tests/wasi/check.h describes it).
SB=$TW/host/sandbox
mkdir -p "$SB/sub/deeper"
printf 'hello from the host\n' >"$SB/hello.txt"
printf 'nested\n' >"$SB/sub/nested.txt"
printf 'secret\n' >"$TW/host/secret.txt"
mkdir -p "$TW/host/data"
printf 'data\n' >"$TW/host/data/d.txt"

# host_state: everything about the host directories that a write could change.
host_state() {
	(
		cd "$TW/host" || exit 1
		find . -printf '%y %m %s %T@ %p -> %l\n' | LC_ALL=C sort
		find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r md5sum
	)
}
host_state >"$TW/host.state"

expect_host_unchanged() {
	host_state >"$TW/host.now"
	if ! cmp -s "$TW/host.state" "$TW/host.now"; then
		t_fail "the host directory changed:"
		diff "$TW/host.state" "$TW/host.now" | head -n 10 | sed 's/^/      /'
	fi
}

# expect_output FILE: stdout is exactly FILE's contents.
expect_output() {
	if ! cmp -s "$1" "$T_OUT"; then
		t_fail "stdout differs from the expected output:"
		diff "$1" "$T_OUT" | head -n 10 | sed 's/^/      /'
	fi
}

# expect_all_passed NAME: a conformance program's verdict; its FAIL lines
# are the bug reports.
expect_all_passed() {
	expect_status 0
	grep -q "^$1: all [0-9]* checks passed" "$T_OUT" || t_fail "no '$1: all N checks passed' line"
	grep '^FAIL' "$T_OUT" | head -n 20 | sed 's/^/    /'
}

# expect_trap TEXT: the VM ended with exactly one line, the trap's reason.
expect_trap() {
	expect_status 120
	expect_stderr "hedge: guest aborted: wasm trap: $1"
	expect_one_line_error
	expect_stdout "trap: triggering"
	expect_no_stdout "still running"
}

wasm_cases() {
	local HEDGE=$1 tag=$2

	t_begin "$tag: wasm: hello prints its greeting, arguments and environment"
	t_run "$HEDGE" run --env GREETING=hi --env "SPACED=a b" -e EMPTY= $W/hello.wasm -- one "two words" ""
	expect_status 0
	expect_stdout "Hello from WebAssembly on hedge!"
	expect_stdout "argc=4"
	expect_stdout "argv[0]=$W/hello.wasm"
	expect_stdout "argv[1]=one"
	expect_stdout "argv[2]=two words"
	grep -qx 'argv\[3\]=' "$T_OUT" || t_fail "argv[3] is not the empty string"
	expect_stdout "env GREETING=hi"
	expect_stdout "env SPACED=a b"
	grep -qx 'env EMPTY=' "$T_OUT" || t_fail "EMPTY= is missing"
	[ ! -s "$T_ERR" ] || t_fail "stderr is not empty"
	t_end

	t_begin "$tag: wasm: arguments without '--', no environment"
	t_run "$HEDGE" run $W/hello.wasm alpha
	expect_status 0
	expect_stdout "argc=2"
	expect_stdout "argv[1]=alpha"
	expect_no_stdout "env "
	t_end

	t_begin "$tag: wasm: exit statuses pass through"
	local code
	for code in 0 3 255; do
		t_run "$HEDGE" run $WT/proc.wasm exit $code
		expect_status $code
		expect_stdout "proc: exit $code"
	done
	t_run "$HEDGE" run $WT/proc.wasm return 7
	expect_status 7
	t_run "$HEDGE" run $WT/proc.wasm libc-exit 42
	expect_status 42
	expect_stdout "unflushed" # exit() flushes stdio
	t_end

	t_begin "$tag: wasm: cat copies stdin to stdout"
	t_run_stdin "$TW/stdin.bin" "$HEDGE" run $W/cat.wasm
	expect_status 0
	cmp -s "$TW/stdin.bin" "$T_OUT" || t_fail "stdout is not the $(stat -c %s "$TW/stdin.bin") bytes of stdin"
	t_run_stdin "$TW/stdin.txt" "$HEDGE" run --dir "$SB::/sandbox" $W/cat.wasm /sandbox/hello.txt -
	expect_status 0
	printf 'hello from the host\npiped data\n' >"$TW/expected"
	expect_output "$TW/expected"
	t_run "$HEDGE" run $W/cat.wasm
	expect_status 0
	expect_empty_stdout
	t_end

	t_begin "$tag: wasm: a reader that goes away is EPIPE; closed stdin reads as empty"
	# The pipe's reader exits after 10 bytes; cat must then fail with EPIPE.
	(timeout -k 5 60 "$HEDGE" run $W/cat.wasm <"$TW/stdin.bin" 2>"$T_ERR" | head -c 10 >"$T_OUT"
	 echo "${PIPESTATUS[0]}" >"$TW/pipe.status")
	T_STATUS=$(cat "$TW/pipe.status")
	[ "$T_STATUS" != 0 ] || t_fail "cat exited 0 although its stdout was closed"
	expect_stderr "Broken pipe"
	timeout -k 5 60 "$HEDGE" run $W/cat.wasm >"$T_OUT" 2>"$T_ERR" <&-
	T_STATUS=$?
	expect_status 0
	expect_empty_stdout
	t_end

	t_begin "$tag: wasm: cat reads files under --dir"
	t_run "$HEDGE" run --dir "$SB::/sandbox" $W/cat.wasm /sandbox/hello.txt /sandbox/sub/nested.txt
	expect_status 0
	printf 'hello from the host\nnested\n' >"$TW/expected"
	expect_output "$TW/expected"
	t_run "$HEDGE" run --dir "$SB::/sandbox" $W/cat.wasm /sandbox/missing /sandbox/hello.txt
	expect_status 1
	expect_stdout "hello from the host"
	expect_stderr "cat: /sandbox/missing: No such file or directory"
	t_run "$HEDGE" run --dir "$SB" $W/cat.wasm "$SB/hello.txt"
	expect_status 0
	expect_stdout "hello from the host"
	t_run "$HEDGE" run $W/cat.wasm /sandbox/hello.txt
	expect_status 1
	expect_empty_stdout
	expect_host_unchanged
	t_end

	t_begin "$tag: wasm: ls and ls -l"
	t_run "$HEDGE" run --dir "$SB::/sandbox" $W/ls.wasm -l /sandbox
	expect_status 0
	printf -- '- %10s hello.txt\nd %10s sub/\n' 20 - >"$TW/expected"
	expect_output "$TW/expected"
	t_run "$HEDGE" run --dir "$SB::/sandbox" $W/ls.wasm /sandbox /sandbox/sub
	expect_status 0
	printf '/sandbox:\nhello.txt\nsub/\n\n/sandbox/sub:\ndeeper/\nnested.txt\n' >"$TW/expected"
	expect_output "$TW/expected"
	t_run "$HEDGE" run --dir "$SB::/sandbox" $W/ls.wasm /sandbox/nothing
	expect_status 1
	expect_stderr "ls: /sandbox/nothing: No such file or directory"
	t_end

	t_begin "$tag: wasm: tree"
	t_run "$HEDGE" run --dir "$SB::/srv" --dir "$TW/host/data::/data" $W/tree.wasm /srv
	expect_status 0
	cat >"$TW/expected" <<-'EOF'
		/srv
		|-- hello.txt
		`-- sub
		    |-- deeper
		    `-- nested.txt

		2 directories, 2 files
	EOF
	expect_output "$TW/expected"
	t_end

	t_begin "$tag: wasm: writefile writes inside the VM only"
	t_run "$HEDGE" run --dir "$SB::/sandbox" $W/writefile.wasm /sandbox
	expect_status 0
	expect_stdout "writefile: all checks passed"
	grep '^FAIL' "$T_OUT" | sed 's/^/    /'
	expect_host_unchanged
	t_end

	t_begin "$tag: wasm: traps end the VM with one line"
	t_run "$HEDGE" run $W/trap.wasm oob
	expect_trap "out of bounds memory access"
	t_run "$HEDGE" run $W/trap.wasm unreachable
	expect_trap "unreachable"
	t_run "$HEDGE" run $W/trap.wasm div0
	expect_trap "integer divide by zero"
	t_run "$HEDGE" run $W/trap.wasm stack
	expect_trap "call stack exhausted"
	t_run "$HEDGE" run $W/trap.wasm indirect
	expect_trap "indirect call"
	t_run "$HEDGE" run $W/trap.wasm signature
	expect_trap "indirect call"
	t_run "$HEDGE" run $W/trap.wasm overflow
	expect_trap "integer overflow"
	t_run "$HEDGE" run $W/trap.wasm conversion
	expect_trap "invalid conversion to integer"
	t_end
}

conformance_cases() {
	local HEDGE=$1 tag=$2 name

	t_begin "$tag: wasi: args"
	t_run "$HEDGE" run $WT/args.wasm -- "" "two words" "ünïcödé ✓ 日本" --flag=1 "$(printf 'tab\there')" \
		"$(printf '%*s' 1000 '' | tr ' ' x)"
	expect_all_passed args
	t_end

	t_begin "$tag: wasi: environ"
	t_run "$HEDGE" run --env HEDGE_TEST=1 --env "SPACED=a b  c" --env EMPTY= --env "UNICODE=héllo ✓" \
		--env "EQUALS=a=b=c" $WT/environ.wasm
	expect_all_passed environ
	t_end

	t_begin "$tag: wasi: clocks"
	t_run "$HEDGE" run --env "HOST_EPOCH=$(date +%s.%N)" $WT/clocks.wasm
	expect_all_passed clocks
	t_end

	t_begin "$tag: wasi: random"
	t_run "$HEDGE" run $WT/random.wasm
	expect_all_passed random
	t_end

	t_begin "$tag: wasi: prestat"
	t_run "$HEDGE" run --dir "$SB::/sandbox" --dir "$TW/host/data::/data" $WT/prestat.wasm /sandbox /data
	expect_all_passed prestat
	t_end

	for name in fd_basic fd_errors readdir path_ops sandbox poll; do
		t_begin "$tag: wasi: $name"
		t_run "$HEDGE" run --dir "$SB::/sandbox" $WT/$name.wasm
		expect_all_passed $name
		expect_host_unchanged
		t_end
	done

	t_begin "$tag: wasi: proc"
	t_run "$HEDGE" run $WT/proc.wasm
	expect_all_passed proc
	t_end
}

# Compute programs at small sizes: hedge prints what the native build prints.
compute_cases() {
	local HEDGE=$1 tag=$2 prog size
	for prog in "matmul 120" "sha256 8" "nbody 100000" "sort 300000"; do
		size=${prog#* }
		prog=${prog% *}
		t_begin "$tag: wasm: $prog $size gives the native output"
		if ! cc -O2 -o "$TW/$prog" examples/wasm/$prog.c -lm 2>"$TW/cc.log"; then
			t_fail "cannot compile $prog natively: $(head -n 1 "$TW/cc.log")"
		else
			"$TW/$prog" "$size" >"$TW/$prog.native"
			t_run "$HEDGE" run $W/$prog.wasm "$size"
			expect_status 0
			[ -s "$TW/$prog.native" ] || t_fail "the native $prog printed nothing"
			expect_output "$TW/$prog.native"
		fi
		t_end
	done
}

head -c 300000 /dev/urandom >"$TW/stdin.bin"
printf 'piped data\n' >"$TW/stdin.txt"

if [ -e /dev/kvm ]; then
	# Built with the C split into three parts compiled side by side (normally
	# only for large modules), so that every case below runs split code.
	t_begin "wasm: every example and conformance program builds, in 3 parts"
	for w in $W/*.wasm $WT/*.wasm; do
		HEDGE_BUILD_PARTS=3 t_run build/hedge build --cache "$w"
		[ "$T_STATUS" = 0 ] || t_fail "hedge build $w: status $T_STATUS: $(head -n 1 "$T_ERR")"
		grep -q "of C in 3 parts" "$T_ERR" || t_fail "hedge build $w: not split: $(grep compiling "$T_ERR")"
	done
	t_end

	wasm_cases build/hedge release
	conformance_cases build/hedge release
	compute_cases build/hedge release

	# The sanitized monitor on a few programs that exercise the most of it.
	t_begin "asan: wasm: hello, stdin, a trap"
	t_run build/asan/hedge run --env K=V $W/hello.wasm -- x
	expect_status 0
	expect_stdout "argv[1]=x"
	expect_stdout "env K=V"
	t_run_stdin "$TW/stdin.bin" build/asan/hedge run $W/cat.wasm
	expect_status 0
	cmp -s "$TW/stdin.bin" "$T_OUT" || t_fail "stdin did not come through"
	t_run build/asan/hedge run $W/trap.wasm oob
	expect_trap "out of bounds memory access"
	t_end

	t_begin "asan: wasi: sandbox and path_ops"
	t_run build/asan/hedge run --dir "$SB::/sandbox" $WT/sandbox.wasm
	expect_all_passed sandbox
	t_run build/asan/hedge run --dir "$SB::/sandbox" $WT/path_ops.wasm
	expect_all_passed path_ops
	expect_host_unchanged
	t_end
else
	t_skip "WebAssembly tests"
fi
