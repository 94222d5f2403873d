package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
)

// admin calls a gateway's admin API with the master key.
type admin struct {
	base   string // the gateway's base URL
	client *http.Client
}

// call sends method path with body (JSON-encoded when not nil) and decodes
// a 2xx answer into out (when not nil). It returns the status; err is set
// for a transport failure or an answer it could not read.
func (a *admin) call(ctx context.Context, method, path string, body, out any) (int, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, rd)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+masterKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := a.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, err
	}
	if resp.StatusCode/100 == 2 && out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return resp.StatusCode, fmt.Errorf("%s %s: %v: %s", method, path, err, b)
		}
	}
	return resp.StatusCode, nil
}

// generateKey creates a virtual key for models (empty: every model) and
// returns its secret.
func (a *admin) generateKey(ctx context.Context, models []string) (string, error) {
	var out struct {
		Key string `json:"key"`
	}
	st, err := a.call(ctx, http.MethodPost, "/key/generate", map[string]any{"models": models}, &out)
	if err != nil {
		return "", err
	}
	if st != http.StatusOK || out.Key == "" {
		return "", fmt.Errorf("POST /key/generate: status %d", st)
	}
	return out.Key, nil
}

func (a *admin) createAlias(ctx context.Context, name, target string) (int, error) {
	return a.call(ctx, http.MethodPost, "/api/model-aliases/create",
		map[string]any{"alias": name, "litellm_model": target, "active": true}, nil)
}

// updateAlias sends a partial update: target when not "", active when not nil.
func (a *admin) updateAlias(ctx context.Context, name, target string, active *bool) (int, error) {
	body := map[string]any{}
	if target != "" {
		body["litellm_model"] = target
	}
	if active != nil {
		body["active"] = *active
	}
	return a.call(ctx, http.MethodPut, "/api/model-aliases/"+url.PathEscape(name), body, nil)
}

func (a *admin) deleteAlias(ctx context.Context, name string) (int, error) {
	return a.call(ctx, http.MethodDelete, "/api/model-aliases/"+url.PathEscape(name), nil, nil)
}

// aliasRow is one alias as GET /api/model-aliases lists it.
type aliasRow struct {
	Alias        string `json:"alias"`
	LiteLLMModel string `json:"litellm_model"`
	Active       bool   `json:"active"`
}

func (a *admin) listAliases(ctx context.Context) ([]aliasRow, error) {
	var out struct {
		Aliases []aliasRow `json:"aliases"`
	}
	st, err := a.call(ctx, http.MethodGet, "/api/model-aliases", nil, &out)
	if err != nil {
		return nil, err
	}
	if st != http.StatusOK {
		return nil, fmt.Errorf("GET /api/model-aliases: status %d", st)
	}
	return out.Aliases, nil
}
