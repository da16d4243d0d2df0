#!/usr/bin/env bash
# bench/migrate.sh - live migration of an idle guest over loopback: prints
# downtime (pause to the target's READY) and total time for each of RUNS
# migrations and their medians.  Not a test.
#   bench/migrate.sh [MEM (default 64M)] [RUNS (default 7)]
set -u
cd "$(dirname "$0")/.."
MEM=${1:-64M}
RUNS=${2:-7}
H=build/hedge
D=$(mktemp -d /tmp/hedge-bench-mig.XXXXXX)
PORT=$((30000 + $$ % 20000))
wait_for() { for ((i = 0; i < 2000; i++)); do "$@" 2>/dev/null && return 0; sleep 0.01; done; return 1; }
listening() { ss -Hltn "sport = :$1" | grep -q .; }
for ((r = 1; r <= RUNS; r++)); do
	rm -f "$D/a.sock"
	"$H" run --quiet --mem "$MEM" --api-sock "$D/a.sock" build/examples/counter.hvt 1000 1000 &
	a=$!
	wait_for test -S "$D/a.sock"
	PORT=$((PORT + 1))
	"$H" run --quiet --incoming "tcp:127.0.0.1:$PORT" --api-sock "$D/b.sock" &
	b=$!
	wait_for listening "$PORT"
	"$H" vm migrate --api-sock "$D/a.sock" --to "tcp:127.0.0.1:$PORT" --json | tee -a "$D/results"
	wait "$a"
	kill "$b"
	wait "$b" 2>/dev/null
done
node -e '
const rows = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map(JSON.parse);
const med = (k) => { const v = rows.map((r) => r[k]).sort((a, b) => a - b); return v[v.length >> 1]; };
console.log(`median of ${rows.length}: downtime ${med("downtime_ms")} ms, total ${med("total_ms")} ms, ` +
	`${med("bytes")} bytes, ${med("rounds")} rounds`);
' "$D/results"
rm -rf "$D"
