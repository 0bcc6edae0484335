// Package evict bounds the caches kept in maps.
package evict

// ToFit deletes entries of a bounded cache until it has room for one
// more under max: those that are stale first, then any that may go, in
// map order, which is random.
func ToFit[K comparable, V any](m map[K]V, max int, stale, mayGo func(V) bool) {
	if len(m) < max {
		return
	}
	for k, v := range m {
		if stale(v) {
			delete(m, k)
		}
	}
	for k, v := range m {
		if len(m) < max {
			return
		}
		if mayGo(v) {
			delete(m, k)
		}
	}
}
