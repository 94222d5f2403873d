package httpapi_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/modelroute/modelroute/alias"
	"github.com/modelroute/modelroute/provider/providertest"
	"github.com/modelroute/modelroute/router"
	"github.com/modelroute/modelroute/router/httpapi"
)

// A Go service mounts the OpenAI-compatible endpoints on its own mux.
func Example() {
	ctx := context.Background()
	reg, _ := alias.New(ctx)
	defer reg.Close()
	rt, err := router.New(reg, router.Config{Deployments: []router.Deployment{
		{Group: "model-group-1", Model: "openai/gpt-4o", Provider: providertest.NewFake()},
	}})
	if err != nil {
		panic(err)
	}
	defer rt.Close()
	reg.Create(ctx, alias.Alias{Name: "smart", Target: "model-group-1"})

	h := httpapi.New(rt, reg, httpapi.WithMasterKey("sk-master"))
	mux := http.NewServeMux()
	mux.Handle("POST /v1/chat/completions", h.Authenticate(h.ChatCompletions()))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	req, _ := http.NewRequest("POST", srv.URL+"/v1/chat/completions",
		strings.NewReader(`{"model":"smart","messages":[{"role":"user","content":"hi"}]}`))
	req.Header.Set("Authorization", "Bearer sk-master")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.StatusCode, resp.Header.Get("x-modelroute-model-group"))
	fmt.Println(strings.Contains(string(body), `"model":"smart"`))
	// Output:
	// 200 model-group-1
	// true
}
