package site

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// The JSON API of the site, for requests as data and --jq:
//
//	/api/echo          any method: the request as JSON (method, path, query,
//	                   headers, body and body_base64)
//	/api/user?id=N     GET: user N as a nested JSON object
//	/api/limited?key=K 429 with Retry-After: 1 until a second after the first
//	                   request for K, then a JSON answer
//	/api/slow?ms=N     waits N ms (or until the client goes away), then JSON
func api(mux *http.ServeMux) {
	mux.HandleFunc("/api/echo", echo)
	mux.HandleFunc("GET /api/user", user)
	l := &retryLater{first: map[string]time.Time{}}
	mux.HandleFunc("/api/limited", l.serve)
	mux.HandleFunc("GET /api/slow", slowJSON)
}

// maxEcho caps the request body the echo reads.
const maxEcho = 1 << 20

func echo(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxEcho))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	out := map[string]any{
		"method":      r.Method,
		"path":        r.URL.Path,
		"query":       r.URL.Query(),
		"headers":     r.Header,
		"host":        r.Host,
		"body_base64": base64.StdEncoding.EncodeToString(body),
	}
	if utf8.Valid(body) {
		out["body"] = string(body)
	}
	writeJSON(w, http.StatusOK, out)
}

func user(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.Atoi(r.URL.Query().Get("id"))
	if err != nil || id < 1 {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "want ?id=N, N >= 1"})
		return
	}
	plans := []string{"free", "pro", "team"}
	writeJSON(w, http.StatusOK, map[string]any{
		"id":      id,
		"name":    "user " + strconv.Itoa(id),
		"plan":    plans[id%len(plans)],
		"address": map[string]any{"city": []string{"Lisbon", "Oslo", "Quito"}[id%3], "zip": strings.Repeat(strconv.Itoa(id%10), 5)},
		"orders":  []map[string]any{{"id": id * 10, "total": 9.5}, {"id": id*10 + 1, "total": 20}},
	})
}

// retryLater answers 429 with Retry-After: 1 to a key's requests for a
// second after its first, then 200.
type retryLater struct {
	mu    sync.Mutex
	first map[string]time.Time
}

func (l *retryLater) serve(w http.ResponseWriter, r *http.Request) {
	key := r.URL.Query().Get("key")
	now := time.Now()
	l.mu.Lock()
	first, seen := l.first[key]
	if !seen {
		first = now
		l.first[key] = now
	}
	l.mu.Unlock()
	if now.Sub(first) < time.Second {
		w.Header().Set("Retry-After", "1")
		writeJSON(w, http.StatusTooManyRequests, map[string]any{"error": "slow down"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"key": key, "waited_ms": now.Sub(first).Milliseconds()})
}

func slowJSON(w http.ResponseWriter, r *http.Request) {
	ms, err := strconv.Atoi(r.URL.Query().Get("ms"))
	if err != nil || ms < 0 {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "want ?ms=N"})
		return
	}
	t := time.NewTimer(time.Duration(ms) * time.Millisecond)
	defer t.Stop()
	select {
	case <-t.C:
		writeJSON(w, http.StatusOK, map[string]any{"slept_ms": ms})
	case <-r.Context().Done():
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
