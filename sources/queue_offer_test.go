package sources

import "testing"

// A crawl page's message is settled once, by whichever comes last: the
// sink's verdict on its record or the end of its links' writes; done only
// when both say so.
func TestOfferedSettlesLast(t *testing.T) {
	for _, tc := range []struct {
		name         string
		verdictFirst bool
		verdict, ok  bool
		want         bool
	}{
		{"verdict, then links", true, true, true, true},
		{"links, then verdict", false, true, true, true},
		{"links not confirmed", true, true, false, false},
		{"record not written", false, false, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := &offered{}
			p.ok.Store(tc.ok)
			var got []bool
			sinkSays := p.settleAfter(func(done bool) { got = append(got, done) })
			if tc.verdictFirst {
				sinkSays(tc.verdict)
				if len(got) != 0 {
					t.Fatalf("settled %v before the links were answered", got)
				}
				p.linked()
			} else {
				p.linked()
				if len(got) != 0 {
					t.Fatalf("settled %v before the sink's verdict", got)
				}
				sinkSays(tc.verdict)
			}
			if len(got) != 1 || got[0] != tc.want {
				t.Errorf("settled %v; want [%v] once", got, tc.want)
			}
		})
	}
}
