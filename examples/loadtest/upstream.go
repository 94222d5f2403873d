package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"runtime/pprof"
	"strconv"
	"sync"
	"time"

	"github.com/modelroute/modelroute/provider"
	"github.com/modelroute/modelroute/provider/providertest"
)

// server is an http.Server on a loopback port of its own.
type server struct {
	srv  *http.Server
	addr string
	errc chan error
}

// serve serves h on a new loopback port. Its goroutines, those of its
// connections included, carry the profiler label part=part, so that a CPU
// profile of the tool splits by part (go tool pprof -tagfocus part=gateway).
func serve(part string, h http.Handler) (*server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &server{
		srv:  &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute},
		addr: ln.Addr().String(),
		errc: make(chan error, 1),
	}
	go labelled(part, func() { s.errc <- s.srv.Serve(ln) })
	return s, nil
}

// labelled runs fn with the profiler label part=part; goroutines fn starts
// inherit it.
func labelled(part string, fn func()) {
	pprof.Do(context.Background(), pprof.Labels("part", part), func(context.Context) { fn() })
}

func (s *server) URL() string { return "http://" + s.addr }

// Close closes the listener and every connection at once.
func (s *server) Close() {
	s.srv.Close()
	<-s.errc
}

// upstream is the providertest fake OpenAI-compatible server on a real
// loopback listener, optionally with a recorder in front.
type upstream struct {
	*server
	fake *providertest.Handler
	rec  *recorder // nil unless recording
}

// startUpstream serves a fake handler; with record, every chat request's
// arrival and answer are logged per model.
func startUpstream(record bool, opts ...providertest.Option) (*upstream, error) {
	u := &upstream{fake: providertest.NewHandler(opts...)}
	var h http.Handler = u.fake
	if record {
		u.rec = &recorder{next: u.fake}
		h = u.rec
	}
	s, err := serve("upstream", h)
	if err != nil {
		return nil, err
	}
	u.server = s
	return u, nil
}

// BaseURL is what a LiteLLM config's api_base names: the server's /v1.
func (u *upstream) BaseURL() string { return u.URL() + "/v1" }

func (u *upstream) Close() {
	u.fake.Close() // ends injected waits first, so Close does not wait on them
	u.server.Close()
}

// arrival is one request as the fake upstream saw it.
type arrival struct {
	Model      string
	At         time.Time     // when the request reached the server (headers and body read)
	Answered   time.Time     // when the answer's status was written; zero if none (dropped, or the client left)
	Status     int           // the answer's status; 0 if none
	RetryAfter time.Duration // from retry-after-ms or Retry-After, on an error answer
}

// recorder sits in front of the fake handler and logs every chat request:
// the model, the arrival time and the answer's status and Retry-After.
type recorder struct {
	next http.Handler

	mu   sync.Mutex
	log  []arrival // guarded by mu
	stop bool      // guarded by mu; stops logging (bounds memory in long runs)
}

func (rc *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, "recorder: cannot read the body", http.StatusBadRequest)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	var m struct {
		Model string `json:"model"`
	}
	json.Unmarshal(body, &m)
	a := arrival{Model: m.Model, At: time.Now()}
	sw := &statusWriter{ResponseWriter: w}
	rc.next.ServeHTTP(sw, r)
	a.Status, a.Answered = sw.status, sw.at
	if sw.status >= 400 {
		h := sw.Header()
		if ms, err := strconv.Atoi(h.Get("Retry-After-Ms")); err == nil {
			a.RetryAfter = time.Duration(ms) * time.Millisecond
		} else if s, err := strconv.Atoi(h.Get("Retry-After")); err == nil {
			a.RetryAfter = time.Duration(s) * time.Second
		}
	}
	rc.mu.Lock()
	if !rc.stop {
		rc.log = append(rc.log, a)
	}
	rc.mu.Unlock()
}

// arrivals returns a copy of the log.
func (rc *recorder) arrivals() []arrival {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]arrival(nil), rc.log...)
}

// statusWriter remembers the status of an answer and when it was written.
// Unwrap lets http.ResponseController reach the underlying writer's Flush
// and Hijack (the fake drops connections by hijacking them).
type statusWriter struct {
	http.ResponseWriter
	status int
	at     time.Time
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status, s.at = code, time.Now()
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status, s.at = http.StatusOK, time.Now()
	}
	return s.ResponseWriter.Write(b)
}

func (s *statusWriter) Flush() {
	http.NewResponseController(s.ResponseWriter).Flush()
}

func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// startProxy serves a bare httputil.ReverseProxy to target: the cost of a Go
// HTTP hop that parses nothing. Its transport is the one the gateway's
// providers use (provider.NewHTTPClient: 1024 idle connections per host), so
// both hops keep the same connection pool to the upstream.
//
// It returns the proxy's transport too, whose idle connections the tool
// drops after an overload. idle, when positive, replaces the 1024 idle
// connections per host with idle
// (see benchConfig.UpstreamIdle).
func startProxy(target string, idle int) (*server, *http.Transport, func(), error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, nil, nil, err
	}
	tr := provider.NewHTTPClient().Transport.(*http.Transport)
	if idle > 0 {
		tr.MaxIdleConns, tr.MaxIdleConnsPerHost = idle, idle
	}
	rp := &httputil.ReverseProxy{
		Rewrite:   func(r *httputil.ProxyRequest) { r.SetURL(u) },
		Transport: tr,
		ErrorLog:  log.New(io.Discard, "", 0), // overload errors are counted by the client
	}
	s, err := serve("proxy", rp)
	if err != nil {
		return nil, nil, nil, err
	}
	return s, tr, func() { s.Close(); tr.CloseIdleConnections() }, nil
}
