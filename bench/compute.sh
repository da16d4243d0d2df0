#!/usr/bin/env bash
# bench/compute.sh - compute benchmark: the same C program as a native Linux
# binary, as a hedge unikernel built from its .wasm, and as that .wasm under
# Node.js's built-in WASI.  Then the time `hedge build` takes for a ~1 MiB
# module, split into parts compiled side by side and as one C file.
#
# Usage: bench/compute.sh [RUNS]   (default 5 timed runs each, after 1 warm-up)
#   COMPUTE_PROGS="matmul sort" bench/compute.sh   only some programs
#   BUILD_RUNS=0 bench/compute.sh                   skip the hedge build timing
#
# Every variant runs the program at its default size (about 1-2 s natively),
# as a whole process: hedge's figure includes creating and booting the VM,
# Node's includes starting Node and compiling the module.  The outputs of
# the three must be identical, or the script says so and exits 1.
set -eu
cd "$(dirname "$0")/.."
RUNS=${1:-5}
BUILD_RUNS=${BUILD_RUNS:-3}
PROGS=${COMPUTE_PROGS:-matmul sha256 nbody sort}
OUT=build/bench/compute
# Guest memory recorded in the images: what `hedge run X.wasm` gives too.
MEM=256M
# Node.js 20 sometimes crashes in its concurrent GC as it exits after a run
# that grew a large wasm memory (sort: 128 MB); single-threaded GC avoids it.
NODE=(node --no-warnings --single-threaded-gc bench/compute/node_wasi.mjs)

for tool in hyperfine node cc jq; do
	command -v $tool >/dev/null || {
		echo "compute.sh: $tool is needed" >&2
		exit 1
	}
done
make -s build/hedge libdir wasm-examples
mkdir -p "$OUT"

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "native: $(cc --version | head -n 1); node $(node --version); $RUNS runs each after 1 warm-up"

# median FILE.json: the median wall time in seconds hyperfine measured.
median() {
	jq -r '.results[0].median' "$1"
}

# time_cmd NAME CMD...: hyperfine over CMD (no shell in between).
time_cmd() {
	local name=$1
	shift
	hyperfine -N --style none --warmup 1 --runs "$RUNS" --export-json "$OUT/$name.json" \
		"$(printf '%q ' "$@")" >/dev/null
	median "$OUT/$name.json"
}

status=0
rows=()
for p in $PROGS; do
	cc -O2 -o "$OUT/$p.native" examples/wasm/$p.c -lm
	build/hedge build -q --mem $MEM build/wasm/$p.wasm -o "$OUT/$p.hvt"

	# Correctness first: one run of each, outputs compared.
	"$OUT/$p.native" >"$OUT/$p.native.out"
	build/hedge run "$OUT/$p.hvt" >"$OUT/$p.hedge.out"
	"${NODE[@]}" build/wasm/$p.wasm >"$OUT/$p.node.out"
	same=yes
	for v in hedge node; do
		if ! cmp -s "$OUT/$p.native.out" "$OUT/$p.$v.out"; then
			echo "$p: the $v output differs from the native one:" >&2
			diff "$OUT/$p.native.out" "$OUT/$p.$v.out" | head -n 6 >&2
			same=NO
			status=1
		fi
	done

	n=$(time_cmd "$p-native" "$OUT/$p.native")
	h=$(time_cmd "$p-hedge" build/hedge run "$OUT/$p.hvt")
	j=$(time_cmd "$p-node" "${NODE[@]}" build/wasm/$p.wasm)
	rows+=("$(awk -v p="$p" -v a="$(head -c 40 "$OUT/$p.native.out" | head -n 1)" -v n="$n" -v h="$h" \
		-v j="$j" -v s="$same" 'BEGIN { printf "%-8s %10.3f %10.3f %10.3f %12.2fx %12.2fx  %-5s %s",
		p, n, h, j, h / n, j / h, s, a }')")
done

printf '\nmedian wall time, seconds (whole process)\n'
printf '%-8s %10s %10s %10s %13s %13s  %-5s %s\n' program native hedge node hedge/native node/hedge same output
for r in "${rows[@]}"; do
	echo "$r"
done

# hedge build of a ~1 MiB module: wasm2c, the C compiler, the link.  Its C
# is split into parts compiled side by side (toolchain.md); the baseline is
# the same build as one file (HEDGE_BUILD_PARTS=1), timed once.
if [ "$BUILD_RUNS" -gt 0 ]; then
	awk -v n=3000 -f bench/compute/gen_big.awk >"$OUT/big.c"
	clang --target=wasm32-wasi -O2 -o "$OUT/big.wasm" "$OUT/big.c"
	cc -O2 -o "$OUT/big.native" "$OUT/big.c"
	# The first build, untimed, tells how much C wasm2c wrote and how it was split.
	build/hedge build "$OUT/big.wasm" -o "$OUT/big.hvt" 2>"$OUT/build.log"
	c_size=$(sed -n 's/.*compiling \([0-9.]* [KM]*i*B\) of C.*/\1/p' "$OUT/build.log")
	split=$(sed -n 's/.*of C \(in [0-9]* parts, [0-9]* at a time\).*/\1/p' "$OUT/build.log")
	hyperfine -N --style none --runs "$BUILD_RUNS" --export-json "$OUT/build.json" \
		"build/hedge build -q $OUT/big.wasm -o $OUT/big.hvt" >/dev/null
	if [ "$(build/hedge run "$OUT/big.hvt")" != "$("$OUT/big.native")" ]; then
		echo "big: the hedge output differs from the native one" >&2
		status=1
	fi
	hyperfine -N --style none --runs 1 --export-json "$OUT/build1.json" \
		"env HEDGE_BUILD_PARTS=1 build/hedge build -q $OUT/big.wasm -o $OUT/big1.hvt" >/dev/null
	if [ "$(build/hedge run "$OUT/big1.hvt")" != "$("$OUT/big.native")" ]; then
		echo "big: the single-file hedge output differs from the native one" >&2
		status=1
	fi
	split_s=$(median "$OUT/build.json")
	single_s=$(median "$OUT/build1.json")
	printf '\nhedge build of a %s-byte module (%s of C, %d functions), %s: median %.2f s over %d runs; image %s bytes\n' \
		"$(stat -c %s "$OUT/big.wasm")" "${c_size:-?}" 3000 "${split:-not split}" "$split_s" \
		"$BUILD_RUNS" "$(stat -c %s "$OUT/big.hvt")"
	awk -v a="$split_s" -v b="$single_s" 'BEGIN { printf "the same as one C file: %.2f s (1 run); split/single %.2fx\n", b, a / b }'
fi
exit $status
