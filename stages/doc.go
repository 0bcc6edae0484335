// Package stages is the folder of sluice's capabilities: each package under
// it is one stage, or what one stage alone needs, with its own reason to
// change. A per-record stage's work is a plain synchronous method with the
// context first (fetch.Fetcher.Fetch, extract.Extractor.Extract); the flow
// framework adapts it to a go-streams Flow and keeps the pass-through rule
// (record.Record.Passes). No package here imports a source, a sink, the
// pipeline or the configuration: they are given plain values.
//
//	schedule   politeness: the window, host queues, rates, slots, pauses,
//	           quotas, throttle, retry timing, permits; the fetch workers
//	fetch      one attempt over the client: request, body cap, codings,
//	           redirects, classify, trace, the cache around the attempt
//	transport  connections: resolver, --deny-private, the connection policy
//	cache      RFC 9111's rules and the store on disk
//	robots     RFC 9309: parsing, and the per-host store
//	crawl      the frontier, seen set, state, scope, sitemaps, discover
//	extract    what a page says: html parts, jq, hashes, charset
//	render     headless Chromium, its proxy and certificates
//	warc       capture of exchanges and WARC record building
//	order      --ordered: the reorder buffer and its gate
//	skip       --unique and --resume: records marked to skip
package stages
