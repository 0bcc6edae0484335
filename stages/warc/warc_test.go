package warc

import "testing"

// SURT keys as warcio's getSurt (npm warcio 2.4.11) makes them: the CDXJ
// lines --warc-cdx writes must be the ones warcio cdx-index makes.
func TestSURTAsWarcio(t *testing.T) {
	for _, c := range [][2]string{
		{"http://127.0.0.1:8080/a/b?x=1&a=2", "1,0,0,127:8080)/a/b?a=2&x=1"},
		{"https://www.Example.com/Path?B=2&a=1#frag", "com,example)/path?a=1&b=2"},
		{"http://example.com", "com,example)/"},
		{"http://sub.example.com:80/", "com,example,sub)/"},
		{"https://example.com/%7Efoo", "com,example)/%7efoo"},
		{"https://www2.example.com:8443/a?", "com,example:8443)/a"},
		{"http://www.example.com./", ",com,example)/"},
		{"http://wwwexample.com/x", "com,wwwexample)/x"},
		{"https://[::1]:8443/x?b&a", "[::1]:8443)/x?a&b"},
		{"http://a.test:1234/g/60/leaf/41", "test,a:1234)/g/60/leaf/41"},
	} {
		if got := SURT(c[0]); got != c[1] {
			t.Errorf("SURT(%q) = %q; warcio gives %q", c[0], got, c[1])
		}
	}
}
