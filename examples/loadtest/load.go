package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"sync"
	"time"
)

// target is where a load run sends chat completions.
type target struct {
	Name  string // "direct", "proxy", "gateway"
	URL   string // the chat completions endpoint
	Key   string // bearer key; "" for none
	Model string // the body's model
}

// newClient returns a keep-alive client that keeps up to conns idle
// connections to one host, so that a run at its bound never closes one.
func newClient(conns int) *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}}
}

// chatBody is the request every load run sends: one short user message.
func chatBody(model string, stream bool) []byte {
	s := ""
	if stream {
		s = `,"stream":true`
	}
	return []byte(`{"model":` + strconv.Quote(model) + `,"messages":[{"role":"user","content":"Say hello in one short sentence."}]` + s + `}`)
}

// runSpec is one fixed-rate run: Rate requests per second for Duration, open
// loop.
type runSpec struct {
	Target      target
	Stream      bool
	Rate        float64
	Duration    time.Duration
	MaxInFlight int           // bound on requests in flight; a request due when it is reached is not sent and counts as an error
	Workers     int           // closed loop (saturate): this many requests in flight at all times; Rate is 0
	Timeout     time.Duration // per request
}

// result is what a run measured.
type result struct {
	Run      runSpec
	Sent     int             // requests due (Rate × Duration)
	OK       int             // answered 200 with a complete body
	Errors   int             // everything else, Dropped included
	Dropped  int             // not sent: MaxInFlight requests were in flight when it was due
	Elapsed  time.Duration   // from the first request's due time to the last answer
	Lat      []time.Duration // of the OK requests, from each one's due time, sorted
	ErrKinds map[string]int  // error description → count

	Workers              int   // open loop: workers started (the most requests that were in flight at once)
	KernelDrops, Retrans int64 // the machine's loopback backlog drops and TCP retransmissions during the run (Linux)
}

// Achieved is the successful requests per second over the run.
func (r *result) Achieved() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.OK) / r.Elapsed.Seconds()
}

// ErrorRate is the fraction of requests that failed.
func (r *result) ErrorRate() float64 {
	if r.Sent == 0 {
		return 0
	}
	return float64(r.Errors) / float64(r.Sent)
}

// Percentile returns the p-quantile (0 < p ≤ 1) of the latencies, by the
// nearest-rank method; 0 when nothing succeeded.
func (r *result) Percentile(p float64) time.Duration {
	return percentile(r.Lat, p)
}

// percentile is the nearest-rank p-quantile of sorted: the smallest value
// with at least p of the values at or below it.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// sustained reports whether r held its rate: p99 under limit, at most 0.1%
// errors, and throughput within 5% of the rate asked.
func (r *result) sustained(limit time.Duration) bool {
	return r.OK > 0 && r.Percentile(0.99) < limit && r.ErrorRate() <= 0.001 && r.Achieved() >= 0.95*r.Run.Rate
}

// attack runs rn with client: an open-loop scheduler issues request i at
// start + i/Rate whatever the earlier ones are doing, to an idle worker
// (started as needed), at most MaxInFlight at once. A request's latency runs from its
// due time, so a late scheduler or a queue anywhere counts against the
// target (no coordinated omission).
func attack(ctx context.Context, client *http.Client, rn runSpec) *result {
	n := int(rn.Rate * rn.Duration.Seconds())
	if n < 1 {
		n = 1
	}
	body := chatBody(rn.Target.Model, rn.Stream)
	type outcome struct {
		lat time.Duration
		end time.Time
		err string // "" when OK
	}
	outs := make([]outcome, n)
	step := float64(time.Second) / rn.Rate
	start := time.Now().Add(5 * time.Millisecond)
	dueAt := func(i int) time.Time { return start.Add(time.Duration(float64(i) * step)) }
	// Workers are started as needed, up to MaxInFlight, and take due
	// requests from an unbuffered channel: a request is handed over only to
	// a worker that is idle, and keeps its stack (no goroutine, no stack
	// growth per request).
	jobs := make(chan int)
	var wg sync.WaitGroup
	workers := 0
	work := func(i int) {
		defer wg.Done()
		for ok := true; ok; i, ok = <-jobs {
			err := do(ctx, client, rn, body)
			end := time.Now()
			outs[i] = outcome{lat: end.Sub(dueAt(i)), end: end}
			if err != nil {
				outs[i].err = err.Error()
			}
		}
	}
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	sent := 0
loop:
	for i := range n {
		if d := time.Until(dueAt(i)); d > 0 {
			timer.Reset(d)
			select {
			case <-ctx.Done():
				break loop
			case <-timer.C:
			}
		} else if ctx.Err() != nil {
			break
		}
		sent++
		select {
		case jobs <- i:
		default:
			if workers == rn.MaxInFlight {
				outs[i] = outcome{err: "not sent: max in flight reached", end: time.Now()}
				continue
			}
			workers++
			wg.Add(1)
			go work(i)
		}
	}
	close(jobs)
	wg.Wait()

	res := &result{Run: rn, Sent: sent, ErrKinds: map[string]int{}}
	res.Lat = make([]time.Duration, 0, sent)
	var last time.Time
	for _, o := range outs[:sent] {
		if o.end.After(last) {
			last = o.end
		}
		if o.err != "" {
			res.Errors++
			res.ErrKinds[o.err]++
			if o.lat == 0 {
				res.Dropped++
			}
			continue
		}
		res.OK++
		res.Lat = append(res.Lat, o.lat)
	}
	slices.Sort(res.Lat)
	if sent > 0 {
		res.Elapsed = max(last.Sub(start), time.Duration(float64(sent)*step))
		res.Workers = workers
	}
	return res
}

// saturate runs rn closed-loop: rn.Workers goroutines each send a request
// as soon as their previous one is answered, for rn.Duration. Its
// throughput is the most the target serves with that many requests in
// flight; latencies run from each request's start.
func saturate(ctx context.Context, client *http.Client, rn runSpec) *result {
	body := chatBody(rn.Target.Model, rn.Stream)
	type worker struct {
		lat  []time.Duration
		errs map[string]int
		sent int
	}
	ws := make([]worker, rn.Workers)
	start := time.Now()
	end := start.Add(rn.Duration)
	var wg sync.WaitGroup
	for i := range ws {
		w := &ws[i]
		w.errs = map[string]int{}
		wg.Go(func() {
			for ctx.Err() == nil {
				t := time.Now()
				if !t.Before(end) {
					return
				}
				w.sent++
				if err := do(ctx, client, rn, body); err != nil {
					w.errs[err.Error()]++
					continue
				}
				w.lat = append(w.lat, time.Since(t))
			}
		})
	}
	wg.Wait()
	res := &result{Run: rn, Elapsed: time.Since(start), ErrKinds: map[string]int{}}
	for _, w := range ws {
		res.Sent += w.sent
		res.OK += len(w.lat)
		res.Lat = append(res.Lat, w.lat...)
		for k, v := range w.errs {
			res.ErrKinds[k] += v
			res.Errors += v
		}
	}
	slices.Sort(res.Lat)
	return res
}

// do sends one chat completion and reads the whole answer: a 200 with a
// JSON body holding "choices", or a stream of "data:" events that ends with
// "data: [DONE]" after at least one chunk.
func do(ctx context.Context, client *http.Client, rn runSpec, body []byte) error {
	if rn.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, rn.Timeout)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, rn.Target.URL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if rn.Target.Key != "" {
		req.Header.Set("Authorization", "Bearer "+rn.Target.Key)
	}
	resp, err := client.Do(req)
	if err != nil {
		return errors.New(errClass(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		// The OpenAI error's code tells the failures apart (a message has
		// numbers in it, and would not group).
		var e struct {
			Error struct {
				Code any `json:"code"`
			} `json:"error"`
		}
		json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&e)
		io.Copy(io.Discard, resp.Body)
		if e.Error.Code != nil {
			return fmt.Errorf("status %d (%v)", resp.StatusCode, e.Error.Code)
		}
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	if !rn.Stream {
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			return errors.New("reading the body: " + errClass(err))
		}
		if !bytes.Contains(b, []byte(`"choices"`)) {
			return errors.New("answer without choices")
		}
		return nil
	}
	sc := bufio.NewScanner(resp.Body)
	chunks, done := 0, false
	for sc.Scan() {
		line := sc.Bytes()
		data, ok := bytes.CutPrefix(line, []byte("data: "))
		if !ok {
			continue
		}
		if string(data) == "[DONE]" {
			done = true
			break
		}
		if bytes.Contains(data, []byte(`"error"`)) {
			return errors.New("error event in the stream")
		}
		chunks++
	}
	if err := sc.Err(); err != nil {
		return errors.New("reading the stream: " + errClass(err))
	}
	if !done || chunks == 0 {
		return errors.New("stream ended without [DONE]")
	}
	io.Copy(io.Discard, resp.Body)
	return nil
}

// errClass names a transport error without its addresses, so that errors
// group by kind.
func errClass(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return "connection closed early"
	case errors.As(err, &ne) && ne.Timeout():
		return "network timeout"
	}
	var oe *net.OpError
	if errors.As(err, &oe) {
		return oe.Op + ": " + oe.Err.Error()
	}
	return err.Error()
}

// topErrors lists the most frequent error kinds of r, at most n.
func topErrors(r *result, n int) string {
	type kv struct {
		k string
		v int
	}
	var all []kv
	for k, v := range r.ErrKinds {
		all = append(all, kv{k, v})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].v > all[j].v || all[i].v == all[j].v && all[i].k < all[j].k })
	s := ""
	for i, e := range all {
		if i == n {
			break
		}
		if s != "" {
			s += "; "
		}
		s += fmt.Sprintf("%d× %s", e.v, e.k)
	}
	return s
}
