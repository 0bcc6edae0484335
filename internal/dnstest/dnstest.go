// Package dnstest is a DNS server on loopback for resolver tests: it
// answers A and AAAA questions from a table, with the TTLs given, says
// NXDOMAIN for other names, and counts the questions it was asked.
package dnstest

import (
	"time"

	"net"
	"net/netip"
	"sync"
	"testing"

	"github.com/miekg/dns"
)

// Name is what the server knows of one name.
type Name struct {
	Addrs []netip.Addr // A and AAAA records
	TTL   uint32
}

// Server is a DNS server on a loopback UDP port.
type Server struct {
	Addr  string        // host:port
	Delay time.Duration // each answer waits this long, as a real resolver's would

	mu     sync.Mutex
	names  map[string]Name // by fully qualified, lower-case name
	counts map[string]int  // "name TYPE" -> questions
}

// Start serves names until the test ends.
func Start(t testing.TB, names map[string]Name) *Server {
	t.Helper()
	s, stop, err := Serve(names, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return s
}

// Serve serves names, each answer after delay, until stop is called.
func Serve(names map[string]Name, delay time.Duration) (s *Server, stop func(), err error) {
	s = &Server{names: map[string]Name{}, counts: map[string]int{}, Delay: delay}
	for n, v := range names {
		s.names[dns.Fqdn(n)] = v
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	s.Addr = pc.LocalAddr().String()
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(s.answer)}
	started := make(chan struct{})
	srv.NotifyStartedFunc = func() { close(started) }
	go srv.ActivateAndServe()
	<-started
	return s, func() { srv.Shutdown() }, nil
}

// Count returns how many questions of type qtype ("A", "AAAA") about
// name the server was asked.
func (s *Server) Count(name, qtype string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[dns.Fqdn(name)+" "+qtype]
}

// Total returns how many questions the server was asked.
func (s *Server) Total() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.counts {
		n += c
	}
	return n
}

func (s *Server) answer(w dns.ResponseWriter, req *dns.Msg) {
	if s.Delay > 0 {
		time.Sleep(s.Delay) // miekg/dns answers each question on a goroutine of its own
	}
	m := new(dns.Msg)
	m.SetReply(req)
	q := req.Question[0]
	s.mu.Lock()
	s.counts[q.Name+" "+dns.TypeToString[q.Qtype]]++
	name, ok := s.names[q.Name]
	s.mu.Unlock()
	if !ok {
		m.Rcode = dns.RcodeNameError
		m.Ns = []dns.RR{&dns.SOA{Hdr: dns.RR_Header{Name: "test.", Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: 60},
			Ns: "ns.test.", Mbox: "admin.test.", Serial: 1, Refresh: 60, Retry: 60, Expire: 60, Minttl: 30}}
		w.WriteMsg(m)
		return
	}
	for _, a := range name.Addrs {
		hdr := dns.RR_Header{Name: q.Name, Class: dns.ClassINET, Ttl: name.TTL}
		switch {
		case q.Qtype == dns.TypeA && a.Is4():
			hdr.Rrtype = dns.TypeA
			m.Answer = append(m.Answer, &dns.A{Hdr: hdr, A: a.AsSlice()})
		case q.Qtype == dns.TypeAAAA && a.Is6():
			hdr.Rrtype = dns.TypeAAAA
			m.Answer = append(m.Answer, &dns.AAAA{Hdr: hdr, AAAA: a.AsSlice()})
		}
	}
	w.WriteMsg(m)
}
