package record

// Archive is what the fetch stage made of an attempt's HTTP exchanges for
// --warc: whole WARC records, each one gzip member, in the order they are
// to be written (each redirect's request and response, then the final
// ones). The sink's WARC writer writes them and drops them.
type Archive struct {
	Members []Member
	Ref     int // the member the record's warc field points at: its final response or revisit; -1 for none
}

// Member is one WARC record, compressed on its own, with what an index
// line of it says (CDXJ). Index is nil for a record no index lists (a
// request).
type Member struct {
	Bytes []byte
	Index *IndexEntry
}

// IndexEntry is what a CDXJ line says of a response or revisit record,
// apart from where it is (file, offset, length), which only the writer
// knows.
type IndexEntry struct {
	Key       string // the target URI's SURT form, the index's sort key
	Timestamp string // WARC-Date as 14 digits, yyyymmddhhmmss
	URL       string
	Mime      string // the response's media type, or warc/revisit
	Status    int
	Digest    string // WARC-Payload-Digest without its "sha1:"; "" for none
}

// WARCRef is where a record's response (or revisit) record is in the
// archive: output as warc, so that jq over the records finds a page in
// the WARC files.
type WARCRef struct {
	File   string // the file's name, in the --warc directory
	Offset int64  // where its gzip member starts
	Length int64  // the member's length, compressed
}
