#!/usr/bin/env bash
# bench/boot.sh - boot-time benchmark: boots the hello unikernel N times and
# compares it with the same program as a native static Linux process.
#
# Usage: bench/boot.sh [N]   (default 300)
# Prints median/p90 whole-process wall time, peak RSS, guest pages touched,
# the median of each boot phase, and the hedge/native ratio.
set -eu
cd "$(dirname "$0")/.."
N=${1:-300}
make -s build/hedge build/examples/hello.hvt
mkdir -p build/bench
gcc -O2 -Wall -Wextra -Werror -o build/bench/boottime bench/boottime.c
gcc -O2 -static -o build/bench/hello_native bench/hello_native.c

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "runs: $N each (after 20 warm-up runs)"
build/bench/boottime 20 build/bench/hello_native >/dev/null
build/bench/boottime 20 build/hedge run build/examples/hello.hvt >/dev/null
native=$(build/bench/boottime "$N" build/bench/hello_native)
hedge=$(build/bench/boottime "$N" build/hedge run --timings build/examples/hello.hvt)

num() { sed -n "s/.*\"$2\":\([0-9.]*\).*/\1/p" <<<"$1"; }
printf '\n%-34s %12s %12s\n' "" "native" "hedge"
for k in wall_median_us wall_p90_us wall_min_us peak_rss_kib; do
	printf '%-34s %12s %12s\n' "$k" "$(num "$native" $k)" "$(num "$hedge" $k)"
done
printf '\nhedge boot phases (median, us):\n'
for k in load_us create_vm_us memory_us vcpu_us sandbox_us run_us total_us; do
	printf '  %-20s %10s\n' "$k" "$(num "$hedge" "${k}_median")"
done
rss=$(num "$hedge" peak_rss_kib)
guest=$(num "$hedge" guest_resident_kib)
printf '\nguest pages touched: %s KiB; monitor RSS beyond them: %s KiB\n' "$guest" $((${rss%.*} - ${guest%.*}))
awk -v h="$(num "$hedge" wall_median_us)" -v n="$(num "$native" wall_median_us)" \
	'BEGIN { printf "median wall time ratio hedge/native: %.2fx\n", h / n }'
