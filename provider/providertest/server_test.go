package providertest_test

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	openai "github.com/sashabaranov/go-openai"

	"github.com/modelroute/modelroute/provider"
	"github.com/modelroute/modelroute/provider/providertest"
)

func client(srv *providertest.Server) *openai.Client {
	cfg := openai.DefaultConfig("sk-test")
	cfg.BaseURL = srv.URL()
	cfg.HTTPClient = srv.Client()
	return openai.NewClientWithConfig(cfg)
}

func TestServerWithGoOpenAI(t *testing.T) {
	srv := providertest.NewServer(providertest.WithChunks("Hel", "lo", " \"wörld\"\n"), providertest.WithModels("a", "b"))
	defer srv.Close()
	c := client(srv)

	resp, err := c.CreateChatCompletion(ctx, chat("gpt-4o"))
	if err != nil {
		t.Fatal(err)
	}
	if resp.Model != "gpt-4o" || resp.Choices[0].Message.Content != "Hello \"wörld\"\n" || resp.Usage.TotalTokens != 15 || resp.Choices[0].FinishReason != "stop" {
		t.Errorf("chat answer = %+v", resp)
	}

	req := chat("gpt-4o")
	req.StreamOptions = &openai.StreamOptions{IncludeUsage: true}
	s, err := c.CreateChatCompletionStream(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	var usage *openai.Usage
	for {
		ch, err := s.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if ch.Usage != nil {
			usage = ch.Usage
		}
		for _, c := range ch.Choices {
			got = append(got, c.Delta.Role+"|"+c.Delta.Content+"|"+string(c.FinishReason))
		}
	}
	s.Close()
	want := []string{"assistant|Hel|", "|lo|", "| \"wörld\"\n|", "||stop"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("stream (-want +got):\n%s", diff)
	}
	if usage == nil || usage.TotalTokens != 15 {
		t.Errorf("stream usage = %+v, want the usage chunk", usage)
	}

	for _, format := range []openai.EmbeddingEncodingFormat{"", openai.EmbeddingEncodingFormatFloat, openai.EmbeddingEncodingFormatBase64} {
		emb, err := c.CreateEmbeddings(ctx, openai.EmbeddingRequest{Model: "text-embedding-3-small", Input: []string{"x", "y"}, EncodingFormat: format})
		if err != nil {
			t.Fatalf("embeddings %q: %v", format, err)
		}
		if len(emb.Data) != 2 || !cmp.Equal(emb.Data[1].Embedding, []float32{0.1, 0.2, 0.3}) || emb.Usage.PromptTokens != 2 {
			t.Errorf("embeddings %q = %+v", format, emb)
		}
	}

	models, err := c.ListModels(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, m := range models.Models {
		ids = append(ids, m.ID)
	}
	if !cmp.Equal(ids, []string{"a", "b"}) {
		t.Errorf("models = %v", ids)
	}
}

func post(t *testing.T, srv *providertest.Server, path, body string, header http.Header) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, srv.Root()+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = header
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestServerSSEWire(t *testing.T) {
	srv := providertest.NewServer()
	defer srv.Close()
	resp, body := post(t, srv, "/v1/chat/completions", `{"model":"m","stream":true,"messages":[]}`, nil)
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Errorf("Content-Type = %q", ct)
	}
	events := strings.Split(strings.TrimSuffix(body, "\n\n"), "\n\n")
	if last := events[len(events)-1]; last != "data: [DONE]" {
		t.Errorf("last event = %q, want data: [DONE]", last)
	}
	for _, ev := range events[:len(events)-1] {
		data, ok := strings.CutPrefix(ev, "data: ")
		if !ok || !json.Valid([]byte(data)) {
			t.Errorf("event %q is not a data: line of JSON", ev)
		}
		var chunk openai.ChatCompletionStreamResponse
		if err := json.Unmarshal([]byte(data), &chunk); err != nil || chunk.Object != "chat.completion.chunk" || chunk.Model != "m" {
			t.Errorf("chunk %s: %v", data, err)
		}
	}
	if len(events) != 4 { // o, k, finish, [DONE]
		t.Errorf("%d events, want 4:\n%s", len(events), body)
	}
}

func TestServerCounts(t *testing.T) {
	srv := providertest.NewServer()
	defer srv.Close()
	c := client(srv)
	for _, m := range []string{"a", "a", "b"} {
		if _, err := c.CreateChatCompletion(ctx, chat(m)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.CreateEmbeddings(ctx, openai.EmbeddingRequest{Model: "e", Input: "x"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ListModels(ctx); err != nil {
		t.Fatal(err)
	}
	got := map[string]int{
		"chat": srv.Count(providertest.PathChat), "embeddings": srv.Count(providertest.PathEmbeddings),
		"models": srv.Count(providertest.PathModels), "a": srv.CountModel("a"), "b": srv.CountModel("b"),
		"e": srv.CountModel("e"), "total": srv.Total(),
	}
	want := map[string]int{"chat": 3, "embeddings": 1, "models": 1, "a": 2, "b": 1, "e": 1, "total": 5}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("counts (-want +got):\n%s", diff)
	}
	last, ok := srv.LastRequest()
	if !ok || last.Path != providertest.PathModels || last.Method != http.MethodGet || last.Header.Get("Authorization") != "Bearer sk-test" {
		t.Errorf("LastRequest = %+v", last)
	}
	srv.ResetCounts()
	if _, ok := srv.LastRequest(); ok || srv.Total() != 0 || srv.CountModel("a") != 0 {
		t.Error("ResetCounts left counts behind")
	}
}

func TestServerFaults(t *testing.T) {
	srv := providertest.NewServer(providertest.WithSeed(7))
	defer srv.Close()
	c := client(srv)
	status := func(model string) int {
		_, err := c.CreateChatCompletion(ctx, chat(model))
		var e *openai.APIError
		if errors.As(err, &e) {
			return e.HTTPStatusCode
		}
		if err != nil {
			t.Fatalf("%s: %v", model, err)
		}
		return 200
	}

	srv.SetFault("", providertest.Fault{Status: 503})
	srv.SetFault("special", providertest.Fault{Status: 404})
	srv.SetFault("twice", providertest.Fault{Status: 500, Times: 2})
	got := []int{status("any"), status("special"), status("twice"), status("twice"), status("twice")}
	if diff := cmp.Diff([]int{503, 404, 500, 500, 200}, got); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
	srv.ClearFault("special")
	if s := status("special"); s != 503 {
		t.Errorf("after ClearFault: %d, want the global 503", s)
	}
	srv.ClearFault("")
	if s := status("any"); s != 200 {
		t.Errorf("after clearing the global fault: %d", s)
	}

	srv.SetFault("third", providertest.Fault{Status: 429, Probability: 1.0 / 3})
	failed := 0
	const n = 600
	for range n {
		if status("third") == 429 {
			failed++
		}
	}
	if failed < n/3-60 || failed > n/3+60 {
		t.Errorf("a 1/3 fault hit %d of %d requests", failed, n)
	}
	srv.ClearFaults()
	if s := status("third"); s != 200 {
		t.Errorf("after ClearFaults: %d", s)
	}
}

func TestServerFaultWire(t *testing.T) {
	srv := providertest.NewServer()
	defer srv.Close()
	srv.SetFault("", providertest.Fault{
		Status: 429, RetryAfter: 1500 * time.Millisecond, Message: "slow down",
		Header: http.Header{"X-Ratelimit-Remaining-Requests": {"0"}},
	})
	resp, body := post(t, srv, "/v1/chat/completions", `{"model":"m"}`, nil)
	if resp.StatusCode != 429 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	for k, want := range map[string]string{"Retry-After": "2", "Retry-After-Ms": "1500", "X-Ratelimit-Remaining-Requests": "0", "Content-Type": "application/json"} {
		if v := resp.Header.Get(k); v != want {
			t.Errorf("%s = %q, want %q", k, v, want)
		}
	}
	var er struct {
		Error struct {
			Message, Type string
			Param, Code   *string
		}
	}
	if err := json.Unmarshal([]byte(body), &er); err != nil {
		t.Fatal(err)
	}
	if er.Error.Message != "slow down" || er.Error.Type != "requests" || er.Error.Code == nil || *er.Error.Code != "rate_limit_exceeded" || er.Error.Param != nil {
		t.Errorf("body = %s", body)
	}
	if !strings.Contains(body, `"param":null`) {
		t.Errorf("body %s lacks param", body)
	}
}

func TestServerBadRequests(t *testing.T) {
	srv := providertest.NewServer(providertest.WithAPIKey("sk-right"))
	defer srv.Close()
	bearer := http.Header{"Authorization": {"Bearer sk-right"}}
	tests := []struct {
		name, method, path, body string
		header                   http.Header
		status                   int
		code                     string
	}{
		{"unknown path", "POST", "/v1/completions", `{"model":"m"}`, bearer, 404, "unknown_url"},
		{"GET chat", "GET", "/v1/chat/completions", "", bearer, 405, "method_not_allowed"},
		{"POST models", "POST", "/v1/models", "", bearer, 405, "method_not_allowed"},
		{"no key", "POST", "/v1/chat/completions", `{"model":"m"}`, nil, 401, "invalid_api_key"},
		{"wrong key", "POST", "/v1/chat/completions", `{"model":"m"}`, http.Header{"Authorization": {"Bearer sk-wrong"}}, 401, "invalid_api_key"},
		{"api-key header", "POST", "/v1/chat/completions", `{"model":"m"}`, http.Header{"Api-Key": {"sk-right"}}, 200, ""},
		{"bad JSON", "POST", "/v1/chat/completions", `{"model":`, bearer, 400, "invalid_json"},
		{"no model", "POST", "/v1/chat/completions", `{"messages":[]}`, bearer, 400, "missing_model"},
		{"bad input", "POST", "/v1/embeddings", `{"model":"e","input":{}}`, bearer, 400, "invalid_input"},
		{"empty input", "POST", "/v1/embeddings", `{"model":"e","input":[]}`, bearer, 400, "invalid_input"},
		{"token input", "POST", "/v1/embeddings", `{"model":"e","input":[1,2,3]}`, bearer, 200, ""},
		{"models with key", "GET", "/v1/models", "", bearer, 200, ""},
		{"any base path", "POST", "/api/openai/chat/completions", `{"model":"m"}`, bearer, 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, srv.Root()+tt.path, strings.NewReader(tt.body))
			req.Header = tt.header
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.status)
			}
			if tt.code == "" {
				return
			}
			var er openai.ErrorResponse
			if err := json.NewDecoder(resp.Body).Decode(&er); err != nil || er.Error == nil || er.Error.Code != tt.code {
				t.Errorf("body: %+v, %v; want code %q", er.Error, err, tt.code)
			}
		})
	}
}

func TestServerDrop(t *testing.T) {
	srv := providertest.NewServer()
	defer srv.Close()
	srv.SetFault("", providertest.Fault{Drop: true})
	resp, err := srv.Client().Post(srv.URL()+"/chat/completions", "application/json", strings.NewReader(`{"model":"m"}`))
	if err == nil {
		resp.Body.Close()
		t.Fatalf("a dropped connection answered %d", resp.StatusCode)
	}
	if provider.Classify(err).Kind != provider.KindConnection {
		t.Errorf("drop: %v, want a connection error", err)
	}
}

func TestServerStreamCut(t *testing.T) {
	srv := providertest.NewServer(providertest.WithChunks("a", "b", "c"))
	defer srv.Close()
	srv.SetFault("", providertest.Fault{CutAfter: 2})
	resp, err := srv.Client().Post(srv.URL()+"/chat/completions", "application/json", strings.NewReader(`{"model":"m","stream":true}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	var data int
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "data: ") {
			data++
		}
	}
	if data != 2 || !errors.Is(sc.Err(), io.ErrUnexpectedEOF) {
		t.Errorf("%d data lines, then %v; want 2 and an unexpected EOF", data, sc.Err())
	}
}

// arrivals wraps a Server's handler to signal each request's arrival.
func arrivals(srv *providertest.Server) (string, <-chan struct{}, func()) {
	ch := make(chan struct{}, 16)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ch <- struct{}{}
		srv.ServeHTTP(w, r)
	}))
	return hs.URL + "/v1", ch, hs.Close
}

func TestHandlerCloseEndsWaits(t *testing.T) {
	srv := providertest.NewServer()
	srv.SetFault("", providertest.Fault{Latency: time.Hour})
	url, arrived, stop := arrivals(srv)
	defer stop()
	errc := make(chan error, 1)
	go func() {
		resp, err := http.Post(url+"/chat/completions", "application/json", strings.NewReader(`{"model":"m"}`))
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	<-arrived
	start := time.Now()
	srv.Close() // ends the hour-long wait, dropping the connection
	if err := <-errc; err == nil {
		t.Error("a request cut by Close succeeded")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Close took %v", d)
	}
}

func TestHandlerFake(t *testing.T) {
	h := providertest.NewHandler(providertest.WithChunks("x", "y"))
	f := h.Fake()
	h.SetFault("bad", providertest.Fault{Status: 429, RetryAfter: 2 * time.Second})
	resp, err := f.ChatCompletion(ctx, chat("good"))
	if err != nil || resp.Choices[0].Message.Content != "xy" {
		t.Errorf("good: %+v, %v", resp, err)
	}
	_, err = f.ChatCompletion(ctx, chat("bad"))
	if e := provider.Classify(err); e.Kind != provider.KindRateLimited || e.Status != 429 || e.RetryAfter != 2*time.Second || e.Model != "bad" {
		t.Errorf("bad: %+v", e)
	}
	f.Embeddings(ctx, openai.EmbeddingRequest{Model: "e", Input: "x"})
	f.Probe(ctx)
	got := map[string]int{
		"chat": h.Count(providertest.PathChat), "embeddings": h.Count(providertest.PathEmbeddings),
		"models": h.Count(providertest.PathModels), "bad": h.CountModel("bad"), "total": h.Total(),
	}
	if diff := cmp.Diff(map[string]int{"chat": 2, "embeddings": 1, "models": 1, "bad": 1, "total": 4}, got); diff != "" {
		t.Errorf("counts (-want +got):\n%s", diff)
	}
}

func TestServerConcurrent(t *testing.T) {
	srv := providertest.NewServer()
	defer srv.Close()
	srv.SetFault("flaky", providertest.Fault{Status: 503, Probability: 0.5})
	c := client(srv)
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for range 20 {
				model := "steady"
				if w%2 == 0 {
					model = "flaky"
				}
				c.CreateChatCompletion(ctx, chat(model))
				srv.Count(providertest.PathChat)
			}
		})
	}
	wg.Wait()
	if srv.Total() != 160 || srv.CountModel("steady") != 80 {
		t.Errorf("total %d, steady %d", srv.Total(), srv.CountModel("steady"))
	}
}

func FuzzHandler(f *testing.F) {
	paths := []string{"/v1/chat/completions", "/v1/embeddings", "/v1/models", "/openai/deployments/d/chat/completions", "/nowhere"}
	for _, s := range []string{
		`{"model":"m","messages":[{"role":"user","content":"hi"}]}`,
		`{"model":"m","stream":true,"stream_options":{"include_usage":true}}`,
		`{"model":"\u2028\"\\","input":["a",1]}`,
		`{"model":"e","input":[[1,2],[3]],"encoding_format":"base64"}`,
		`{"model":5}`, `[]`, ``, "{\"model\":\"m\",\"input\":\"\xff\"}",
	} {
		for i := range paths {
			f.Add(uint8(i), s)
		}
	}
	h := providertest.NewHandler()
	f.Fuzz(func(t *testing.T, sel uint8, body string) {
		path := paths[int(sel)%len(paths)]
		req := httptest.NewRequest(http.MethodPost, "http://fake"+path, strings.NewReader(body))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		switch rec.Code {
		case 200:
			if ct := rec.Header().Get("Content-Type"); ct == "application/json" && !json.Valid(rec.Body.Bytes()) {
				t.Errorf("invalid JSON answer for %q: %s", body, rec.Body)
			}
			if rec.Header().Get("Content-Type") == "text/event-stream" {
				for _, ev := range strings.Split(strings.TrimSpace(rec.Body.String()), "\n\n") {
					data, _ := strings.CutPrefix(ev, "data: ")
					if data != "[DONE]" && !json.Valid([]byte(data)) {
						t.Errorf("invalid event %q for %q", ev, body)
					}
				}
			}
		case 400, 404, 405, 413:
			var er openai.ErrorResponse
			if err := json.Unmarshal(rec.Body.Bytes(), &er); err != nil || er.Error == nil {
				t.Errorf("error body %s: %v", rec.Body, err)
			}
		default:
			t.Errorf("status %d for %s %q", rec.Code, path, body)
		}
	})
}

// BenchmarkHandler is the Handler's own cost per request, without the
// network: what a load test pays on the fake upstream's side.
func BenchmarkHandler(b *testing.B) {
	h := providertest.NewHandler()
	for _, bm := range []struct{ name, path, body string }{
		{"chat", "/v1/chat/completions", `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Say ok."}]}`},
		{"stream", "/v1/chat/completions", `{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"Say ok."}]}`},
		{"embeddings", "/v1/embeddings", `{"model":"text-embedding-3-small","input":["a","b"]}`},
	} {
		b.Run(bm.name, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				r := strings.NewReader(bm.body)
				for pb.Next() {
					r.Reset(bm.body)
					req := httptest.NewRequest(http.MethodPost, bm.path, r)
					rec := httptest.NewRecorder()
					h.ServeHTTP(rec, req)
					if rec.Code != 200 {
						b.Fatalf("status %d", rec.Code)
					}
				}
			})
		})
	}
}
