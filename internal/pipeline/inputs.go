package pipeline

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"sluice/internal/config"
	"sluice/record"
)

// inputs are a run's opened inputs.
type inputs struct {
	readers []io.Reader
	files   []*os.File
}

// openInputs opens every file up front, so a typo fails before any output.
// A URL input reads as one line; no inputs at all means stdin.
func openInputs(list []config.Input, stdin io.Reader) (*inputs, error) {
	in := &inputs{}
	if len(list) == 0 {
		in.readers = []io.Reader{stdin}
		return in, nil
	}
	for _, i := range list {
		switch {
		case i.URL != "":
			in.readers = append(in.readers, strings.NewReader(i.URL+"\n"))
		case i.Path == "-":
			in.readers = append(in.readers, stdin)
		default:
			f, err := os.Open(i.Path)
			if err != nil {
				in.close()
				return nil, fmt.Errorf("open input: %w", err)
			}
			in.files = append(in.files, f)
			in.readers = append(in.readers, f)
		}
	}
	return in, nil
}

func (in *inputs) close() {
	for _, f := range in.files {
		f.Close() // read-only: nothing to lose on close
	}
}

// size is the total size of the inputs when all are regular files, for
// the progress line's percentage; -1 when any is a pipe or a terminal.
func (in *inputs) size() int64 {
	var total int64
	for _, r := range in.readers {
		if s, ok := r.(*strings.Reader); ok {
			total += s.Size()
			continue
		}
		f, ok := r.(*os.File)
		if !ok {
			return -1
		}
		info, err := f.Stat()
		if err != nil || !info.Mode().IsRegular() {
			return -1
		}
		total += info.Size()
	}
	return total
}

// readResume reads --resume's file: the seqs it finished, and a newline to
// write first when the file ends in a partial line (a run killed mid-write).
func readResume(name string) (*record.Finished, []byte, error) {
	f, err := os.Open(name)
	if errors.Is(err, fs.ErrNotExist) {
		return &record.Finished{}, nil, nil // nothing done yet: the first run
	}
	if err != nil {
		return nil, nil, fmt.Errorf("--resume: %w", err)
	}
	defer f.Close()
	finished, clean, err := record.ReadFinished(f)
	if err != nil {
		return nil, nil, fmt.Errorf("--resume: read %s: %w", name, err)
	}
	if !clean {
		return finished, []byte("\n"), nil
	}
	return finished, nil, nil
}
