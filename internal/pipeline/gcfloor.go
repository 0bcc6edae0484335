package pipeline

import (
	"os"
	"runtime"
	"runtime/debug"
)

// gcFloor is garbage the collector lets build up before a cycle, however
// small the live heap: see SetGCFloor.
const gcFloor = 8 << 20

// ballast holds gcFloor bytes that count as live heap and are never used.
var ballast []byte

// manyConnections is the concurrency from which SetGC trades collector
// time for memory.
const manyConnections = 1000

// SetGC sets the process's collector for a run at concurrency c: the floor
// of SetGCFloor and, from manyConnections on, a heap goal of 1.5 times the
// live heap instead of 2. With thousands of connections open the live heap
// is mostly their state, long-lived, and such a run waits on the network
// with CPU to spare: at -c 5000, GOGC 50 took peak RSS from 248 to 213 MiB
// for 3% more CPU (bench/conns.sh; BENCHMARKS.md). A GOGC or GOMEMLIMIT in
// the environment is left to rule alone. It is for main, once.
func SetGC(c int) {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	if c >= manyConnections {
		debug.SetGCPercent(50)
	}
	SetGCFloor()
}

// SetGCFloor makes the collector run at most once per gcFloor bytes
// allocated, instead of every 4 MiB; it is for main, once, since it sets
// the process's collector. sluice's live heap is about 1 MiB while it
// fetches without extraction, and each cycle scans the stacks of every
// worker and connection goroutine. The heap goal is twice the live heap,
// and a ballast of pointer-free memory counts as live: the goal becomes
// 2 × (live + 8 MiB). Its pages are never written, so they are not
// resident; what grows is the garbage allowed between cycles.
//
// The runtime's own knobs do not give a floor: debug.SetGCPercent scales
// the garbage allowed with the live heap, which extraction fills with
// bodies, and debug.SetMemoryLimit with GC off lets the heap grow to the
// limit before any cycle. BENCHMARKS.md has the figures.
//
// The ballast comes after the first cycle, not at start: a heap that
// suddenly passes its 4 MiB goal starts a cycle at once, which cost a
// short run a millisecond. A run too short to collect even once never gets
// a ballast. A GOGC or GOMEMLIMIT in the environment is left to rule alone.
func SetGCFloor() {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	// The cleanup runs once a cycle has found the sentinel unreachable.
	runtime.AddCleanup(new([64]byte), func(struct{}) { ballast = make([]byte, gcFloor) }, struct{}{})
}
