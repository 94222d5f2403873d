package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/modelroute/modelroute/provider"
	"github.com/modelroute/modelroute/router"
	"github.com/modelroute/modelroute/router/gateway"
	"github.com/modelroute/modelroute/router/litellm"
)

// masterKey is the master key of every gateway the tool starts.
const masterKey = "sk-loadtest-master"

// gatewayServer is examples/gateway's wiring (package router/gateway, the
// same code), served on a loopback port of the tool's own process by the
// http.Server gateway.NewServer configures, as examples/gateway does.
//
// For measurement the Router may get extra options (an observer for the
// chaos checks) and the router.Config may be adjusted before use
// (gatewayOptions.adjust); the load runs use neither.
type gatewayServer struct {
	*gateway.Gateway
	cfg router.Config
	// upstream is the transport the deployments' providers share.
	upstream *http.Transport

	srv  *http.Server
	addr string // host:port it listens on
	errc chan error
}

// gatewayOptions are the measurement knobs of startGateway.
type gatewayOptions struct {
	routerOpts []router.Option
	adjust     func(*router.Config) // called on the converted config before router.New
	log        *slog.Logger         // nil: discard
	// upstreamIdle, when positive, makes the deployments' shared HTTP
	// client (provider.NewHTTPClient's settings) keep this many idle
	// connections per host instead of 1024.
	upstreamIdle int
	// leaveProviders hides the upstream transport's idle connections from
	// the gateway's Close, to measure what a shutdown that does not close
	// them leaks.
	leaveProviders bool
}

// hiddenIdle is a RoundTripper without CloseIdleConnections.
type hiddenIdle struct{ http.RoundTripper }

// parseConfig parses a LiteLLM config given as text.
func parseConfig(text string) (*litellm.Config, error) {
	return litellm.Parse([]byte(text), "loadtest.yaml")
}

// startGateway builds the gateway over cfg with its state under the state
// directory and serves it on a loopback port.
func startGateway(ctx context.Context, cfg *litellm.Config, state string, o gatewayOptions) (*gatewayServer, error) {
	log := o.log
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	client := provider.NewHTTPClient()
	tr := client.Transport.(*http.Transport)
	if o.upstreamIdle > 0 {
		tr.MaxIdleConns, tr.MaxIdleConnsPerHost = o.upstreamIdle, o.upstreamIdle
	}
	if o.leaveProviders {
		client.Transport = hiddenIdle{tr}
	}
	gopts := []gateway.Option{gateway.WithStateDir(state), gateway.WithLogger(log),
		gateway.WithMasterKey(masterKey), gateway.WithUpstreamClient(client), gateway.WithRouterOptions(o.routerOpts...)}
	if o.adjust != nil {
		gopts = append(gopts, gateway.WithAdjustConfig(o.adjust))
	}
	gw, err := gateway.New(ctx, cfg, gopts...)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		gw.Close()
		return nil, err
	}
	g := &gatewayServer{Gateway: gw, cfg: gw.Config(), upstream: tr, srv: gateway.NewServer(gw.Handler(), log), addr: ln.Addr().String(), errc: make(chan error, 1)}
	go labelled("gateway", func() { g.errc <- g.srv.Serve(ln) })
	return g, nil
}

// URL is the gateway's base URL.
func (g *gatewayServer) URL() string { return "http://" + g.addr }

// Close stops serving (finishing in-flight requests, for at most 10 s) and
// closes the parts in reverse order of their construction.
func (g *gatewayServer) Close() {
	if g.srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := g.srv.Shutdown(ctx); err != nil {
			g.srv.Close()
		}
		cancel()
		<-g.errc
		g.srv = nil
	}
	g.Gateway.Close()
}
