package record

import (
	"bufio"
	"io"

	jsoniter "github.com/json-iterator/go"
)

// Finished is the set of seqs a previous run's output finished (any record
// but a canceled one), for --resume. A bit per seq: a million records cost
// 125 KB.
type Finished struct {
	bits []uint64
	n    int
}

// Has reports whether seq is finished.
func (f *Finished) Has(seq int64) bool {
	i := seq / 64
	return seq >= 0 && i < int64(len(f.bits)) && f.bits[i]&(1<<(seq%64)) != 0
}

// Len returns how many seqs are finished.
func (f *Finished) Len() int { return f.n }

func (f *Finished) add(seq int64) {
	if seq < 0 || f.Has(seq) {
		return
	}
	for int64(len(f.bits)) <= seq/64 {
		f.bits = append(f.bits, 0)
	}
	f.bits[seq/64] |= 1 << (seq % 64)
	f.n++
}

// ReadFinished reads a previous run's NDJSON output. Lines that are not a
// JSON object with a positive seq are ignored: a run killed mid-write leaves
// a partial last line, which is not an error. endsClean reports whether the
// output ends with a newline (or is empty); when it does not, the caller
// must start a new line before appending, or its first record would be
// glued to the partial one.
func ReadFinished(r io.Reader) (f *Finished, endsClean bool, err error) {
	f = &Finished{}
	br := bufio.NewReaderSize(r, 64<<10)
	endsClean = true
	for {
		line, err := br.ReadBytes('\n')
		if len(line) > 0 {
			endsClean = line[len(line)-1] == '\n'
			if seq, ok := finishedSeq(line); ok {
				f.add(seq)
			}
		}
		if err == io.EOF {
			return f, endsClean, nil
		}
		if err != nil {
			return nil, false, err
		}
	}
}

// finishedSeq returns the seq of an output line whose record finished.
func finishedSeq(line []byte) (int64, bool) {
	if !jsoniter.Valid(line) {
		return 0, false
	}
	seq := jsoniter.Get(line, "seq")
	if seq.ValueType() != jsoniter.NumberValue || seq.ToInt64() < 1 {
		return 0, false
	}
	if jsoniter.Get(line, "error", "kind").ToString() == string(KindCanceled) {
		return 0, false
	}
	return seq.ToInt64(), true
}
