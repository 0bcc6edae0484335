package report

import (
	"bufio"
	"errors"
	"io"
)

// maxLine is the longest line read whole; the rest of a longer one is
// skipped, and the line counted as other.
const maxLine = 64 << 20

// Read adds every line of rd.
func (r *Report) Read(rd io.Reader) error {
	br := bufio.NewReaderSize(rd, 1<<20)
	var long []byte // a line longer than the buffer, gathered
	tooLong := false
	for {
		chunk, err := br.ReadSlice('\n')
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			if len(long)+len(chunk) > maxLine {
				tooLong = true
			} else {
				long = append(long, chunk...)
			}
			continue
		case tooLong:
			r.lines++
			r.other++
			long, tooLong = long[:0], false
		case len(long) > 0:
			long = append(long, chunk...)
			r.Add(long)
			long = long[:0]
		default:
			r.Add(chunk)
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}
