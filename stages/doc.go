// Package stages holds the steps a record goes through between source and
// sink. A per-record stage's work is a plain synchronous method with the
// context first (Fetcher.Fetch, Extractor.Extract); internal/wire adapts it
// to a go-streams Flow with a fixed pool of workers and keeps the
// pass-through rule (record.Record.Passes). The stateful flows, Schedule and
// Order, each own one goroutine, started when their output is connected.
// FetchFlow hands every record back to the schedule after each attempt
// through Returner.
package stages
