package record

import (
	"errors"
	"fmt"
	"io"
)

// PathStep is one step of a JSON path: an object's member Key, or with
// IsIndex the array element Index (0 or more).
type PathStep struct {
	Key     string
	Index   int
	IsIndex bool
}

// ErrNotPath is returned by DecodeJSONPath when a step meets a value it
// cannot step into (a key on an array, an index on an object, either on a
// string, number or boolean): jq reports an error there, which the caller
// gets by evaluating the expression in full.
var ErrNotPath = errors.New("the path does not apply to the value")

// DecodeJSONPath calls each with the value at path in every JSON value of
// data, as DecodeJSON would decode it, but decoding that value only: the
// rest of data is checked to be JSON and skipped. With jq's rules, a
// missing member, an index past the end or a step into null gives null
// (nil); of repeated members the last wins.
func DecodeJSONPath(data []byte, path []PathStep, each func(v any) error) error {
	s := scanner{b: data}
	for {
		s.space()
		if s.i == len(s.b) {
			return nil
		}
		v, err := s.walk(path, 0)
		if err != nil {
			return err
		}
		if err := each(v); err != nil {
			return err
		}
	}
}

// ErrNotObject is Members' error for JSON text that is not one object.
var ErrNotObject = errors.New("not a JSON object")

// Members calls member with the key (unescaped) and the value's text of
// each member of the one JSON object that data holds, in order, checking
// that data is that object and nothing more but white space. When inner
// is not nil and gives a function for a key whose value is an object, that
// function gets the members of the value, read in the same pass, before
// member gets the value. It allocates nothing unless a key has escapes.
func Members(data []byte, member func(key, value []byte), inner func(key []byte) func(key, value []byte)) error {
	s := scanner{b: data, inner: inner}
	s.space()
	if s.i == len(s.b) || s.b[s.i] != '{' {
		return ErrNotObject
	}
	if err := s.object(0, nil, member); err != nil {
		return err
	}
	if s.space(); s.i != len(s.b) {
		return ErrNotObject
	}
	return nil
}

// maxDepth is the deepest nesting the scanner follows, as jq's parser.
const maxDepth = 10000

// scanner checks and skips JSON text without decoding it, and allocates
// nothing: it is what makes a path on a large body cheap.
type scanner struct {
	b     []byte
	i     int
	inner func(key []byte) func(key, value []byte) // Members' descent into the top level's object values
}

func (s *scanner) errorf(format string, args ...any) error {
	return fmt.Errorf("at byte %d: "+format, append([]any{s.i}, args...)...)
}

func (s *scanner) space() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// walk reads the value at s.i and returns the value at path in it.
func (s *scanner) walk(path []PathStep, depth int) (any, error) {
	s.space()
	start := s.i
	if len(path) == 0 {
		if err := s.value(depth); err != nil {
			return nil, err
		}
		return decodeOne(s.b[start:s.i])
	}
	if s.i == len(s.b) {
		return nil, s.errorf("unexpected end of JSON")
	}
	step := path[0]
	var found []byte
	var err error
	switch c := s.b[s.i]; {
	case c == 'n':
		return nil, s.literal("null")
	case c == '{' && !step.IsIndex:
		err = s.object(depth, nil, func(key, value []byte) {
			if string(key) == step.Key {
				found = value
			}
		})
	case c == '[' && step.IsIndex:
		n := 0
		err = s.array(depth, func(start, end int) {
			if n == step.Index {
				found = s.b[start:end]
			}
			n++
		})
	default:
		return nil, ErrNotPath
	}
	if err != nil || found == nil {
		return nil, err
	}
	inner := scanner{b: found}
	return inner.walk(path[1:], depth+1)
}

// value skips the value at s.i, checking it.
func (s *scanner) value(depth int) error {
	s.space()
	if s.i == len(s.b) {
		return s.errorf("unexpected end of JSON")
	}
	switch c := s.b[s.i]; {
	case c == '{':
		return s.object(depth, nil, nil)
	case c == '[':
		return s.array(depth, nil)
	case c == '"':
		_, err := s.str()
		return err
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	case c == '-' || c >= '0' && c <= '9':
		return s.number()
	default:
		return s.errorf("invalid character %q looking for a value", c)
	}
}

// object reads an object at s.i, calling member, when not nil, with each
// key (unescaped) and where its value's text is in s.b, and values, when
// not nil, with each key and that text.
func (s *scanner) object(depth int, member func(key []byte, start, end int), values func(key, value []byte)) error {
	if depth++; depth > maxDepth {
		return s.errorf("nested deeper than %d", maxDepth)
	}
	s.i++ // '{'
	s.space()
	if s.i < len(s.b) && s.b[s.i] == '}' {
		s.i++
		return nil
	}
	for {
		s.space()
		if s.i == len(s.b) || s.b[s.i] != '"' {
			return s.errorf("want a member name")
		}
		key, err := s.str()
		if err != nil {
			return err
		}
		s.space()
		if s.i == len(s.b) || s.b[s.i] != ':' {
			return s.errorf("want ':' after a member name")
		}
		s.i++
		s.space()
		start := s.i
		var in func(key, value []byte)
		if depth == 1 && s.inner != nil && s.i < len(s.b) && s.b[s.i] == '{' {
			in = s.inner(key)
		}
		if in != nil {
			err = s.object(depth, nil, in)
		} else {
			err = s.value(depth)
		}
		if err != nil {
			return err
		}
		if member != nil {
			member(key, start, s.i)
		}
		if values != nil {
			values(key, s.b[start:s.i])
		}
		if done, err := s.next('}'); done || err != nil {
			return err
		}
	}
}

// array reads an array at s.i, calling element, when not nil, with where
// each element's text is in s.b.
func (s *scanner) array(depth int, element func(start, end int)) error {
	if depth++; depth > maxDepth {
		return s.errorf("nested deeper than %d", maxDepth)
	}
	s.i++ // '['
	s.space()
	if s.i < len(s.b) && s.b[s.i] == ']' {
		s.i++
		return nil
	}
	for {
		s.space()
		start := s.i
		if err := s.value(depth); err != nil {
			return err
		}
		if element != nil {
			element(start, s.i)
		}
		if done, err := s.next(']'); done || err != nil {
			return err
		}
	}
}

// next reads the ',' between members or elements, or the closing one.
func (s *scanner) next(closing byte) (done bool, err error) {
	s.space()
	switch {
	case s.i == len(s.b):
		return true, s.errorf("unexpected end of JSON")
	case s.b[s.i] == ',':
		s.i++
		return false, nil
	case s.b[s.i] == closing:
		s.i++
		return true, nil
	}
	return true, s.errorf("invalid character %q after a value", s.b[s.i])
}

// str reads a string at s.i and returns its content: the text itself when
// it has no escapes, else decoded.
// strStop marks the bytes that end a run of plain string content: the
// quote, the backslash and the control characters.
var strStop = func() (t [256]bool) {
	for c := range 0x20 {
		t[c] = true
	}
	t['"'], t['\\'] = true, true
	return t
}()

func (s *scanner) str() ([]byte, error) {
	s.i++ // '"'
	start, escaped := s.i, false
	for s.i < len(s.b) {
		for s.i < len(s.b) && !strStop[s.b[s.i]] {
			s.i++ // the common case, in a tight loop
		}
		if s.i == len(s.b) {
			break
		}
		c := s.b[s.i]
		switch {
		case c == '"':
			text := s.b[start:s.i]
			s.i++
			if escaped {
				v, err := decodeOne(s.b[start-1 : s.i])
				if err != nil {
					return nil, err
				}
				text = []byte(v.(string))
			}
			return text, nil
		case c == '\\':
			escaped = true
			if s.i+1 == len(s.b) {
				return nil, s.errorf("unexpected end of JSON")
			}
			switch s.b[s.i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				s.i += 2
			case 'u':
				if s.i+6 > len(s.b) || !isHex4(s.b[s.i+2:s.i+6]) {
					return nil, s.errorf("invalid \\u escape")
				}
				s.i += 6
			default:
				return nil, s.errorf("invalid escape")
			}
		case c < 0x20:
			return nil, s.errorf("control character in a string")
		default:
			s.i++
		}
	}
	return nil, s.errorf("unexpected end of JSON in a string")
}

func isHex4(b []byte) bool {
	for _, c := range b {
		if !isHexDigit(c) {
			return false
		}
	}
	return true
}

func (s *scanner) literal(word string) error {
	if len(s.b)-s.i < len(word) || string(s.b[s.i:s.i+len(word)]) != word {
		return s.errorf("invalid literal, want %s", word)
	}
	s.i += len(word)
	return nil
}

// number reads -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?.
func (s *scanner) number() error {
	if s.b[s.i] == '-' {
		s.i++
	}
	digits := func() int {
		n := 0
		for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
			s.i++
			n++
		}
		return n
	}
	first := s.i
	if n := digits(); n == 0 || n > 1 && s.b[first] == '0' {
		return s.errorf("invalid number")
	}
	if s.i < len(s.b) && s.b[s.i] == '.' {
		s.i++
		if digits() == 0 {
			return s.errorf("invalid number")
		}
	}
	if s.i < len(s.b) && (s.b[s.i] == 'e' || s.b[s.i] == 'E') {
		s.i++
		if s.i < len(s.b) && (s.b[s.i] == '+' || s.b[s.i] == '-') {
			s.i++
		}
		if digits() == 0 {
			return s.errorf("invalid number")
		}
	}
	return nil
}

// decodeOne decodes one JSON value that the scanner has checked.
func decodeOne(text []byte) (any, error) {
	it := numbers.BorrowIterator(text)
	defer numbers.ReturnIterator(it)
	v := it.Read()
	if it.Error != nil && it.Error != io.EOF {
		return nil, jsonError(it.Error)
	}
	return v, nil
}
