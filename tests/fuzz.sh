# tests/fuzz.sh - runs each libFuzzer harness for a bounded number of inputs.
#
# Seeds are the example images and a few hand-made hypercall inputs, so the
# fuzzers start from valid structures rather than from nothing.

fuzz_runs=${HEDGE_FUZZ_RUNS:-300000}

# fuzz_case NAME BINARY CORPUS [RUNS]: RUNS defaults to $fuzz_runs.
fuzz_case() {
	local name=$1 bin=$2 corpus=$3 runs=${4:-$fuzz_runs}
	t_begin "fuzz: $name ($runs inputs)"
	t_run "$bin" -runs="$runs" -max_len=65536 -timeout=10 "$corpus"
	expect_status 0
	grep -q "Done $runs runs" "$T_ERR" || t_fail "fuzzer did not finish its runs"
	t_end
}

elf_corpus=$T_TMP/corpus-elf
hc_corpus=$T_TMP/corpus-hc
mkdir -p "$elf_corpus" "$hc_corpus"
cp fuzz/corpus/elf/* "$elf_corpus"/ 2>/dev/null
for img in build/examples/hello.hvt build/examples/exit_code.hvt; do
	[ -f "$img" ] && cp "$img" "$elf_corpus/$(basename "$img")"
done
cp fuzz/corpus/hypercall/* "$hc_corpus"/ 2>/dev/null
fuzz_case "ELF loader" build/fuzz/fuzz_elf "$elf_corpus"
fuzz_case "hypercall decoding" build/fuzz/fuzz_hypercall "$hc_corpus"
snap_corpus=$T_TMP/corpus-snapshot
mkdir -p "$snap_corpus"
cp fuzz/corpus/snapshot/* "$snap_corpus"/ 2>/dev/null
fuzz_case "snapshot file and control request parsing" build/fuzz/fuzz_snapshot "$snap_corpus"
mig_corpus=$T_TMP/corpus-migrate
mkdir -p "$mig_corpus"
cp fuzz/corpus/migrate/* "$mig_corpus"/ 2>/dev/null
fuzz_case "migration stream, target side" build/fuzz/fuzz_migrate "$mig_corpus" 20000
if [ -x build/fuzz/fuzz_wasm ]; then
	wasm_corpus=$T_TMP/corpus-wasm
	mkdir -p "$wasm_corpus"
	cp fuzz/corpus/wasm/* "$wasm_corpus"/ 2>/dev/null
	for w in build/wasm/*.wasm; do
		[ -f "$w" ] && [ "$(stat -c %s "$w")" -lt 65536 ] && cp "$w" "$wasm_corpus/"
	done
	fuzz_case "wasm module parsing" build/fuzz/fuzz_wasm "$wasm_corpus"
fi
if [ -x build/fuzz/fuzz_api ]; then
	api_corpus=$T_TMP/corpus-api
	mkdir -p "$api_corpus"
	cp fuzz/corpus/api/* "$api_corpus"/ 2>/dev/null
	fuzz_case "agent API request parsing" build/fuzz/fuzz_api "$api_corpus"
fi

# The guest's network stack runs a whole TCP/IP exchange per input, so fewer
# of them (about 10 s); the seeds are made by fuzz/lwip_rx_seeds.py.
lwip_corpus=$T_TMP/corpus-lwip-rx
mkdir -p "$lwip_corpus"
cp fuzz/corpus/lwip_rx/* "$lwip_corpus"/
fuzz_case "guest network receive path (lwIP, driver, sockets)" build/fuzz/fuzz_lwip_rx \
	"$lwip_corpus" "${HEDGE_FUZZ_LWIP_RUNS:-$((fuzz_runs / 3))}"
