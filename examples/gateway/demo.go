package main

import (
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/modelroute/modelroute/provider/providertest"
	"github.com/modelroute/modelroute/router/litellm"
)

// demoMasterKey is the master key of the embedded demo. A real deployment
// sets general_settings.master_key (or MODELROUTE_MASTER_KEY).
const demoMasterKey = "sk-modelroute-demo"

// demoConfig is the embedded demo's LiteLLM config; %s is the fake
// upstream's base URL.
const demoConfig = `
model_list:
  - model_name: model-group-1
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s, api_key: demo-upstream-key, weight: 2}
    model_info: {id: demo-gpt-4o}
  - model_name: model-group-1
    litellm_params: {model: openai/gpt-4o-mini, api_base: %[1]s, api_key: demo-upstream-key}
    model_info: {id: demo-gpt-4o-mini}
  - model_name: model-group-2
    litellm_params: {model: groq/llama-3.1-70b, api_base: %[1]s, api_key: demo-upstream-key}
    model_info: {id: demo-llama}
  - model_name: text-embedding-3-small
    litellm_params: {model: openai/text-embedding-3-small, api_base: %[1]s, api_key: demo-upstream-key}
    model_info: {id: demo-embedding, mode: embedding}
router_settings:
  model_group_alias:
    smart: model-group-1
    alias-1: model-group-1
    fast: model-group-2
    hidden-1: {model: model-group-1, hidden: true}
  num_retries: 2
  fallbacks: [{model-group-2: [model-group-1]}]
general_settings:
  master_key: ` + demoMasterKey + `
`

// demoUpstream is the fake OpenAI-compatible upstream of the demo, on a
// loopback port of its own.
type demoUpstream struct {
	handler *providertest.Handler
	srv     *http.Server
	cfg     *litellm.Config
}

func startDemo() (*demoUpstream, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("demo upstream: %w", err)
	}
	h := providertest.NewHandler(providertest.WithChunks("Hello", " from", " the", " demo", " upstream."))
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	base := "http://" + ln.Addr().String() + "/v1"
	cfg, err := litellm.Parse([]byte(fmt.Sprintf(demoConfig, base)), "demo.yaml")
	if err != nil {
		srv.Close()
		return nil, err
	}
	return &demoUpstream{handler: h, srv: srv, cfg: cfg}, nil
}

func (d *demoUpstream) Close() {
	d.handler.Close()
	d.srv.Close()
}
