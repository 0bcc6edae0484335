package record

import (
	"time"

	jsoniter "github.com/json-iterator/go"
)

// Timings are where the last attempt's time went (--trace), each measured
// from the start of the attempt's phase: a phase that did not happen (DNS
// for an IP address, connecting on a reused connection) is zero.
type Timings struct {
	Start    time.Time     // when the attempt started
	DNS      time.Duration // resolving the host name
	Connect  time.Duration // the TCP connection
	TLS      time.Duration // the TLS handshake
	TTFB     time.Duration // from the attempt's start to the first response byte (curl's time_starttransfer)
	Wait     time.Duration // from the request written to the first response byte: the server's time
	Transfer time.Duration // from the first response byte to the last body byte read
	Total    time.Duration // the whole attempt
	Reused   bool          // the connection was reused: no DNS, connect or TLS
}

// TLSInfo is the TLS connection of the last response, or what a server
// presented before its certificate was refused (--tls-info).
type TLSInfo struct {
	Version    string // "TLS 1.3"
	Cipher     string
	ALPN       string // "h2", "http/1.1"; empty when none was agreed
	ServerName string // the name sent in SNI
	Verified   bool   // the certificate chain was verified (false with --insecure, or when refused)
	Cert       *Cert  // the leaf certificate; nil when none was presented
}

// Cert describes a certificate.
type Cert struct {
	Subject, Issuer     string // RFC 2253 distinguished names
	SANs                []string
	NotBefore, NotAfter time.Time
	DaysLeft            int    // whole days until NotAfter from when it was fetched; negative once expired
	SHA256              string // the fingerprint of the DER certificate, hex
}

// Hop is one redirect response before the final one (--redirect-chain).
type Hop struct {
	URL    string
	Status int
}

// TimeFormat is how record times are written: RFC 3339 in UTC, to the
// microsecond.
const TimeFormat = "2006-01-02T15:04:05.000000Z07:00"

// ms writes d in milliseconds to the microsecond, as elapsed_ms.
func ms(s *jsoniter.Stream, d time.Duration) {
	s.WriteFloat64(float64(d.Microseconds()) / 1000)
}

func (e *Encoder) trace(r *Record) {
	s := e.s
	if t := r.Timings; t != nil && e.field("timings") {
		s.WriteObjectStart()
		s.WriteObjectField("start")
		var b [40]byte
		s.WriteRaw(`"`)
		s.Write(t.Start.UTC().AppendFormat(b[:0], TimeFormat))
		s.WriteRaw(`"`)
		for _, p := range []struct {
			name string
			d    time.Duration
		}{{"dns_ms", t.DNS}, {"connect_ms", t.Connect}, {"tls_ms", t.TLS}, {"ttfb_ms", t.TTFB}, {"wait_ms", t.Wait}, {"transfer_ms", t.Transfer}, {"total_ms", t.Total}} {
			field(s, p.name)
			ms(s, p.d)
		}
		field(s, "reused")
		s.WriteBool(t.Reused)
		if r.Render != nil {
			field(s, "render_ms")
			ms(s, r.Render.Elapsed)
		}
		s.WriteObjectEnd()
	}
	if r.RemoteAddr != "" && e.field("remote_addr") {
		writeString(s, r.RemoteAddr)
	}
	if r.LocalAddr != "" && e.field("local_addr") {
		writeString(s, r.LocalAddr)
	}
	if r.TLS != nil && e.field("tls") {
		e.tls(r.TLS)
	}
	if r.Redirects != nil && e.field("redirects") {
		writeObjects(s, len(r.Redirects), func(i int) {
			s.WriteObjectField("url")
			writeString(s, r.Redirects[i].URL)
			field(s, "status")
			s.WriteInt(r.Redirects[i].Status)
		})
	}
}

func (e *Encoder) tls(t *TLSInfo) {
	s := e.s
	s.WriteObjectStart()
	s.WriteObjectField("version")
	writeString(s, t.Version)
	field(s, "cipher")
	writeString(s, t.Cipher)
	field(s, "alpn")
	writeString(s, t.ALPN)
	field(s, "server_name")
	writeString(s, t.ServerName)
	field(s, "verified")
	s.WriteBool(t.Verified)
	if c := t.Cert; c != nil {
		field(s, "cert")
		s.WriteObjectStart()
		s.WriteObjectField("subject")
		writeString(s, c.Subject)
		field(s, "issuer")
		writeString(s, c.Issuer)
		field(s, "sans")
		writeStrings(s, c.SANs)
		field(s, "not_before")
		writeString(s, c.NotBefore.UTC().Format(time.RFC3339))
		field(s, "not_after")
		writeString(s, c.NotAfter.UTC().Format(time.RFC3339))
		field(s, "days_left")
		s.WriteInt(c.DaysLeft)
		field(s, "sha256")
		writeString(s, c.SHA256)
		s.WriteObjectEnd()
	}
	s.WriteObjectEnd()
}

// writeObjects writes an array of n objects; member writes the i-th's
// members.
func writeObjects(s *jsoniter.Stream, n int, members func(i int)) {
	s.WriteArrayStart()
	for i := range n {
		if i > 0 {
			s.WriteMore()
		}
		s.WriteObjectStart()
		members(i)
		s.WriteObjectEnd()
	}
	s.WriteArrayEnd()
}
