// Package pipeline assembles sluice from a config.Config — source ->
// stages -> sink — and runs it under one lifetime: the first signal or
// fatal error stops intake, the work in flight gets the grace period,
// every record read is still written. Resume, profiling and the end-of-run
// report live here too; main only dispatches, handles signals and turns
// errors into exit statuses.
package pipeline
