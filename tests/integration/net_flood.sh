# tests/integration/net_flood.sh - a guest flooding the network must not stall
# its monitor: the control socket keeps answering while the monitor moves
# hundreds of thousands of frames, and the VM still ends on time.  Traffic
# stays inside a namespace this suite creates and removes.

flood_case() {
	local ns=hedge-fl$$ tap=hfl0 sock=$T_TMP/flood.sock log=$T_TMP/flood.log pid i
	t_begin "net: a flooding guest does not stall its monitor"
	netns_create "$ns" || t_fail "cannot create namespace $ns"
	timeout -k 5 60 build/hedge run --netns "$ns" --net "tap:$tap" --ip 10.97.0.2/24 \
		--api-sock "$sock" $EX/net_flood.hvt 4 >"$log" 2>&1 </dev/null &
	pid=$!
	for ((i = 0; i < 200; i++)); do
		grep -q "flooding" "$log" && [ -S "$sock" ] && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.02
	done
	netns_tap "$ns" "$tap" 10.97.0.1/24 "$pid" || t_fail "the TAP device did not appear"
	# The guest began before the host end had an address; its ARP request went
	# unanswered.  A ping teaches it our MAC, and it answers even mid-flood.
	timeout 10 ip netns exec "$ns" ping -c 2 -W 2 10.97.0.2 >/dev/null ||
		t_fail "the flooding guest does not answer ping"
	# While it floods, the control socket answers every time.
	local answered=0 packets=0
	for ((i = 0; i < 40 && answered < 5; i++)); do
		if timeout 5 build/hedge vm status --api-sock "$sock" >"$T_OUT" 2>"$T_ERR"; then
			grep -q running "$T_OUT" && answered=$((answered + 1))
		fi
		packets=$(ip -n "$ns" -s link show "$tap" 2>/dev/null | awk '/RX:/ {getline; print $2; exit}')
		sleep 0.1
	done
	[ "$answered" -ge 5 ] || t_fail "the control socket answered $answered times out of 5"
	[ "${packets:-0}" -gt 10000 ] || t_fail "only ${packets:-0} frames reached the host: no flood"
	wait "$pid"
	T_STATUS=$?
	cp "$log" "$T_OUT"
	expect_status 0
	expect_stdout "net_flood: sent"
	netns_cleanup "$ns"
	t_end
}

if [ ! -e /dev/kvm ]; then
	t_skip "network flood test"
else
	flood_case
fi
