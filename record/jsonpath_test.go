package record

import (
	"errors"
	"strings"
	"testing"
)

// Members gives each top-level member's key and value text in order, and
// the members of the object values that inner asks for, in the same pass;
// anything but one object is an error.
func TestMembers(t *testing.T) {
	var got []string
	inner := func(key []byte) func(k, v []byte) {
		if string(key) != "t" {
			return nil
		}
		return func(k, v []byte) { got = append(got, "t."+string(k)+"="+string(v)) }
	}
	err := Members([]byte(` {"a":1, "b\u0021":"x\"y", "t":{"d":1.5,"e":[1,{}]}, "o":{"p":null}} `),
		func(k, v []byte) { got = append(got, string(k)+"="+string(v)) }, inner)
	if err != nil {
		t.Fatal(err)
	}
	want := `a=1 b!="x\"y" t.d=1.5 t.e=[1,{}] t={"d":1.5,"e":[1,{}]} o={"p":null}`
	if strings.Join(got, " ") != want {
		t.Errorf("got  %s\nwant %s", strings.Join(got, " "), want)
	}
	for _, bad := range []string{``, `[1]`, `{"a":1} x`, `{"a":1`, `{"a":tru}`, `{"t":{"d":}}`, `{"a":"` + "\x01" + `"}`, `{"a":1}{"b":2}`} {
		err := Members([]byte(bad), func(k, v []byte) {}, inner)
		if err == nil {
			t.Errorf("Members(%q): no error", bad)
		}
		if (bad == `` || bad == `[1]` || bad == `{"a":1} x` || bad == `{"a":1}{"b":2}`) && !errors.Is(err, ErrNotObject) {
			t.Errorf("Members(%q) = %v; want ErrNotObject", bad, err)
		}
	}
}
