# tests/integration/boot.sh - boots the example unikernels and checks what
# they print and how they end, with the optimised and the sanitized monitor.

EX=build/examples

# poke FILE OFFSET VALUE BYTES: overwrites BYTES little-endian bytes of FILE.
poke() {
	local file=$1 off=$2 val=$3 n=$4 i esc=""
	for ((i = 0; i < n; i++)); do
		esc+=$(printf '\\x%02x' $(((val >> (8 * i)) & 255)))
	done
	printf "$esc" | dd of="$file" bs=1 seek="$off" conv=notrunc status=none
}

# Cases that need no KVM: bad command lines and bad images are refused first.
image_cases() {
	local HEDGE=$1 tag=$2 img=$T_TMP/img

	t_begin "$tag: --help prints usage"
	t_run "$HEDGE" run --help
	expect_status 0
	expect_stdout "Usage: hedge run"
	t_end

	t_begin "$tag: missing image is a usage error"
	t_run "$HEDGE" run
	expect_status 64
	expect_one_line_error
	t_end

	t_begin "$tag: unknown option and bad --mem are usage errors"
	t_run "$HEDGE" run --bogus $EX/hello.hvt
	expect_status 64
	expect_one_line_error
	t_run "$HEDGE" run --mem 12Q $EX/hello.hvt
	expect_status 64
	expect_stderr "bad memory size"
	t_end

	t_begin "$tag: image that does not exist"
	t_run "$HEDGE" run "$T_TMP/no-such-image"
	expect_status 2
	expect_one_line_error
	expect_stderr "cannot open"
	t_end

	t_begin "$tag: directory, empty file and text file are refused"
	t_run "$HEDGE" run "$T_TMP"
	expect_status 2
	expect_stderr "not a regular file"
	: >"$img"
	t_run "$HEDGE" run "$img"
	expect_status 2
	expect_stderr "empty file"
	echo "#!/bin/sh" >"$img"
	t_run "$HEDGE" run "$img"
	expect_status 2
	expect_one_line_error
	expect_stderr "not an ELF file"
	t_end

	t_begin "$tag: wrong class and machine"
	cp $EX/hello.hvt "$img"
	poke "$img" 4 1 1
	t_run "$HEDGE" run "$img"
	expect_status 2
	expect_stderr "not a 64-bit ELF"
	cp $EX/hello.hvt "$img"
	poke "$img" 18 183 2
	t_run "$HEDGE" run "$img"
	expect_status 2
	expect_one_line_error
	expect_stderr "is not x86_64"
	t_end

	t_begin "$tag: truncated images"
	head -c 150 $EX/hello.hvt >"$img"
	t_run "$HEDGE" run "$img"
	expect_status 2
	expect_stderr "truncated"
	head -c 3000 $EX/hello.hvt >"$img"
	t_run "$HEDGE" run "$img"
	expect_status 2
	expect_one_line_error
	expect_stderr "truncated"
	t_end

	# Program header 0 starts at offset 64: p_vaddr at 80, p_paddr at 88, p_memsz at 104.
	t_begin "$tag: segment in the reserved area"
	cp $EX/hello.hvt "$img"
	poke "$img" 80 4096 8
	poke "$img" 88 4096 8
	t_run "$HEDGE" run "$img"
	expect_status 2
	expect_one_line_error
	expect_stderr "reserved area"
	t_end

	t_begin "$tag: overlapping segments"
	cp $EX/hello.hvt "$img"
	poke "$img" $((64 + 56 + 16)) 1048576 8
	poke "$img" $((64 + 56 + 24)) 1048576 8
	t_run "$HEDGE" run "$img"
	expect_status 2
	expect_one_line_error
	expect_stderr "segments overlap"
	t_end

	t_begin "$tag: entry point outside the image"
	cp $EX/hello.hvt "$img"
	poke "$img" 24 $((0x5000000)) 8
	t_run "$HEDGE" run "$img"
	expect_status 2
	expect_one_line_error
	expect_stderr "entry point"
	t_end

	t_begin "$tag: image larger than --mem"
	cp $EX/hello.hvt "$img"
	poke "$img" 104 $((0x300000)) 8
	t_run "$HEDGE" run --mem 2M "$img"
	expect_status 2
	expect_one_line_error
	expect_stderr "--mem"
	t_end

	t_begin "$tag: missing or unusable KVM device"
	HEDGE_KVM_DEVICE=$T_TMP/no-kvm t_run "$HEDGE" run $EX/hello.hvt
	expect_status 69
	expect_one_line_error
	expect_stderr "does not exist"
	HEDGE_KVM_DEVICE=/dev/null t_run "$HEDGE" run $EX/hello.hvt
	expect_status 69
	expect_one_line_error
	expect_stderr "not a usable KVM device"
	t_end
}

# expect_guest_fault STATUS TEXT IMAGE ARGS...: the VM ends with a one-line reason.
expect_guest_fault() {
	local status=$1 text=$2
	shift 2
	t_run "$HEDGE" run "$@"
	expect_status "$status"
	expect_stderr "$text"
	[ "$(grep -c '^hedge:' "$T_ERR")" = 1 ] || t_fail "expected one 'hedge:' line on stderr"
}

kvm_cases() {
	local HEDGE=$1 tag=$2

	t_begin "$tag: hello prints its greeting and arguments"
	t_run "$HEDGE" run $EX/hello.hvt -- one "two words" --three
	expect_status 0
	expect_stdout "Hello from a hedge unikernel!"
	expect_stdout "argc=4"
	expect_stdout "argv[0]=$EX/hello.hvt"
	expect_stdout "argv[2]=two words"
	expect_stdout "argv[3]=--three"
	[ ! -s "$T_ERR" ] || t_fail "stderr is not empty"
	t_end

	t_begin "$tag: arguments without '--', environment, --mem"
	t_run "$HEDGE" run --mem 64M --env GREETING=hi -e X=1 $EX/hello.hvt alpha
	expect_status 0
	expect_stdout "argv[1]=alpha"
	expect_stdout "env GREETING=hi"
	expect_stdout "env X=1"
	t_end

	t_begin "$tag: the CPUID cache is written, and a damaged one is ignored"
	local rt=$T_TMP/rt-$tag
	mkdir -p "$rt"
	XDG_RUNTIME_DIR=$rt t_run "$HEDGE" run $EX/exit_code.hvt 5
	expect_status 5
	local cache
	cache=$(ls "$rt"/hedge/cpuid-* 2>/dev/null | head -n 1)
	[ -n "$cache" ] && [ -s "$cache" ] || t_fail "no CPUID cache file in $rt/hedge"
	if [ -n "$cache" ]; then
		head -c 100 /dev/urandom >"$cache"
		XDG_RUNTIME_DIR=$rt t_run "$HEDGE" run $EX/exit_code.hvt 6
		expect_status 6
		: >"$cache"
		XDG_RUNTIME_DIR=$rt t_run "$HEDGE" run $EX/exit_code.hvt 7
		expect_status 7
	fi
	t_end

	t_begin "$tag: --quiet discards the console"
	t_run "$HEDGE" run --quiet $EX/hello.hvt
	expect_status 0
	expect_empty_stdout
	t_end

	t_begin "$tag: guest exit status becomes hedge's"
	for code in 0 7 42 255; do
		t_run "$HEDGE" run $EX/exit_code.hvt $code
		expect_status $code
		expect_stdout "exiting with status $code"
	done
	t_end

	t_begin "$tag: clocks: monotonic, sleeps, wall clock"
	t_run "$HEDGE" run $EX/clock.hvt 5
	expect_status 0
	expect_stdout "clock: ok"
	local guest_wall host_wall
	guest_wall=$(sed -n 's/^wall_seconds=//p' "$T_OUT")
	host_wall=$(date +%s)
	if [ -z "$guest_wall" ] || [ $((host_wall - guest_wall)) -gt 5 ] ||
		[ $((guest_wall - host_wall)) -gt 5 ]; then
		t_fail "guest wall clock '$guest_wall' is not within 5 s of the host's $host_wall"
	fi
	t_end

	t_begin "$tag: malloc stress test"
	t_run "$HEDGE" run --mem 128M $EX/malloc_stress.hvt 200000
	expect_status 0
	expect_stdout "malloc_stress: 200000 ops"
	expect_no_stdout "FAIL"
	t_end

	t_begin "$tag: NULL dereference panics with registers"
	expect_guest_fault 120 "guest aborted: CPU exception 14 (#PF page fault) accessing 0x0" \
		$EX/crash.hvt null
	expect_stdout "guest panic: CPU exception 14"
	expect_stdout "rip="
	expect_stdout "cr2=0000000000000000"
	t_end

	t_begin "$tag: divide by zero panics"
	expect_guest_fault 120 "CPU exception 0 (#DE divide error)" $EX/crash.hvt div0
	t_end

	t_begin "$tag: stack overflow is caught by the guard page"
	expect_guest_fault 120 "guest aborted: stack overflow" $EX/crash.hvt stack
	t_end

	t_begin "$tag: invalid opcode, abort() and assert()"
	expect_guest_fault 120 "#UD invalid opcode" $EX/crash.hvt ud
	expect_guest_fault 120 "guest aborted: abort() called" $EX/crash.hvt abort
	expect_guest_fault 120 "assertion failed: zero == 1" $EX/crash.hvt assert
	t_end

	t_begin "$tag: triple fault ends the VM"
	expect_guest_fault 121 "triple fault" $EX/crash.hvt triple
	t_end

	t_begin "$tag: hypercall pointing outside guest memory"
	expect_guest_fault 122 "outside guest memory" $EX/bad_hypercall.hvt ptr
	expect_no_stdout "still running"
	expect_guest_fault 122 "outside guest memory" $EX/bad_hypercall.hvt len
	expect_no_stdout "still running"
	t_end

	t_begin "$tag: hypercall with another ABI version"
	expect_guest_fault 123 "ABI version 42" $EX/bad_hypercall.hvt abi
	t_end

	t_begin "$tag: unknown port, misaligned argument, port read"
	expect_guest_fault 122 "unknown port" $EX/bad_hypercall.hvt port
	expect_guest_fault 122 "not 8-byte aligned" $EX/bad_hypercall.hvt align
	expect_guest_fault 122 "unexpected read" $EX/bad_hypercall.hvt read
	t_end

	t_begin "$tag: access outside guest RAM is an unexpected exit"
	expect_guest_fault 124 "not guest memory" $EX/bad_hypercall.hvt mmio
	t_end
}

image_cases build/hedge release
image_cases build/asan/hedge asan
if [ -e /dev/kvm ]; then
	kvm_cases build/hedge release
	kvm_cases build/asan/hedge asan

	t_begin "seccomp: a forbidden syscall kills the monitor"
	t_run build/hedge run --debug-seccomp-probe $EX/hello.hvt
	expect_status 159 # 128 + SIGSYS
	expect_empty_stdout
	t_end
else
	t_skip "VM boot tests"
fi
