#!/usr/bin/env bash
# bench/density.sh - how fast hedged brings N web-serving unikernels up, and
# what each costs the host.
#
# Through hedged's API (its unix socket): N VMs of examples/c/net_http.c,
# each on its own TAP with its own IP in one /16, in a network namespace
# this script creates; the TAPs routed one by one (default) or all on one
# bridge (DENSITY_NET=bridge).  All N starts are sent in parallel
# (DENSITY_PARALLEL at a time, default 16: more in flight only queue up in
# the kernel and make every boot slower); each VM then counts as up once it
# has answered an HTTP GET from inside the namespace.  Prints total time, VMs/s, host memory
# per VM (PSS of its monitor from smaps_rollup, which includes the guest
# pages touched, shown apart), and the distribution of boot times (the
# agent's spawn-to-control-socket, and start-request-to-first-HTTP-answer).
# Baseline in the same run: one VM started alone, to HTTP answer; the ratio
# of the median under load to it is printed.  Then every VM is stopped and
# deleted and the namespace, TAPs and the agent's state are removed.
#
#   bash bench/density.sh [N] [MEM]      (as root, with /dev/kvm; N default 100,
#                                         MEM per VM default 8M)
#   DENSITY_PARALLEL=64 bash bench/density.sh 1000
#   DENSITY_NET=bridge bash bench/density.sh 500   (all TAPs on one bridge)
set -u
cd "$(dirname "$0")/.."

N=${1:-100}
MEM=${2:-8M}
PARALLEL=${DENSITY_PARALLEL:-16}
NET_MODE=${DENSITY_NET:-routed}
NS=hedge-dn$$
DIR=$(mktemp -d /tmp/hedge-density.XXXXXX)
SOCK=$DIR/api.sock
AGENT_PID=""

say() { printf '%s\n' "density: $*" >&2; }

cleanup() {
	# VMs left by an interrupted run (they outlive hedged): by the pids it recorded.
	if [ -n "$AGENT_PID" ]; then
		curl -s --max-time 10 --unix-socket "$SOCK" http://hedged/vms 2>/dev/null |
			python3 -c 'import json,sys; [print(v["pid"]) for v in json.load(sys.stdin) if v["pid"]]' 2>/dev/null |
			while read -r p; do kill -KILL -- "-$p" 2>/dev/null; done
		kill -TERM "$AGENT_PID" 2>/dev/null
		wait "$AGENT_PID" 2>/dev/null
	fi
	ip netns del "$NS" 2>/dev/null
	rm -rf "$DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[ -e /dev/kvm ] || { echo "SKIP: no /dev/kvm"; exit 0; }
[ "$(id -u)" = 0 ] || { echo "density: needs root (network namespace, TAPs)" >&2; exit 1; }
case "$NET_MODE" in bridge | routed) ;; *) echo "density: DENSITY_NET is bridge or routed" >&2; exit 64 ;; esac
[[ "$N" =~ ^[0-9]+$ ]] && [ "$N" -ge 1 ] && [ "$N" -le 60000 ] ||
	{ echo "density: N must be 1..60000" >&2; exit 64; }
for f in build/hedged build/hedge build/examples/net_http.hvt; do
	[ -x "$f" ] || [ -f "$f" ] || { echo "density: $f missing (make)" >&2; exit 1; }
done

# --- the network: N+1 TAPs (one for the baseline VM) in 10.<x>.0.0/16 ---
# bridge: all TAPs on one bridge holding 10.x.0.1.  routed: the host's
# 10.x.0.1 on lo and a /32 route per guest through its TAP, so
# that ARP requests (the host's for each guest, each guest's for 10.x.0.1)
# stay on one TAP instead of being flooded to all N guests.
net=$((100 + $$ % 100))
say "creating namespace $NS: $((N + 1)) TAPs in 10.$net.0.0/16, $NET_MODE"
ip netns add "$NS" || exit 1
{
	echo "link set lo up"
	if [ "$NET_MODE" = bridge ]; then
		echo "link add hbr0 type bridge"
		echo "addr add 10.$net.0.1/16 dev hbr0"
		echo "link set hbr0 up"
	else
		echo "addr add 10.$net.0.1/32 dev lo"
	fi
	for ((i = 0; i <= N; i++)); do
		echo "tuntap add dev dt$i mode tap"
		if [ "$NET_MODE" = bridge ]; then
			echo "link set dt$i master hbr0 up"
		else
			echo "link set dt$i up"
			echo "route add 10.$net.$((i / 250)).$((i % 250 + 2))/32 dev dt$i src 10.$net.0.1"
		fi
	done
} >"$DIR/ip.batch"
ip -n "$NS" -batch "$DIR/ip.batch" || exit 1

# --- the agent ---
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
build/hedged --state-dir "$DIR/state" --socket "$SOCK" --foreground --stop-timeout 5 \
	>"$DIR/hedged.log" 2>&1 &
AGENT_PID=$!
for ((i = 0; i < 100; i++)); do
	curl -s --unix-socket "$SOCK" -o /dev/null http://hedged/node && break
	sleep 0.1
done
curl -s --unix-socket "$SOCK" -o /dev/null http://hedged/node ||
	{ echo "density: hedged did not start: $(cat "$DIR/hedged.log")" >&2; exit 1; }

# --- the driver: inside the namespace (the unix socket reaches the agent from anywhere) ---
cat >"$DIR/driver.py" <<'PY'
import concurrent.futures as cf, http.client, json, os, resource, socket, sys, time

sock, n, mem, net, parallel, image = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5]), sys.argv[6]
netns, agent_pid = sys.argv[7], int(sys.argv[8])

def cpu_of(pid):
    """User + system CPU seconds of a process (its own threads, not its children)."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

class Unix(http.client.HTTPConnection):
    def __init__(self):
        super().__init__("hedged", timeout=120)
    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(120)
        self.sock.connect(sock)

def api(method, path, body=None):
    c = Unix()
    c.request(method, path, body=json.dumps(body) if body is not None else None,
              headers={"Content-Type": "application/json"} if body is not None else {})
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, json.loads(data) if data else None

def log(msg):
    print("density: " + msg, file=sys.stderr, flush=True)

def addr(i):
    # 10.net.A.B: B in 2..251 so no .0/.255 host part in any /24 view
    return "10.%s.%d.%d" % (net, i // 250, i % 250 + 2)

def http_up(ip, deadline):
    """Polls ip:80 with GET / until an HTTP answer comes; the time it came, or None."""
    while time.monotonic() < deadline:
        s = socket.socket()
        s.settimeout(0.5)
        try:
            s.connect((ip, 80))
            s.sendall(b"GET / HTTP/1.0\r\n\r\n")
            if s.recv(16).startswith(b"HTTP/"):
                return time.monotonic()
        except OSError:
            pass
        finally:
            s.close()
        time.sleep(0.005)
    return None

def create(i):
    st, body = api("POST", "/vms", {"name": "d%d" % i, "image": image, "mem": mem, "args": ["80"],
                                    "net": {"tap": "dt%d" % i, "ip": addr(i) + "/16", "netns": netns}})
    if st != 201:
        raise SystemExit("create d%d: %s %s" % (i, st, body))

def start_and_wait(i):
    t0 = time.monotonic()
    st, body = api("POST", "/vms/d%d/start" % i)
    if st != 200 or body.get("state") != "running":
        return i, t0, None, None, "start: %s %s" % (st, body)
    up = http_up(addr(i), t0 + 60)
    return i, t0, up, body.get("boot_ms"), None if up else "no HTTP answer in 60 s"

def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))]

# Baseline: VM n (the spare TAP) alone.
create(n)
_, t0, up, boot, err = start_and_wait(n)
if err:
    raise SystemExit("baseline VM: " + err)
alone_ms = (up - t0) * 1000
log("baseline: one VM alone answered HTTP %.1f ms after its start request (boot %.1f ms)" % (alone_ms, boot))
api("POST", "/vms/d%d/stop" % n)

log("creating %d VMs (%s each)" % (n, mem))
with cf.ThreadPoolExecutor(32) as ex:
    list(ex.map(create, range(n)))

log("starting %d VMs, %d requests in flight" % (n, parallel))
results, failed = [], []
agent_cpu0, self_cpu0 = cpu_of(agent_pid), time.process_time()
t_start = time.monotonic()
with cf.ThreadPoolExecutor(parallel) as ex:
    futs = [ex.submit(start_and_wait, i) for i in range(n)]
    for k, f in enumerate(cf.as_completed(futs), 1):
        i, t0, up, boot, err = f.result()
        (failed if err else results).append((i, t0, up, boot, err))
        if k % max(1, n // 10) == 0 or k == n:
            log("%d/%d serving (%.2f s)" % (len(results), n, time.monotonic() - t_start))
t_total = max(r[2] for r in results) - t_start if results else float("nan")
agent_cpu, self_cpu = cpu_of(agent_pid) - agent_cpu0, time.process_time() - self_cpu0

log("reading memory of %d monitors" % len(results))
pss, guest, rss = [], [], []
for i, *_ in results:
    st, s = api("GET", "/vms/d%d/stats" % i)
    if st == 200 and s.get("usage"):
        pss.append(s["usage"]["pss_bytes"]); guest.append(s["usage"]["guest_touched_bytes"]); rss.append(s["usage"]["rss_bytes"])
st, node = api("GET", "/node")

up_ms = [(r[2] - r[1]) * 1000 for r in results]
boot_ms = [r[3] for r in results if r[3] is not None]
mib = 1 / 1048576
print("VMs serving:              %d of %d%s" % (len(results), n, "" if not failed else "  (failed: %s)" % "; ".join("d%d %s" % (f[0], f[4]) for f in failed[:3])))
print("total time to all serving: %.2f s   (%d start requests in flight)" % (t_total, parallel))
print("VMs/s:                    %.1f" % (len(results) / t_total))
if pss:
    print("host memory per VM (MiB): PSS mean %.2f  median %.2f  max %.2f  (guest pages touched %.2f, monitor %.2f; RSS %.2f)" % (
        sum(pss) / len(pss) * mib, pct(pss, 50) * mib, max(pss) * mib, sum(guest) / len(guest) * mib,
        (sum(pss) - sum(guest)) / len(pss) * mib, sum(rss) / len(rss) * mib))
print("boot, spawn to control socket (ms): p50 %.1f  p90 %.1f  max %.1f" % (pct(boot_ms, 50), pct(boot_ms, 90), max(boot_ms)))
print("start request to HTTP answer (ms):  p50 %.1f  p90 %.1f  max %.1f" % (pct(up_ms, 50), pct(up_ms, 90), max(up_ms)))
print("baseline, one VM alone (ms):        %.1f   -> median under load / alone = %.2f" % (alone_ms, pct(up_ms, 50) / alone_ms))
print("CPU during the start: hedged %.2f s, this driver (HTTP polling) %.2f s" % (agent_cpu, self_cpu))
print("node: %d CPUs, MemAvailable %.0f MiB after the start" % (node["cpus"], node["mem_available"] * mib))

log("stopping and deleting %d VMs" % (n + 1))
def stop(i):
    api("POST", "/vms/d%d/stop" % i)
    api("DELETE", "/vms/d%d" % i)
with cf.ThreadPoolExecutor(parallel) as ex:
    list(ex.map(stop, range(n + 1)))
st, vms = api("GET", "/vms")
if st != 200 or vms:
    raise SystemExit("VMs left: %s" % " ".join(v["name"] for v in vms[:5]))
sys.exit(1 if failed else 0)
PY

ID=$(curl -s --unix-socket "$SOCK" --data-binary @build/examples/net_http.hvt http://hedged/images |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])') ||
	{ echo "density: upload failed" >&2; exit 1; }
say "N=$N, $MEM per VM, $NET_MODE, $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
ip netns exec "$NS" python3 "$DIR/driver.py" "$SOCK" "$N" "$MEM" "$net" "$PARALLEL" "$ID" "$NS" "$AGENT_PID"
status=$?
say "done (status $status); removing the namespace and the agent's state"
exit "$status"
