package extract

import (
	"context"
	"errors"
	"fmt"
	"mime"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/itchyny/gojq"

	"sluice/record"
)

// DefaultJQTimeout bounds one --jq expression on one body.
const DefaultJQTimeout = time.Second

// maxJQOutputs caps the values one expression may yield on one body.
const maxJQOutputs = 100_000

// JQ is one compiled --jq expression: unnamed, its result is the record's
// json; named, fields.NAME.
type JQ struct {
	Name   string // "" for the unnamed one
	code   *gojq.Code
	path   []record.PathStep // the expression as a plain path (.a.b, .a[0]), for the fast way; nil if it is not one
	isPath bool
}

// jqName is a NAME= prefix: an identifier and one '=' (not "==").
var jqName = regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_-]*)=([^=]|$)`)

// ParseJQ compiles "EXPR" or "NAME=EXPR" once, so a bad expression is an
// error before any work. It reads the environment of no process: $ENV is
// empty, and input, inputs and the module system are not available.
func ParseJQ(spec string) (JQ, error) {
	var q JQ
	expr := spec
	if m := jqName.FindStringSubmatch(spec); m != nil {
		q.Name, expr = m[1], spec[len(m[1])+1:]
	}
	if strings.TrimSpace(expr) == "" {
		return JQ{}, errors.New("empty expression")
	}
	parsed, err := gojq.Parse(expr)
	if err != nil {
		return JQ{}, fmt.Errorf("%q: %v", expr, err)
	}
	if q.code, err = gojq.Compile(parsed); err != nil {
		return JQ{}, fmt.Errorf("%q: %v", expr, err)
	}
	q.path, q.isPath = pathOf(parsed)
	return q, nil
}

// pathOf returns q as a path when it is nothing but one: ., .a, ."a",
// .["a"], .[N] with N >= 0, and chains of them. Such an expression needs
// only the value at its end, which record.DecodeJSONPath decodes without
// decoding the rest of the body; on a body of 10 KB that is over ten times
// faster than decoding it all for gojq (BenchmarkJQ).
func pathOf(q *gojq.Query) ([]record.PathStep, bool) {
	t := q.Term
	if t == nil || q.Left != nil || q.Right != nil || q.Meta != nil || len(q.Imports) > 0 || len(q.FuncDefs) > 0 || len(q.Patterns) > 0 {
		return nil, false
	}
	var path []record.PathStep
	switch t.Type {
	case gojq.TermTypeIdentity:
	case gojq.TermTypeIndex:
		step, ok := indexStep(t.Index)
		if !ok {
			return nil, false
		}
		path = append(path, step)
	default:
		return nil, false
	}
	for _, s := range t.SuffixList {
		if s.Index == nil || s.Iter || s.Optional {
			return nil, false
		}
		step, ok := indexStep(s.Index)
		if !ok {
			return nil, false
		}
		path = append(path, step)
	}
	return path, true
}

// indexStep reads .name, ."name", .["name"] and .[N], N >= 0.
func indexStep(ix *gojq.Index) (record.PathStep, bool) {
	switch {
	case ix == nil || ix.IsSlice || ix.End != nil:
	case ix.Name != "":
		return record.PathStep{Key: ix.Name}, true
	case ix.Str != nil && len(ix.Str.Queries) == 0:
		return record.PathStep{Key: ix.Str.Str}, true
	case ix.Start != nil && ix.Start.Term != nil && ix.Start.Left == nil && len(ix.Start.Term.SuffixList) == 0:
		t := ix.Start.Term
		switch {
		case t.Type == gojq.TermTypeString && t.Str != nil && len(t.Str.Queries) == 0:
			return record.PathStep{Key: t.Str.Str}, true
		case t.Type == gojq.TermTypeNumber:
			if n, err := strconv.Atoi(t.Number); err == nil && n >= 0 {
				return record.PathStep{Index: n, IsIndex: true}, true
			}
		}
	}
	return record.PathStep{}, false
}

// isJSON reports whether a Content-Type says JSON: application/json or any
// type with a +json suffix.
func isJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json"))
}

// runJQ runs every --jq expression on r's body and fills p's JSON and
// Fields. A body that is not JSON, an expression's runtime error, time
// limit or too large a result is the page's extract_error, and that
// expression's result is then missing.
func (e *Extractor) runJQ(r *record.Record, p *record.Page) {
	if !e.cfg.JQAny && !isJSON(r.ContentType) {
		return
	}
	body := jqBody{data: r.Body}
	for _, q := range e.cfg.JQ {
		result, err := e.jq(q, &body)
		var notJSON notJSONError
		switch {
		case errors.As(err, &notJSON):
			p.AddError("jq: the body is not JSON: " + err.Error())
			return
		case err != nil && q.Name == "":
			p.AddError("jq: " + err.Error())
		case err != nil:
			p.AddError("jq " + q.Name + ": " + err.Error())
		default:
			p.AddResult(q.Name, result)
		}
	}
}

// jqBody is a body that the expressions share: decoded whole once, when
// the first that needs it asks.
type jqBody struct {
	data    []byte
	decoded bool
	inputs  []any
	err     error
}

// notJSONError is a body's syntax error, as opposed to an expression's.
type notJSONError struct{ error }

func (b *jqBody) values() ([]any, error) {
	if !b.decoded {
		b.decoded = true
		if err := record.DecodeJSON(b.data, func(v any) error {
			b.inputs = append(b.inputs, v)
			return nil
		}); err != nil {
			b.err = notJSONError{err}
		}
	}
	return b.inputs, b.err
}

// jq returns q's result on body: by the fast way when q is a plain path
// that applies to the body, else by gojq on the body decoded whole.
func (e *Extractor) jq(q JQ, body *jqBody) ([]byte, error) {
	if q.isPath {
		var values []any
		err := record.DecodeJSONPath(body.data, q.path, func(v any) error {
			values = append(values, v)
			return nil
		})
		switch {
		case err == nil:
			return encodeJQ(values), nil
		case !errors.Is(err, record.ErrNotPath):
			return nil, notJSONError{err}
		}
		// The path does not apply (a key on an array, …): gojq says why.
	}
	inputs, err := body.values()
	if err != nil {
		return nil, err
	}
	return e.evalJQ(q, inputs)
}

// evalJQ runs q on each input and returns its results encoded: the one
// value, null for none, an array for more than one.
func (e *Extractor) evalJQ(q JQ, inputs []any) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), e.cfg.JQTimeout)
	defer cancel()
	var out []any
	size := 0
	for _, in := range inputs {
		iter := q.code.RunWithContext(ctx, in)
		for {
			v, ok := iter.Next()
			if !ok {
				break
			}
			if err, ok := v.(error); ok {
				if errors.Is(err, context.DeadlineExceeded) {
					return nil, fmt.Errorf("stopped after %v", e.cfg.JQTimeout)
				}
				return nil, err
			}
			if len(out) == maxJQOutputs {
				return nil, fmt.Errorf("more than %d values", maxJQOutputs)
			}
			out = append(out, v)
		}
	}
	result := encodeJQ(out)
	if size = len(result); size > e.cfg.JQResultMax {
		return nil, fmt.Errorf("result of %d bytes, over the limit of %d", size, e.cfg.JQResultMax)
	}
	return result, nil
}

// encodeJQ encodes an expression's values as its result: the one value,
// null for none, an array for more than one; in jq's way (gojq.Marshal),
// and valid UTF-8.
func encodeJQ(values []any) []byte {
	var v any = values
	switch len(values) {
	case 0:
		v = nil
	case 1:
		v = values[0]
	}
	b, _ := gojq.Marshal(v) // it never fails on gojq's own values
	if !utf8.Valid(b) {     // a body's invalid UTF-8, inside strings
		b = []byte(strings.ToValidUTF8(string(b), "\uFFFD"))
	}
	return b
}
