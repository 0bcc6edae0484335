// Package stages holds the steps a record goes through between source and
// sink. Each stage's work is a plain synchronous method with the context
// first (Fetcher.Fetch); Map adapts it to a go-streams Flow with a fixed pool
// of workers. A record that carries an error passes every stage untouched.
package stages
