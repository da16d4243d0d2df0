# tests/integration/agent.sh - hedged, the node agent, through its REST API on
# a unix socket: images, the VM life cycle, a restart of the agent while a VM
# runs, bad requests, and concurrent creates.  Uses the sanitized hedged.

AG_BIN=build/asan/hedged
AG_DIR=$T_TMP/agent
AG_SOCK=$AG_DIR/api.sock
AG_PID=""

# ag_start: starts hedged in the background and waits (bounded) for its socket.
ag_start() {
	"$AG_BIN" --state-dir "$AG_DIR/state" --socket "$AG_SOCK" --foreground \
		--stop-timeout 2 --max-vm-mem 200M >>"$AG_DIR/hedged.log" 2>&1 &
	AG_PID=$!
	local i
	for ((i = 0; i < 100; i++)); do
		curl -s --unix-socket "$AG_SOCK" -o /dev/null http://hedged/node && return 0
		sleep 0.1
	done
	return 1
}

ag_stop() {
	[ -n "$AG_PID" ] || return 0
	kill -TERM "$AG_PID" 2>/dev/null
	wait "$AG_PID" 2>/dev/null
	AG_PID=""
}

# api METHOD PATH [curl args...]: the body goes to $T_OUT, the status to $AG_CODE.
api() {
	local method=$1 path=$2
	shift 2
	AG_CODE=$(timeout 30 curl -s -o "$T_OUT" -w '%{http_code}' --unix-socket "$AG_SOCK" \
		-X "$method" "$@" "http://hedged$path" 2>"$T_ERR")
}

ag_listening() {
	ss -Hltn "sport = :$1" | grep -q .
}

expect_code() {
	[ "$AG_CODE" = "$1" ] || t_fail "HTTP status $AG_CODE, expected $1: $(head -c 300 "$T_OUT")"
}

# A refusal is one line of JSON with an "error".
expect_error_line() {
	[ "$(grep -c '' "$T_OUT")" = 1 ] || t_fail "error body is not one line"
	grep -q '^{"error":"' "$T_OUT" || t_fail "error body lacks {\"error\": ...}"
}

json_field() { # json_field KEY: a scalar field of the object in $T_OUT
	sed -n "s/.*\"$1\":\(\"[^\"]*\"\|[^,}]*\).*/\1/p" "$T_OUT" | head -n 1 | tr -d '"'
}

agent_cases() {
	mkdir -p "$AG_DIR"
	t_begin "agent: hedged starts and serves /node, /metrics, /openapi.json"
	ag_start || t_fail "hedged did not come up: $(cat "$AG_DIR/hedged.log")"
	api GET /node
	expect_code 200
	expect_stdout '"kvm":true'
	api GET /openapi.json
	expect_code 200
	expect_stdout '"openapi"'
	python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$T_OUT" ||
		t_fail "openapi.json is not JSON"
	api GET /metrics
	expect_stdout 'hedge_vms{state="running"} 0'
	expect_stdout 'hedge_api_requests_total{code="200"}'
	t_end

	t_begin "agent: upload an image; the same bytes give the same id"
	api POST /images --data-binary @build/examples/counter.hvt
	expect_code 201
	local img
	img=$(json_field id)
	[ "$img" = "$(sha256sum build/examples/counter.hvt | cut -d' ' -f1)" ] ||
		t_fail "image id $img is not the sha256"
	api POST /images --data-binary @build/examples/counter.hvt
	expect_code 200
	[ -f "$AG_DIR/state/images/$img.hvt" ] || t_fail "no images/$img.hvt"
	api GET "/images/${img:0:12}"
	expect_code 200
	api POST /images --data-binary @build/wasm/hello.wasm
	expect_code 201
	expect_stdout '"kind":"wasm"'
	api POST /images --data-binary @tests/lib.sh
	expect_code 415
	expect_error_line
	t_end

	t_begin "agent: create, start, logs, pause, resume, stop, delete"
	api POST /vms -d "{\"name\":\"c1\",\"image\":\"${img:0:12}\",\"mem\":\"64M\",\"args\":[\"100000\",\"50\"]}"
	expect_code 201
	expect_stdout '"state":"created"'
	api POST /vms -d "{\"name\":\"c1\",\"image\":\"$img\"}"
	expect_code 409
	expect_error_line
	api POST /vms/c1/start
	expect_code 200
	expect_stdout '"state":"running"'
	[ "$(json_field boot_ms)" != null ] || t_fail "no boot time"
	api POST /vms/c1/start
	expect_code 409
	sleep 0.3
	api GET /vms/c1/logs
	expect_code 200
	expect_stdout "count=2"
	api POST /vms/c1/pause
	expect_code 200
	expect_stdout '"state":"paused"'
	api POST /vms/c1/resume
	expect_code 200
	expect_stdout '"state":"running"'
	api DELETE /vms/c1
	expect_code 409
	expect_error_line
	api DELETE "/images/$img"
	expect_code 409
	api POST /vms/c1/stop
	expect_code 200
	expect_stdout '"state":"exited"'
	api DELETE /vms/c1
	expect_code 200
	api GET /vms/c1
	expect_code 404
	t_end

	t_begin "agent: a VM that ends by itself: exit status and followed logs"
	api POST /vms -d "{\"name\":\"short\",\"image\":\"$img\",\"args\":[\"5\",\"20\",\"7\"]}"
	api POST /vms/short/start
	expect_code 200
	api GET '/vms/short/logs?follow=1'
	expect_code 200
	expect_stdout "final count=5"
	api GET /vms/short
	expect_stdout '"state":"exited"'
	expect_stdout '"exit_code":7'
	t_end

	t_begin "agent: restart policy on-failure brings a failing VM back"
	api POST /vms -d "{\"name\":\"flaky\",\"image\":\"$img\",\"args\":[\"1\",\"1\",\"3\"],\"restart\":\"on-failure\"}"
	api POST /vms/flaky/start
	local i restarts=0
	for ((i = 0; i < 50; i++)); do
		api GET /vms/flaky
		restarts=$(json_field restarts)
		[ "${restarts:-0}" -ge 2 ] && break
		sleep 0.1
	done
	[ "${restarts:-0}" -ge 2 ] || t_fail "restarted $restarts times"
	api POST /vms/flaky/stop
	api GET /vms/flaky
	expect_stdout '"state":"exited"'
	t_end

	t_begin "agent: admission control refuses memory beyond the node's budget"
	api POST /vms -d "{\"name\":\"big1\",\"image\":\"$img\",\"mem\":\"128M\",\"cpus\":0.5,\"args\":[\"100000\",\"50\"]}"
	api POST /vms -d "{\"name\":\"big2\",\"image\":\"$img\",\"mem\":\"128M\",\"args\":[\"100000\",\"50\"]}"
	api POST /vms/big1/start
	expect_code 200
	api POST /vms/big2/start
	expect_code 409
	expect_error_line
	expect_stdout "not enough memory"
	api GET /vms/big2
	expect_stdout '"state":"created"'
	t_end

	t_begin "agent: per-VM memory and CPU limits through the machine's cgroups"
	local cg vmpid cgpath
	api GET /node
	cg=$(json_field cgroup)
	api GET /vms/big1
	vmpid=$(json_field pid)
	case "$cg" in
	v1)
		cgpath=$(sed -n 's/^[0-9]*:memory://p' "/proc/$vmpid/cgroup")
		[[ "$cgpath" == */hedged-*/big1 ]] || t_fail "VM not in its memory cgroup: $cgpath"
		[ "$(cat "/sys/fs/cgroup/memory$cgpath/memory.limit_in_bytes")" = $(((128 + 64) << 20)) ] ||
			t_fail "memory limit is not 128M + 64M"
		cgpath=$(sed -n 's/^[0-9]*:\(cpu\|cpu,cpuacct\|cpuacct,cpu\)://p' "/proc/$vmpid/cgroup")
		[ "$(cat "/sys/fs/cgroup/cpu$cgpath/cpu.cfs_quota_us")" = 50000 ] ||
			t_fail "cpu quota is not half a CPU"
		;;
	v2)
		cgpath=$(sed -n 's/^0:://p' "/proc/$vmpid/cgroup")
		[ "$(cat "/sys/fs/cgroup$cgpath/memory.max")" = $(((128 + 64) << 20)) ] ||
			t_fail "memory.max is not 128M + 64M"
		;;
	*) grep -q "no usable cgroup" "$AG_DIR/hedged.log" || t_fail "no log line about missing cgroups" ;;
	esac
	t_end

	t_begin "agent: hedged restarts while a VM runs and manages it again"
	local pid
	api GET /vms/big1
	pid=$(json_field pid)
	kill -KILL "$AG_PID"
	wait "$AG_PID" 2>/dev/null
	AG_PID=""
	kill -0 "$pid" 2>/dev/null || t_fail "VM $pid died with hedged"
	ag_start || t_fail "hedged did not come back"
	api GET /vms/big1
	expect_stdout '"state":"running"'
	expect_stdout '"supervised":"adopted"'
	[ "$(json_field pid)" = "$pid" ] || t_fail "pid changed"
	api POST /vms/big1/pause
	expect_code 200
	api POST /vms/big1/stop
	expect_code 200
	expect_stdout '"state":"exited"'
	kill -0 "$pid" 2>/dev/null && t_fail "VM $pid still runs after stop"
	t_end

	t_begin "agent: bad requests get a 4xx and a one-line reason"
	api POST /vms -d '{"name": "x", '
	expect_code 400
	expect_error_line
	api POST /vms -d "{\"name\":\"ok\",\"image\":\"$img\",\"colour\":\"red\"}"
	expect_code 400
	expect_error_line
	expect_stdout "unknown field"
	api POST /vms -d "{\"name\":\"a/b\",\"image\":\"$img\"}"
	expect_code 400
	expect_error_line
	api POST /vms -d "{\"name\":\"..\",\"image\":\"$img\"}"
	expect_code 400
	api POST /vms -d "{\"name\":\"m\",\"image\":\"$img\",\"mem\":\"99G\"}"
	expect_code 400
	api POST /vms -d "{\"name\":\"r\",\"image\":\"$img\",\"restart\":\"sometimes\"}"
	expect_code 400
	api POST /vms -d "{\"name\":\"i\",\"image\":\"0000000000\"}"
	expect_code 422
	head -c 200000 /dev/zero | tr '\0' ' ' >"$AG_DIR/big.json"
	api POST /vms --data-binary @"$AG_DIR/big.json"
	expect_code 413
	expect_error_line
	api GET /vms/..%2Fetc/logs
	[ "${AG_CODE:0:1}" = 4 ] || t_fail "path traversal got $AG_CODE"
	api GET /nowhere
	expect_code 404
	expect_error_line
	api POST /vms -d "{\"name\":\"c\",\"image\":\"$img\",\"cpus\":0}"
	expect_code 400
	api POST /vms -d "{\"name\":\"c\",\"image\":\"$img\",\"snapshot\":\"s\"}"
	expect_code 400
	api GET /vms/nosuch/stats
	expect_code 404
	expect_error_line
	[ -z "$(ls "$AG_DIR/state/vms" | grep -v '\.log$')" ] || t_fail "stray files in vms/"
	t_end

	t_begin "agent: conflicting concurrent operations: exactly one wins, the rest get 409"
	api POST /vms -d "{\"name\":\"race\",\"image\":\"$img\",\"args\":[\"100000\",\"50\"]}"
	local op n
	for op in start pause resume stop; do
		: >"$AG_DIR/race-$op"
		for ((n = 0; n < 10; n++)); do
			curl -s -o /dev/null -w '%{http_code}\n' --unix-socket "$AG_SOCK" -X POST \
				"http://hedged/vms/race/$op" >>"$AG_DIR/race-$op" &
		done
		wait $(jobs -p | grep -vx "$AG_PID")
		[ "$(grep -c '^200$' "$AG_DIR/race-$op")" = 1 ] && [ "$(grep -c '^409$' "$AG_DIR/race-$op")" = 9 ] ||
			t_fail "10 parallel ${op}s: $(sort "$AG_DIR/race-$op" | uniq -c | tr '\n' ' ')"
	done
	api GET /vms/race
	expect_stdout '"state":"exited"'
	api DELETE /vms/race
	expect_code 200
	t_end

	t_begin "agent: 100 parallel creates all succeed, the database stays consistent"
	local n
	for ((n = 0; n < 100; n++)); do
		curl -s -o /dev/null -w '%{http_code}\n' --unix-socket "$AG_SOCK" \
			-d "{\"name\":\"p$n\",\"image\":\"$img\"}" http://hedged/vms >>"$AG_DIR/codes" &
	done
	wait $(jobs -p | grep -vx "$AG_PID")
	[ "$(grep -c '^201$' "$AG_DIR/codes")" = 100 ] ||
		t_fail "not all 201: $(sort "$AG_DIR/codes" | uniq -c | tr '\n' ' ')"
	api GET /vms
	[ "$(grep -o '"name":"p[0-9]*"' "$T_OUT" | sort -u | wc -l)" = 100 ] ||
		t_fail "GET /vms does not list 100 distinct p* VMs"
	python3 -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); r=c.execute("pragma integrity_check").fetchone()[0]; sys.exit(r!="ok")' \
		"$AG_DIR/state/hedged.db" || t_fail "integrity_check failed"
	t_end

	t_begin "agent: the hedge CLI: create, start, ps, logs -f, inspect, rm"
	local H="build/asan/hedge" HOST="--host unix:$AG_SOCK"
	t_run $H create $HOST --name cli1 -m 32M build/examples/counter.hvt 4 20 5
	expect_status 0
	t_run $H start $HOST cli1
	expect_status 0
	t_run $H logs $HOST -f cli1
	expect_stdout "final count=4"
	t_run $H ps $HOST
	expect_stdout "NAME"
	expect_stdout "Exited (5)"
	t_run $H inspect $HOST cli1
	expect_stdout '"exit_code":5'
	t_run $H rm $HOST cli1
	expect_status 0
	t_run $H rm $HOST cli1
	expect_status 1
	expect_one_line_error
	expect_stderr "no such VM"
	t_run $H ps --host unix:"$AG_DIR/nowhere"
	expect_status 2
	t_run $H snapshot $HOST ../x s1
	expect_status 64
	t_run $H migrate $HOST cli1
	expect_status 64
	t_run $H stats $HOST a/b
	expect_status 64
	t_run $H create --help
	expect_status 0
	expect_stdout "Usage: hedge create --name NAME"
	expect_no_stdout "hedge ps"
	local c
	for c in ps images start stop kill pause resume rm inspect logs stats snapshot snapshots \
		migrate pull push; do
		t_run $H "$c" --help
		expect_status 0
		expect_stdout "Usage: hedge $c"
	done
	t_end

	t_begin "agent: a VM on a TAP in a namespace answers HTTP; bad network settings get 400"
	local ns=hag$$ tap=hagt$$ web
	tap=${tap:0:15}
	ip netns add "$ns" || t_fail "cannot create netns $ns"
	ip -n "$ns" tuntap add dev "$tap" mode tap && ip -n "$ns" addr add 10.79.0.1/24 dev "$tap" &&
		ip -n "$ns" link set "$tap" up || t_fail "cannot create $tap in $ns"
	api POST /images --data-binary @build/examples/net_http.hvt
	web=$(json_field id)
	api POST /vms -d "{\"name\":\"web\",\"image\":\"$web\",\"mem\":\"16M\",\"args\":[\"8080\"],\"net\":{\"tap\":\"$tap\",\"ip\":\"10.79.0.2/24\",\"gw\":\"10.79.0.1\",\"mac\":\"02:00:00:79:00:02\",\"netns\":\"$ns\"}}"
	expect_code 201
	expect_stdout '"netns":"'"$ns"'"'
	api POST /vms/web/start
	expect_code 200
	local got=""
	for ((i = 0; i < 100; i++)); do
		got=$(timeout 10 ip netns exec "$ns" curl -s --max-time 2 http://10.79.0.2:8080/ 2>/dev/null) && [ -n "$got" ] && break
		sleep 0.1
	done
	[ -n "$got" ] || t_fail "the VM did not answer HTTP: $(tail -n 3 "$AG_DIR/state/vms/web.log")"
	api GET /vms/web/stats
	expect_code 200
	expect_stdout '"pss_bytes":'
	[ "$(sed -n 's/.*"guest_touched_bytes":\([0-9]*\).*/\1/p' "$T_OUT")" -gt 0 ] 2>/dev/null ||
		t_fail "no guest pages touched: $(cat "$T_OUT")"
	api GET /metrics
	expect_stdout 'hedge_vm_memory_pss_bytes{vm="web"}'
	expect_stdout 'hedge_vm_cpu_seconds_total{vm="web"}'
	expect_stdout 'hedge_vm_boot_milliseconds_bucket{le="+Inf"}'
	t_run build/asan/hedge stats --host "unix:$AG_SOCK" web
	expect_status 0
	expect_stdout "PSS"
	expect_stdout "web"
	api POST /vms/web/stop
	expect_code 200
	local bad
	for bad in '"tap":"a/b"' '"tap":"waytoolongtapname0"' '"tap":"t","ip":"10.0.0.300/24"' \
		'"tap":"t","ip":"10.0.0.2"' '"tap":"t","ip":"10.0.0.2/33"' '"tap":"t","gw":"10.0.0.1/24"' \
		'"tap":"t","mac":"01:00:00:00:00:01"' '"tap":"t","mac":"zz:00:00:00:00:01"' \
		'"netns":"../x"' '"ip":"10.0.0.2/24"' '"tap":"t","colour":"red"' '"tap":7'; do
		api POST /vms -d "{\"name\":\"nb\",\"image\":\"$web\",\"net\":{$bad}}"
		expect_code 400
		expect_error_line
	done
	t_run build/asan/hedge create --host "unix:$AG_SOCK" --name web2 --net "tap:$tap" --ip 10.79.0.3/24 --netns "$ns" "$web" 8080
	expect_status 0
	api GET /vms/web2
	expect_stdout '"ip":"10.79.0.3/24"'
	t_run build/asan/hedge create --host "unix:$AG_SOCK" --name web3 --net "tap:$tap" --ip 10.79.0.300/24 "$web"
	expect_status 1
	expect_stderr "bad \\\"ip\\\""
	ip netns del "$ns"
	t_end

	t_begin "agent: snapshot through the API, a VM restored from it counts on"
	api POST /vms -d "{\"name\":\"snapsrc\",\"image\":\"$img\",\"args\":[\"100000\",\"20\"]}"
	api POST /vms/snapsrc/start
	expect_code 200
	for ((i = 0; i < 100; i++)); do
		grep -q 'count=3' "$AG_DIR/state/vms/snapsrc.log" && break
		sleep 0.05
	done
	api POST /vms/snapsrc/snapshot -d '{"name":"s1","stop":true}'
	expect_code 201
	expect_stdout '"name":"s1"'
	api GET /vms/snapsrc
	expect_stdout '"state":"paused"'
	api POST /vms/snapsrc/snapshot -d '{"name":"s1"}'
	expect_code 409
	expect_error_line
	api POST /vms/snapsrc/snapshot -d '{"name":"../s2"}'
	expect_code 400
	api POST /vms/snapsrc/snapshot -d '{"name":"s3","paths":"/"}'
	expect_code 400
	expect_stdout "unknown field"
	api GET /snapshots
	expect_stdout '"vm":"snapsrc"'
	local last
	last=$(grep -o 'count=[0-9]*' "$AG_DIR/state/vms/snapsrc.log" | tail -n 1 | cut -d= -f2)
	api POST /vms/snapsrc/stop
	api POST /vms -d '{"name":"restored","snapshot":"s1"}'
	expect_code 201
	expect_stdout '"snapshot":"s1"'
	api POST /vms -d '{"name":"r2","snapshot":"s1","args":["1"]}'
	expect_code 400
	api POST /vms -d '{"name":"r3","snapshot":"nosuch"}'
	expect_code 422
	api POST /vms/restored/start
	expect_code 200
	local next=""
	for ((i = 0; i < 100; i++)); do
		next=$(grep -o 'count=[0-9]*' "$AG_DIR/state/vms/restored.log" | head -n 1 | cut -d= -f2)
		[ -n "$next" ] && break
		sleep 0.05
	done
	[ -n "$next" ] && [ "$next" -gt "${last:-0}" ] || t_fail "restored VM counts from '$next', source stopped at '$last'"
	api DELETE /snapshots/s1
	expect_code 409
	api POST /vms/restored/stop
	api DELETE /vms/restored
	t_run build/asan/hedge create --host "unix:$AG_SOCK" --name restored2 --snapshot s1
	expect_status 0
	t_run build/asan/hedge start --host "unix:$AG_SOCK" restored2
	expect_status 0
	expect_stdout "restored2 running"
	t_run build/asan/hedge kill --host "unix:$AG_SOCK" restored2
	t_run build/asan/hedge rm --host "unix:$AG_SOCK" restored2
	expect_status 0
	t_run build/asan/hedge snapshots --host "unix:$AG_SOCK"
	expect_stdout "s1"
	t_run build/asan/hedge snapshots --host "unix:$AG_SOCK" rm s1
	expect_status 0
	api GET /snapshots/s1
	expect_code 404
	t_end

	t_begin "agent: migration through the API to a hedge run --incoming on 127.0.0.1"
	local port=$((20000 + $$ % 20000)) tgt_pid
	build/hedge run --incoming "tcp:127.0.0.1:$port" --incoming-timeout 30 >"$AG_DIR/target.log" 2>&1 &
	tgt_pid=$!
	api POST /vms -d "{\"name\":\"mover\",\"image\":\"$img\",\"args\":[\"100000\",\"20\"],\"restart\":\"always\"}"
	api POST /vms/mover/start
	api POST /vms/mover/migrate -d '{"to":"tcp:127.0.0.1"}'
	expect_code 400
	api POST /vms/mover/migrate -d '{"to":"tcp:127.0.0.1:1","x":1}'
	expect_code 400
	for ((i = 0; i < 100; i++)); do
		ss -ltn | grep -q ":$port " && break
		sleep 0.05
	done
	api POST /vms/mover/migrate -d "{\"to\":\"tcp:127.0.0.1:$port\"}"
	expect_code 200
	expect_stdout '"downtime_ms"'
	api GET /vms/mover
	expect_stdout '"state":"exited"'
	expect_stdout "migrated to tcp:127.0.0.1:$port"
	for ((i = 0; i < 100; i++)); do
		grep -q 'count=' "$AG_DIR/target.log" && break
		sleep 0.05
	done
	grep -q 'count=' "$AG_DIR/target.log" || t_fail "the target does not count: $(head -c 300 "$AG_DIR/target.log")"
	kill "$tgt_pid" 2>/dev/null
	wait "$tgt_pid" 2>/dev/null
	api POST /vms/mover/start
	expect_code 200
	t_run build/asan/hedge migrate --host "unix:$AG_SOCK" mover --to "tcp:127.0.0.1:$port"
	expect_status 1
	expect_one_line_error
	expect_stderr "migration failed"
	api GET /vms/mover
	expect_stdout '"state":"running"'
	t_end

	# The target takes the VM over but its RUNNING never arrives: the monitor
	# keeps its copy paused (the target may run it), and the agent says so.
	t_begin "agent: a migration left in doubt leaves the VM paused, and the agent says paused"
	local dport=$((20000 + ($$ + 3) % 20000)) pport=$((20000 + ($$ + 5) % 20000)) proxy_pid
	build/hedge run --incoming "tcp:127.0.0.1:$dport" --incoming-timeout 30 >"$AG_DIR/target2.log" 2>&1 &
	tgt_pid=$!
	tcp_proxy "$pport" "$dport" cut-running
	proxy_pid=$TCP_PROXY_PID
	t_wait ag_listening "$dport" || t_fail "the target never listened"
	t_wait ag_listening "$pport" || t_fail "the proxy never listened"
	api POST /vms/mover/migrate -d "{\"to\":\"tcp:127.0.0.1:$pport\"}"
	expect_code 502
	expect_error_line
	expect_stdout "migration in doubt, the VM is paused here"
	api GET /vms/mover
	expect_stdout '"state":"paused"'
	t_wait grep -q 'count=' "$AG_DIR/target2.log" || t_fail "the target does not run the VM"
	kill "$tgt_pid" "$proxy_pid" 2>/dev/null
	wait "$tgt_pid" 2>/dev/null
	wait "$proxy_pid" 2>/dev/null
	api POST /vms/mover/kill
	expect_code 200
	t_end

	# The proxy holds the target's READY back, so the migration is certainly
	# under way (the VM paused, the source waiting) while it is looked at.
	t_begin "agent: a migration under way shows its progress in GET /vms/NAME and hedge migrate"
	local wport=$((20000 + ($$ + 11) % 20000)) xport=$((20000 + ($$ + 13) % 20000)) mig_pid
	rm -f "$AG_DIR/release" "$AG_DIR/release.held"
	build/hedge run --incoming "tcp:127.0.0.1:$wport" --incoming-timeout 30 >"$AG_DIR/target3.log" 2>&1 &
	tgt_pid=$!
	tcp_proxy "$xport" "$wport" "hold-ready:$AG_DIR/release"
	proxy_pid=$TCP_PROXY_PID
	t_wait ag_listening "$wport" || t_fail "the target never listened"
	t_wait ag_listening "$xport" || t_fail "the proxy never listened"
	api POST /vms -d "{\"name\":\"watched\",\"image\":\"$img\",\"args\":[\"100000\",\"20\"]}"
	api POST /vms/watched/start
	expect_code 200
	build/asan/hedge migrate --host "unix:$AG_SOCK" watched --to "tcp:127.0.0.1:$xport" --progress \
		>"$AG_DIR/mig.out" 2>"$AG_DIR/mig.err" &
	mig_pid=$!
	t_wait test -e "$AG_DIR/release.held" || t_fail "the target never said READY"
	api GET /vms/watched
	expect_stdout '"state":"migrating"'
	expect_stdout '"migration":{'
	expect_stdout '"phase":"waiting"'
	grep -q '"bytes":[1-9]' "$T_OUT" || t_fail "no bytes in the progress: $(cat "$T_OUT")"
	t_wait grep -q "migrating watched: .* MiB sent, waiting for the target" "$AG_DIR/mig.err" ||
		t_fail "hedge migrate showed no progress: $(cat "$AG_DIR/mig.err")"
	touch "$AG_DIR/release"
	wait "$mig_pid" || t_fail "hedge migrate failed: $(cat "$AG_DIR/mig.err")"
	grep -q "downtime" "$AG_DIR/mig.out" || t_fail "no result: $(cat "$AG_DIR/mig.out")"
	api GET /vms/watched
	expect_stdout '"state":"exited"'
	expect_no_stdout '"migration"'
	t_wait grep -q 'count=' "$AG_DIR/target3.log" || t_fail "the target does not run the VM"
	kill "$tgt_pid" "$proxy_pid" 2>/dev/null
	wait "$tgt_pid" 2>/dev/null
	wait "$proxy_pid" 2>/dev/null
	t_end

	t_begin "agent: pull and push images between two agents, one over TCP with a token"
	local tok=$AG_DIR/token tport=$((20000 + ($$ + 7) % 20000)) pid2
	head -c 24 /dev/urandom | base64 | tr -d '/+=' >"$tok"
	"$AG_BIN" --state-dir "$AG_DIR/state2" --socket "$AG_DIR/api2.sock" --foreground \
		--listen-tcp "127.0.0.1:$tport" >"$AG_DIR/hedged2.log" 2>&1
	[ $? = 1 ] || t_fail "hedged started TCP without a token"
	grep -q "needs --token-file" "$AG_DIR/hedged2.log" || t_fail "no reason for refusing TCP"
	"$AG_BIN" --state-dir "$AG_DIR/state2" --socket "$AG_DIR/api2.sock" --foreground \
		--listen-tcp "127.0.0.1:$tport" --token-file "$tok" >>"$AG_DIR/hedged2.log" 2>&1 &
	pid2=$!
	for ((i = 0; i < 100; i++)); do
		curl -s -o /dev/null "http://127.0.0.1:$tport/node" && break
		sleep 0.1
	done
	[ "$(curl -s -o "$T_OUT" -w '%{http_code}' "http://127.0.0.1:$tport/node")" = 401 ] ||
		t_fail "no token: not 401"
	expect_error_line
	[ "$(curl -s -o "$T_OUT" -w '%{http_code}' -H "Authorization: Bearer wrong$(cat "$tok")" "http://127.0.0.1:$tport/node")" = 401 ] ||
		t_fail "wrong token: not 401"
	[ "$(curl -s -o "$T_OUT" -w '%{http_code}' -H "Authorization: Bearer $(cat "$tok")" "http://127.0.0.1:$tport/node")" = 200 ] ||
		t_fail "right token: not 200"
	expect_stdout '"tcp":true'
	t_run build/asan/hedge push --host "unix:$AG_SOCK" --to "tcp://127.0.0.1:$tport" --token-file "$tok" "$img" --json
	expect_status 0
	expect_stdout "\"id\":\"$img\""
	t_run build/asan/hedge images --host "tcp://127.0.0.1:$tport" --token-file "$tok"
	expect_status 0
	expect_stdout "${img:0:12}"
	t_run build/asan/hedge ps --host "tcp://127.0.0.1:$tport"
	expect_status 64
	HEDGED_TOKEN=nottheone t_run build/asan/hedge ps --host "tcp://127.0.0.1:$tport"
	expect_status 1
	expect_stderr "401"
	t_run build/asan/hedge pull --host "unix:$AG_DIR/api2.sock" build/wasm/hello.wasm --progress
	expect_status 0
	local wid
	wid=$(cat "$T_OUT")
	t_run build/asan/hedge pull --host "unix:$AG_SOCK" --from "tcp://127.0.0.1:$tport" --token-file "$tok" "${wid:0:12}"
	expect_status 0
	expect_stdout "$wid"
	api GET "/images/$wid/content"
	expect_code 200
	cmp -s "$T_OUT" build/wasm/hello.wasm || t_fail "the pulled wasm differs"
	t_end

	t_begin "agent: migration between two agents: an incoming VM waits on the second"
	local T2="--host tcp://127.0.0.1:$tport --token-file $tok" iport=$((20000 + ($$ + 13) % 20000))
	t_run build/asan/hedge create $T2 --name arrival -m 32M --incoming "tcp:127.0.0.1:$iport" "$img"
	expect_status 0
	t_run build/asan/hedge create $T2 --name arrival2 --incoming "tcp:127.0.0.1:$iport" "$img"
	expect_status 1
	expect_stderr "needs \\\"mem\\\""
	t_run build/asan/hedge start $T2 arrival
	expect_status 0
	api POST /vms -d "{\"name\":\"leaver\",\"image\":\"$img\",\"args\":[\"100000\",\"20\"]}"
	api POST /vms/leaver/start
	for ((i = 0; i < 100; i++)); do
		ss -ltn | grep -q ":$iport " && break
		sleep 0.05
	done
	t_run build/asan/hedge migrate --host "unix:$AG_SOCK" leaver --to "tcp:127.0.0.1:$iport" --json
	expect_status 0
	expect_stdout '"downtime_ms"'
	for ((i = 0; i < 100; i++)); do
		grep -q 'count=' "$AG_DIR/state2/vms/arrival.log" && break
		sleep 0.05
	done
	grep -q 'count=' "$AG_DIR/state2/vms/arrival.log" || t_fail "the arrival does not count"
	t_run build/asan/hedge inspect $T2 arrival
	expect_stdout '"state":"running"'
	expect_stdout '"incoming":"tcp:127.0.0.1:'"$iport"'"'
	t_run build/asan/hedge stop $T2 arrival
	expect_stdout "arrival exited"
	api GET /vms/leaver
	expect_stdout '"state":"exited"'
	kill -TERM "$pid2"
	wait "$pid2" 2>/dev/null
	t_end

	# A VM left running by a failed case ends here, by the pid hedged recorded.
	api GET /vms
	local p
	for p in $(grep -o '"pid":[0-9]*' "$T_OUT" | cut -d: -f2); do
		kill -KILL -- "-$p" 2>/dev/null
	done
	ag_stop
	grep -q 'ERROR: AddressSanitizer\|ERROR: LeakSanitizer\|runtime error' "$AG_DIR/hedged.log" &&
		{ t_begin "agent: no sanitizer reports"; t_fail "$(grep -m3 'ERROR\|runtime error' "$AG_DIR/hedged.log")"; t_end; }
}

if [ ! -x "$AG_BIN" ]; then
	t_skip "agent tests: $AG_BIN not built (needs libmicrohttpd-dev, libjansson-dev)"
elif [ -e /dev/kvm ]; then
	agent_cases
	ag_stop
else
	t_skip "agent tests"
fi
