package pipeline

import (
	"os"
	"runtime"
)

// gcFloor is garbage the collector lets build up before a cycle, however
// small the live heap: see SetGCFloor.
const gcFloor = 8 << 20

// ballast holds gcFloor bytes that count as live heap and are never used.
var ballast []byte

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
