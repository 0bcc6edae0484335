#!/usr/bin/env bash
# Politeness figures for sluice against local sites (loopback only):
#   1. --rate 50 over 500 URLs on 5 hosts: achieved rate vs asked;
#   2. head-of-line: 40 URLs for host A at --host-rate A=2, listed before 200
#      for host B: when B's and A's records come out;
#   3. --auto-throttle against an endpoint that allows 20 requests/s:
#      requests/s and share of 200s once settled;
#   4. memory under a throttled host: 10,000 vs 1,000,000 lines for one host
#      at --host-rate 1000, each stopped with SIGINT after $SECS s: peak RSS.
# Not part of CI. Usage: bash bench/politeness.sh   (SECS=15 by default)
source "$(dirname "$0")/lib.sh"
secs=${SECS:-15}
build sluice . site ./internal/cmd/site
for i in 1 2 3 4 5; do serve "SITE_$i" "$work/site"; done
hostport() { echo "${1#http://}"; }
now() { echo "$EPOCHREALTIME"; }

echo "## 1. global rate: --rate 50, 500 URLs over 5 hosts"
for i in $(seq 100); do for s in "$SITE_1" "$SITE_2" "$SITE_3" "$SITE_4" "$SITE_5"; do echo "$s/hello"; done; done > "$work/rate.in"
t0=$(now)
"$work/sluice" --rate 50 < "$work/rate.in" > "$work/rate.out"
t1=$(now)
awk -v n="$(wc -l < "$work/rate.out")" -v t0="$t0" -v t1="$t1" \
	'BEGIN { w = t1 - t0; printf "%d records in %.2f s: %.1f requests/s achieved, 50 asked (first token at t=0: ideal %.2f s)\n\n", n, w, n / w, (n - 1) / 50 }'

echo "## 2. head-of-line: 40 URLs for A at --host-rate A=2, then 200 for B (no limit)"
{ for i in $(seq 40); do echo "$SITE_1/page/1"; done; for i in $(seq 200); do echo "$SITE_2/page/2"; done; } > "$work/hol.in"
t0=$(now)
"$work/sluice" --host-rate "$(hostport "$SITE_1")=2" < "$work/hol.in" |
	while IFS= read -r line; do echo "$(now) $line"; done > "$work/hol.out"
awk -v t0="$t0" -v a="$SITE_1" -v b="$SITE_2" '
	index($0, "\"url\":\"" a) { na++; ta[na] = $1 - t0 }
	index($0, "\"url\":\"" b) { nb++; tb = $1 - t0 }
	END {
		printf "B: all %d records out by %.3f s\n", nb, tb
		printf "A: 1st at %.3f s, 2nd at %.3f s, 3rd at %.3f s, last (%d) at %.2f s (ideal %.1f s at 2/s)\n\n", ta[1], ta[2], ta[3], na, ta[na], (na - 1) / 2
	}' "$work/hol.out"

echo "## 3. --auto-throttle against $SITE_3/limited/20/ (429 past 20 requests/s), 600 URLs, --retries 0"
for i in $(seq 600); do echo "$SITE_3/limited/20/$i"; done > "$work/at.in"
t0=$(now)
"$work/sluice" --auto-throttle --retries 0 --stats < "$work/at.in" 2> "$work/at.err" |
	while IFS= read -r line; do echo "$(now) $line"; done > "$work/at.out"
awk -v t0="$t0" '
	{ t = $1 - t0; n++; if ($0 ~ /"status":200/) ok++ ; s = int(t); per[s]++; if ($0 ~ /"status":200/) okper[s]++; last = s }
	END {
		printf "%d records in %.1f s, %d (%.0f%%) answered 200 overall\n", n, t, ok, 100 * ok / n
		for (i = 0; i <= last; i++) printf "  second %2d: %3d requests, %3d ok\n", i, per[i], okper[i]
	}' "$work/at.out"
grep -E "rate=|total" "$work/at.err" || true
echo

echo "## 4. memory under a throttled host: --host-rate 1000, one host, stopped after ${secs} s"
awk -v u="$SITE_4/hello" 'BEGIN { for (i = 0; i < 10000; i++) print u }' > "$work/10k"
awk -v u="$SITE_4/hello" 'BEGIN { for (i = 0; i < 1000000; i++) print u }' > "$work/1m"
# measure FILE: runs sluice on FILE, polling its peak RSS, and stops it with
# SIGINT after $secs s if it is still running.
measure() {
	"$work/sluice" --host-rate 1000 < "$1" > "$work/mem.out" &
	local pid=$! hwm=0 ticks=0 code=0 h
	while kill -0 "$pid" 2>/dev/null && [ "$ticks" -lt $((secs * 10)) ]; do
		h=$(awk '/VmHWM/ { print $2 }' "/proc/$pid/status" 2>/dev/null || true)
		[ -n "$h" ] && hwm=$h
		sleep 0.1
		ticks=$((ticks + 1))
	done
	kill -INT "$pid" 2>/dev/null || true
	wait "$pid" || code=$?
	printf '| %s | %s | %.1f | %s |\n' "$(wc -l < "$1")" "$(wc -l < "$work/mem.out")" "$(awk -v k="$hwm" 'BEGIN { print k / 1024 }')" "$code"
}
printf '| input lines | records out | peak RSS MiB (VmHWM) | exit status |\n|---|---|---|---|\n'
measure "$work/10k"
measure "$work/1m"
