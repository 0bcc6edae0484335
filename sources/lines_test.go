package sources

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"go.uber.org/goleak"

	"sluice/record"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// collect drains a Lines source.
func collect(l *Lines) []*record.Record {
	var out []*record.Record
	for v := range l.Out() {
		out = append(out, v.(*record.Record))
	}
	return out
}

func readAll(t *testing.T, opt Options, inputs ...string) []*record.Record {
	t.Helper()
	var readers []io.Reader
	for _, in := range inputs {
		// OneByteReader makes every line cross many reads, as a slow pipe would.
		readers = append(readers, iotest.OneByteReader(strings.NewReader(in)))
	}
	l := NewLines(context.Background(), readers, opt)
	recs := collect(l)
	if err := l.Err(); err != nil {
		t.Fatalf("Err() = %v; want nil", err)
	}
	if got := l.Count(); got != int64(len(recs)) {
		t.Errorf("Count() = %d; want %d", got, len(recs))
	}
	for i, r := range recs {
		if r.Seq != int64(i+1) {
			t.Errorf("record %d has Seq %d; want %d", i, r.Seq, i+1)
		}
	}
	return recs
}

func TestLinesFraming(t *testing.T) {
	long := "http://a.test/" + strings.Repeat("x", 1<<20) // 1 MiB: past bufio.Scanner's 64 KiB
	tests := []struct {
		name   string
		inputs []string
		want   []string // URL of each record, in order
	}{
		{"plain", []string{"http://a.test/1\nhttp://a.test/2\n"}, []string{"http://a.test/1", "http://a.test/2"}},
		{"no final newline", []string{"http://a.test/1\nhttp://a.test/2"}, []string{"http://a.test/1", "http://a.test/2"}},
		{"crlf", []string{"http://a.test/1\r\nhttp://a.test/2\r\n"}, []string{"http://a.test/1", "http://a.test/2"}},
		{"bom", []string{"\xef\xbb\xbfhttp://a.test/1\n"}, []string{"http://a.test/1"}},
		{"blank and comments", []string{"\n  \n# comment\n\t# indented comment\nhttp://a.test/1\n\r\n"}, []string{"http://a.test/1"}},
		{"white space trimmed", []string{"  http://a.test/1 \t\n"}, []string{"http://a.test/1"}},
		{"long line", []string{"http://a.test/1\n" + long + "\nhttp://a.test/2\n"}, []string{"http://a.test/1", long, "http://a.test/2"}},
		{"files do not run together", []string{"http://a.test/1", "http://a.test/2\n"}, []string{"http://a.test/1", "http://a.test/2"}},
		{"bom in second file", []string{"http://a.test/1\n", "\xef\xbb\xbfhttp://a.test/2\n"}, []string{"http://a.test/1", "http://a.test/2"}},
		{"empty", []string{""}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			recs := readAll(t, Options{}, tc.inputs...)
			var got []string
			for _, r := range recs {
				got = append(got, r.URL)
				if r.Err != nil {
					t.Errorf("record %d: unexpected error %v", r.Seq, r.Err)
				}
			}
			if strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Errorf("URLs = %.200q; want %.200q", got, tc.want)
			}
		})
	}
}

func TestLinesBadLinesYieldRecords(t *testing.T) {
	in := "http://a.test/1\n" +
		"\xff\xfe garbage\n" +
		"{\"url\": broken\n" +
		strings.Repeat("y", 300) + "\n" + // longer than MaxLine below
		"#" + strings.Repeat("c", 300) + "\n" + // a long comment is still a comment
		"http://a.test/2\n"
	recs := readAll(t, Options{MaxLine: 100}, in)
	wantKinds := []record.Kind{"", record.KindInvalidInput, record.KindInvalidInput, record.KindInvalidInput, ""}
	if len(recs) != len(wantKinds) {
		t.Fatalf("got %d records; want %d", len(recs), len(wantKinds))
	}
	for i, r := range recs {
		var kind record.Kind
		if r.Err != nil {
			kind = r.Err.Kind
		}
		if kind != wantKinds[i] {
			t.Errorf("record %d: error %v; want kind %q", r.Seq, r.Err, wantKinds[i])
		}
	}
	if msg := recs[3].Err.Message; !strings.Contains(msg, "301 bytes") {
		t.Errorf("too-long line message = %q; want the line's length", msg)
	}
}

func TestLinesURLField(t *testing.T) {
	recs := readAll(t, Options{Parser: record.Parser{URLField: "link"}}, `{"link":"http://a.test/","url":"http://b.test/"}`+"\n")
	if len(recs) != 1 || recs[0].URL != "http://a.test/" || recs[0].Err != nil {
		t.Fatalf("records = %+v; want one for http://a.test/", recs)
	}
}

func TestLinesReadError(t *testing.T) {
	boom := errors.New("boom")
	r := io.MultiReader(strings.NewReader("http://a.test/1\n"), iotest.ErrReader(boom))
	l := NewLines(context.Background(), []io.Reader{r}, Options{})
	recs := collect(l)
	if len(recs) != 1 {
		t.Errorf("got %d records; want the 1 read before the error", len(recs))
	}
	if !errors.Is(l.Err(), boom) {
		t.Errorf("Err() = %v; want %v", l.Err(), boom)
	}
}

// A cancelled source closes Out although its reader is blocked, and every
// record it sent has a sequence number with no gaps.
func TestLinesCancelWhileBlocked(t *testing.T) {
	pr, pw := io.Pipe()
	defer pw.Close() // ends the blocked reader goroutine for goleak
	ctx, cancel := context.WithCancel(context.Background())
	l := NewLines(ctx, []io.Reader{pr}, Options{})
	out := l.Out() // starts the reader
	if _, err := io.WriteString(pw, "http://a.test/1\nhttp://a.test/2\n"); err != nil {
		t.Fatal(err)
	}
	first := (<-out).(*record.Record)
	cancel()
	rest := collect(l) // must return although the pipe stays open
	if first.Seq != 1 {
		t.Errorf("first Seq = %d; want 1", first.Seq)
	}
	for i, r := range rest {
		if r.Seq != int64(i+2) {
			t.Errorf("Seq %d after cancel; want %d", r.Seq, i+2)
		}
	}
	if got := l.Count(); got != int64(1+len(rest)) {
		t.Errorf("Count() = %d; want %d records sent", got, 1+len(rest))
	}
}

// FuzzLines: whatever the bytes, there is exactly one record per line that is
// not blank and not a comment, numbered 1..n.
func FuzzLines(f *testing.F) {
	for _, s := range []string{"http://a.test/\n", "a\r\nb\n\n#c\n", "\xef\xbb\xbf{\"url\":1}\n", "\xff\n\x00\n", "  \t\n#\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		want := 0
		for i, line := range bytes.Split(in, []byte("\n")) {
			if i == 0 {
				line = bytes.TrimPrefix(line, bom)
			}
			line = bytes.TrimSpace(line)
			if len(line) > 0 && line[0] != '#' {
				want++
			}
		}
		l := NewLines(context.Background(), []io.Reader{bytes.NewReader(in)}, Options{MaxLine: 32})
		recs := collect(l)
		if len(recs) != want {
			t.Fatalf("%q: %d records; want %d", in, len(recs), want)
		}
		for i, r := range recs {
			if r.Seq != int64(i+1) {
				t.Fatalf("%q: record %d has Seq %d", in, i, r.Seq)
			}
		}
	})
}
