package crawl

import (
	"fmt"
	"net"
	"net/url"
	"strings"

	"golang.org/x/net/publicsuffix"

	"sluice/record"
)

// Scope kinds for --scope: what a seed lets its crawl reach.
const (
	ScopeHost   = "host"   // the seed's host and port, over http and https
	ScopeDomain = "domain" // the seed's registrable domain (Public Suffix List) and its subdomains
	ScopePrefix = "prefix" // URLs that start with the seed's URL up to the last '/' of its path
	ScopeAny    = "any"    // everything
)

// CheckScope reports whether kind is a --scope.
func CheckScope(kind string) error {
	switch kind {
	case ScopeHost, ScopeDomain, ScopePrefix, ScopeAny:
		return nil
	}
	return fmt.Errorf("%q is not a scope (want host, domain, prefix or any)", kind)
}

// ScopeOf is the scope of kind that a seed starts: href is the seed's URL
// as the WHATWG URL Standard serializes it, u the same parsed.
func ScopeOf(kind, href string, u *url.URL) record.Scope {
	switch kind {
	case ScopeHost:
		return record.Scope{Kind: kind, Key: record.HostKey(u.Scheme, u.Host)}
	case ScopeDomain:
		return record.Scope{Kind: kind, Key: registrable(u.Hostname())}
	case ScopePrefix:
		p := href
		if i := strings.IndexAny(p, "?#"); i >= 0 {
			p = p[:i]
		}
		authority := strings.Index(p, "://") + 3
		if i := strings.LastIndexByte(p, '/'); i >= authority {
			p = p[:i+1]
		} else {
			p += "/"
		}
		return record.Scope{Kind: kind, Key: p}
	}
	return record.Scope{Kind: ScopeAny}
}

// registrable is host's registrable domain ("eTLD+1"), lower case; a host
// that has none (an IP address, a name that is itself a public suffix,
// "localhost") is its own.
func registrable(host string) string {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if net.ParseIP(host) != nil {
		return host
	}
	d, err := publicsuffix.EffectiveTLDPlusOne(host)
	if err != nil {
		return host
	}
	return d
}

// inScope reports whether link, an absolute http(s) URL as
// record.LinkBase serializes it and u parsed, is within s.
func inScope(s *record.Scope, link, scheme, hostport string) bool {
	switch s.Kind {
	case ScopeHost:
		return record.HostKey(scheme, hostport) == s.Key
	case ScopeDomain:
		h := strings.ToLower(strings.TrimSuffix(hostname(hostport), "."))
		// On a label boundary: evilexample.com is not within example.com.
		return h == s.Key || strings.HasSuffix(h, "."+s.Key)
	case ScopePrefix:
		return strings.HasPrefix(link, s.Key)
	}
	return true
}

// hostname is hostport without its port, and an IPv6 literal without its
// brackets, as url.URL.Hostname gives it.
func hostname(hostport string) string {
	return (&url.URL{Host: hostport}).Hostname()
}
