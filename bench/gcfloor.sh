#!/usr/bin/env bash
# The collector's floor (internal/pipeline.SetGCFloor) against the runtime's
# own knobs, side by side in one run, on the local test site (loopback only):
#   1. the floor holds: with gctrace, from the cycle the ballast comes in,
#      no cycle aims at a heap under 2 x 8 MiB; GOGC=100 in the environment
#      turns it off (the Go default, 4 MB goals, comes back);
#   2. client CPU (user + sys) and peak RSS for 50,000 URLs at -c 64,
#      alternating: the ballast (sluice as shipped), GOGC=100 (no floor),
#      GOGC=400 (what debug.SetGCPercent(400) does), and GOGC=off with
#      GOMEMLIMIT=32MiB (what debug.SetGCPercent(-1) with
#      debug.SetMemoryLimit(32 MiB) does); a GOGC or GOMEMLIMIT in the
#      environment turns the ballast off, so each setting runs alone.
# Not part of CI. Usage: bash bench/gcfloor.sh   (RUNS=7 for more runs)
source "$(dirname "$0")/lib.sh"
runs=${RUNS:-5}
build sluice . site ./internal/cmd/site
serve base "$work/site"
awk -v u="$base/page/1" 'BEGIN { for (i = 0; i < 10000; i++) print u }' > "$work/10k"
awk -v u="$base/hello" 'BEGIN { for (i = 0; i < 50000; i++) print u }' > "$work/50k"

# goals ENV...: the heap goals (MB) of a 10,000-URL run, one per line.
goals() {
	env "$@" GODEBUG=gctrace=1 "$work/sluice" -c 16 < "$work/10k" 2>&1 >/dev/null |
		sed -n 's/^gc .* MB, \([0-9]*\) MB goal.*/\1/p'
}
echo "## 1. the floor holds (10,000 URLs, gctrace)"
floor=$(goals)
plain=$(goals GOGC=100)
echo "heap goals with the ballast, MB: $(echo $floor)"
echo "heap goals with GOGC=100, MB:   $(echo $plain)"
# From the first goal of at least 16 MB on, none may be lower.
echo "$floor" | awk '$1 >= 16 { on = 1 } on && $1 < 16 { bad = 1 } END { if (!on || bad) { print "FAIL: the floor did not hold"; exit 1 } }'
echo "$plain" | sort -n | head -1 | awk '$1 >= 8 { print "FAIL: GOGC=100 did not turn the floor off"; exit 1 }'
echo "ok: from the ballast on, every goal >= 16 MB; GOGC=100 turns it off"

echo
echo "## 2. 50,000 URLs at -c 64, $runs alternating runs each: median client CPU and peak RSS"
settings=("ballast" "GOGC=100" "GOGC=400" "GOGC=off GOMEMLIMIT=32MiB")
for s in "${settings[@]}"; do : > "$work/cpu.${s// /_}"; : > "$work/rss.${s// /_}"; done
for _ in $(seq "$runs"); do
	for s in "${settings[@]}"; do
		envs=(); [ "$s" = ballast ] || read -r -a envs <<< "$s"
		env "${envs[@]}" /usr/bin/time -f '%U %S %M' -o "$work/time" "$work/sluice" -c 64 < "$work/50k" > "$work/out"
		[ "$(wc -l < "$work/out")" = 50000 ] || { echo "$s: lost records" >&2; exit 1; }
		awk '{ print $1 + $2 }' "$work/time" >> "$work/cpu.${s// /_}"
		awk '{ print $3 / 1024 }' "$work/time" >> "$work/rss.${s// /_}"
	done
done
printf '| setting | client CPU s (median) | spread | peak RSS MiB (median) |\n|---|---|---|---|\n'
for s in "${settings[@]}"; do
	f=${s// /_}
	printf '| %s | %s | %s | %.1f |\n' "$s" "$(median < "$work/cpu.$f")" "$(spread < "$work/cpu.$f")" "$(median < "$work/rss.$f")"
done
