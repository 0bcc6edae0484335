#!/usr/bin/env bash
# Chaos on a three-node JetStream cluster (issue 19): three nats-server
# nodes on loopback (internal/cmd/natsd), the queue, its lease bucket and
# the output stream at replicas 3; $N URLs (default 30,000) over 48 local
# hosts answering after 50 ms, worked by 3 workers with -c 16 and
# --host-concurrency 1. While they work:
#   - every 2 s one worker, in turn, is killed with SIGKILL and started again;
#   - once a quarter of the records are out, a node that does not lead the
#     queue stream is killed with SIGKILL, and started again 3 s later on
#     the same store;
#   - once half are out, the node that leads the queue stream is killed the
#     same way.
# Then it checks the output stream: every input message (stream sequence
# 1..N) is there exactly once. Politeness: from each record's --trace start
# and elapsed time, the moments when one host had requests from two workers
# at once (with --host-concurrency 1 a single worker never overlaps itself),
# and how many of them fall outside the windows after each kill (lease + 1 s
# after a worker kill, 10 s after a node kill).
# Not part of CI (TestQueueCluster runs a shorter version). Usage:
#   bash bench/queue-chaos.sh   (N=30000 to change; LOGS=DIR keeps the logs)
source "$(dirname "$0")/lib.sh"
n=${N:-30000}
build sluice . site ./internal/cmd/site natsd ./internal/cmd/natsd natscat ./internal/cmd/natscat
"$work/site" -ports 48 > "$work/hosts" &
server_pids+=($!)
for _ in $(seq 100); do [ "$(wc -l < "$work/hosts")" = 48 ] && break; sleep 0.05; done
awk -v n="$n" 'NR == FNR { h[k++] = $0; next } END { for (i = 0; i < n; i++) print h[i % k] "/slow/50?i=" i }' \
	"$work/hosts" /dev/null > "$work/urls"

# Six free loopback ports: three for clients, three for routes.
read -r -a ports < <(python3 -c 'import socket
ss = [socket.socket() for _ in range(6)]
for s in ss: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in ss))')
routes=nats://127.0.0.1:${ports[3]},nats://127.0.0.1:${ports[4]},nats://127.0.0.1:${ports[5]}
servers=nats://127.0.0.1:${ports[0]},127.0.0.1:${ports[1]},127.0.0.1:${ports[2]}
declare -A node_pid
node() { # node I: start node nI (again) on its store
	"$work/natsd" -name "n$1" -port "${ports[$1 - 1]}" -cluster "${ports[$1 + 2]}" -routes "$routes" \
		-store "$work/store$1" > /dev/null 2>> "$work/natsd.log" &
	node_pid[$1]=$!
	server_pids+=($!)
}
for i in 1 2 3; do node "$i"; done
log() { echo "$(date +%s.%N) $*" >> "$work/events"; echo "$*" >&2; }
# natscat ARGS: tried again for a while, since a node just started may take
# connections before its JetStream answers.
natscat() {
	for _ in $(seq 20); do "$work/natscat" -server "$servers" "$@" 2> /dev/null && return; sleep 0.5; done
	"$work/natscat" -server "$servers" "$@"
}
count() { natscat -stream CHAOSOUT -count; }

"$work/sluice" enqueue --to "$servers/CHAOS/chaos?replicas=3" < "$work/urls"
declare -A worker_pid
worker() { # worker I: start worker I (again)
	"$work/sluice" --in "$servers/CHAOS/chaos?idle=3s&lease=2s&ack_wait=5s" --out "$servers/chaosout?replicas=3" \
		-c 16 --host-concurrency 1 --trace -v 2>> "$work/worker$1.log" &
	worker_pid[$1]=$!
	server_pids+=($!)
}
t0=$EPOCHREALTIME
for i in 1 2 3; do worker "$i"; done
log "start"

kill_node() { # kill_node I WHAT
	log "SIGKILL node n$1 ($2)"
	kill -KILL "${node_pid[$1]}"
	wait "${node_pid[$1]}" 2> /dev/null || true
	sleep 3
	node "$1"
	log "node n$1 started again"
}
next=1 quarter=0 half=0 kills=0
for _ in $(seq 150); do # at most 5 minutes
	sleep 2
	done_=$(count)
	[ "$done_" -ge "$n" ] && break
	if [ "$quarter" = 0 ] && [ "$done_" -ge $((n / 4)) ]; then
		quarter=1
		leader=$(natscat -stream CHAOS -leader)
		for i in 1 2 3; do [ "n$i" != "$leader" ] && { kill_node "$i" "not the leader, $done_ records out"; break; }; done
		continue
	fi
	if [ "$half" = 0 ] && [ "$done_" -ge $((n / 2)) ]; then
		half=1
		leader=$(natscat -stream CHAOS -leader)
		kill_node "${leader#n}" "the queue stream's leader, $done_ records out"
		continue
	fi
	log "SIGKILL worker $next ($done_ records out)"
	kill -KILL "${worker_pid[$next]}"
	wait "${worker_pid[$next]}" 2> /dev/null || true
	kills=$((kills + 1))
	worker "$next"
	next=$((next % 3 + 1))
done
t1=$EPOCHREALTIME
log "all $n records out"
for i in 1 2 3; do wait "${worker_pid[$i]}" || echo "worker $i exited $?" >&2; done
for _ in $(seq 20); do "$work/natscat" -server "$servers" -stream CHAOSOUT > "$work/out.ndjson" && break; sleep 0.5; done
if [ -n "${LOGS:-}" ]; then mkdir -p "$LOGS" && cp "$work"/{events,worker*.log,natsd.log,out.ndjson} "$LOGS/"; fi

python3 - "$work/out.ndjson" "$work/events" "$n" "$kills" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" <<'EOF'
import json, sys, datetime, collections
out, events, n, kills, wall = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
seqs, spans = collections.Counter(), collections.defaultdict(list)
for line in open(out):
    r = json.loads(line)
    seqs[r["seq"]] += 1
    t = r.get("timings", {})
    if "start" in t and r.get("status") == 200:
        start = datetime.datetime.fromisoformat(t["start"].replace("Z", "+00:00")).timestamp()
        host = r["url"].split("/")[2]
        spans[host].append((start, start + r["elapsed_ms"] / 1000))
windows = []
for line in open(events):
    ts, what = line.split(" ", 1)
    if what.startswith("SIGKILL worker"):
        windows.append((float(ts), float(ts) + 3))   # lease 2 s + 1 s
    elif what.startswith("SIGKILL node"):
        windows.append((float(ts), float(ts) + 13))  # 3 s down + 10 s
overlaps = outside = 0
for host, ss in spans.items():
    ss.sort()
    end = ss[0][1]
    for a, b in ss[1:]:
        if a < end - 0.001:  # this request started before the last one to this host ended
            overlaps += 1
            if not any(lo <= a <= hi for lo, hi in windows):
                outside += 1
        end = max(end, b)
missing = sum(1 for s in range(1, n + 1) if seqs[s] == 0)
dups = sum(c - 1 for c in seqs.values() if c > 1)
extra = sum(1 for s in seqs if not 1 <= s <= n)
print(f"| records in | records out | missing | duplicated | outside 1..N | worker kills | node kills | wall s | overlapping requests to one host | of them outside the failover windows |")
print(f"|---|---|---|---|---|---|---|---|---|---|")
print(f"| {n} | {sum(seqs.values())} | {missing} | {dups} | {extra} | {kills} | 2 | {wall:.1f} | {overlaps} | {outside} |")
sys.exit(0 if missing == dups == extra == 0 else 1)
EOF
