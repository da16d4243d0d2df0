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
	api POST /vms -d "{\"name\":\"big1\",\"image\":\"$img\",\"mem\":\"128M\",\"args\":[\"100000\",\"50\"]}"
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
	[ -z "$(ls "$AG_DIR/state/vms" | grep -v '\.log$')" ] || t_fail "stray files in vms/"
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
	t_run $H create --help
	expect_status 0
	expect_stdout "Usage: hedge ps"
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
