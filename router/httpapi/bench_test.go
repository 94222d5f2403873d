package httpapi_test

import (
	"net/http/httptest"
	"strings"
	"testing"
)

// BenchmarkChatCompletions is one chat completion through the whole Mux
// (authentication, authorization, decoding, routing to a Fake that answers
// at once, encoding), without a network.
func BenchmarkChatCompletions(b *testing.B) {
	fx := newFixture(b)
	body := chatBody("alias-1")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest("POST", "/v1/chat/completions", strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+fx.keyOnly)
			rec := httptest.NewRecorder()
			fx.srv.ServeHTTP(rec, req)
			if rec.Code != 200 {
				b.Fatal(rec.Code, rec.Body)
			}
		}
	})
}
