package router

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"unsafe"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/modelroute/modelroute/alias"
	"github.com/modelroute/modelroute/provider"
	"github.com/modelroute/modelroute/provider/providertest"
)

func TestCompleteThroughAlias(t *testing.T) {
	reg := newRegistry(t)
	d, f := fakeDep("a", "gpt", "openai/gpt-4o")
	r := mustNew(t, reg, Config{Deployments: []Deployment{d}})
	mustAlias(t, reg, "smart", "gpt")

	resp, route, err := r.Complete(context.Background(), chat("smart"))
	if err != nil {
		t.Fatal(err)
	}
	want := Route{
		Requested: "smart", Chain: []string{"smart"}, Group: "gpt", Deployment: "a",
		Model: "gpt-4o", Target: "smart", Attempts: []Attempt{{Deployment: "a", Group: "gpt"}},
	}
	if diff := cmp.Diff(want, route, cmpopts.IgnoreFields(Attempt{}, "Duration")); diff != "" {
		t.Errorf("route (-want +got):\n%s", diff)
	}
	if resp.Model != "gpt-4o" {
		t.Errorf("response model %q, want the upstream model", resp.Model)
	}
	if diff := cmp.Diff([]string{"gpt-4o"}, models(f)); diff != "" {
		t.Errorf("upstream models (-want +got):\n%s", diff)
	}
}

func TestNameErrors(t *testing.T) {
	reg := newRegistry(t)
	d, _ := fakeDep("a", "gpt", "openai/gpt-4o")
	r := mustNew(t, reg, Config{Deployments: []Deployment{d}})
	mustAlias(t, reg, "off", "gpt")
	off := true
	if _, err := reg.Update(context.Background(), "off", alias.Update{Disabled: &off}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		want error
		msg  string
	}{
		{"nope", alias.ErrNotFound, `router: "nope": not found`},
		{"off", alias.ErrDisabled, `router: "off": disabled`},
	} {
		_, _, err := r.Complete(context.Background(), chat(tc.name))
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: err %v, want %v", tc.name, err, tc.want)
		}
		if err != nil && err.Error() != tc.msg {
			t.Errorf("%s: message %q, want %q", tc.name, err, tc.msg)
		}
	}
}

func TestWildcardGroups(t *testing.T) {
	all, fa := fakeDep("any", "*", "openai/*")
	oa, fo := fakeDep("oa", "openai/*", "openai/*")
	mini, fm := fakeDep("mini", "openai/mini-*", "azure/mini-*")
	r := mustNew(t, nil, Config{Deployments: []Deployment{all, oa, mini}})
	for _, tc := range []struct {
		req, group, model string
		fake              *providertest.Fake
	}{
		{"openai/gpt-4o", "openai/*", "gpt-4o", fo},
		{"openai/mini-x", "openai/mini-*", "mini-x", fm},
		{"llama3", "*", "llama3", fa},
	} {
		_, route, err := r.Complete(context.Background(), chat(tc.req))
		if err != nil {
			t.Fatalf("%s: %v", tc.req, err)
		}
		if route.Group != tc.group || route.Model != tc.model {
			t.Errorf("%s: group %q model %q, want %q %q", tc.req, route.Group, route.Model, tc.group, tc.model)
		}
		if got := models(tc.fake); len(got) == 0 || got[len(got)-1] != tc.model {
			t.Errorf("%s: fake saw %v", tc.req, got)
		}
	}
}

func TestNewReportsEveryProblem(t *testing.T) {
	reg := newRegistry(t)
	f := providertest.NewFake()
	cfg := Config{
		Strategy: "fastest",
		Deployments: []Deployment{
			{ID: "a", Group: "g", Model: "openai/x", Provider: f, Weight: -1},
			{ID: "a", Group: "g", Model: "openai/y", Provider: f},
			{ID: "c", Group: "", Model: "", Provider: nil, RPM: -3},
		},
		Fallbacks: map[string][]string{"g": {"nowhere"}},
	}
	_, err := New(reg, cfg)
	if err == nil {
		t.Fatal("New accepted an invalid config")
	}
	for _, want := range []string{
		`deployment 0 (id "a", group "g"): negative weight -1`,
		`deployment 1 (id "a", group "g"): duplicate id (also deployment 0)`,
		`deployment 2 (id "c", group ""): empty group`,
		`deployment 2 (id "c", group ""): empty model`,
		`deployment 2 (id "c", group ""): no provider`,
		`deployment 2 (id "c", group ""): negative rpm -3`,
		`unknown routing strategy "fastest"`,
		`fallbacks["g"]: unknown target "nowhere"`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

func TestTargetCheck(t *testing.T) {
	reg := newRegistry(t)
	d, _ := fakeDep("a", "gpt", "openai/gpt-4o")
	w, _ := fakeDep("w", "openai/*", "openai/*")
	mustNew(t, reg, Config{Deployments: []Deployment{d, w}})
	ctx := context.Background()
	if _, err := reg.Create(ctx, alias.Alias{Name: "gpt", Target: "openai/gpt-4o"}); err == nil {
		t.Error("an alias shadowing a group was accepted")
	}
	if _, err := reg.Create(ctx, alias.Alias{Name: "x", Target: "claude"}); err == nil {
		t.Error("an alias to nothing was accepted")
	}
	if _, err := reg.Create(ctx, alias.Alias{Name: "x", Target: "openai/gpt-4.1"}); err != nil {
		t.Errorf("alias to a wildcard-served name: %v", err)
	}
}

func TestUpdateRefusesDanglingAlias(t *testing.T) {
	reg := newRegistry(t)
	d, _ := fakeDep("a", "gpt", "openai/gpt-4o")
	e, _ := fakeDep("b", "emb", "openai/text-embedding-3-small")
	r := mustNew(t, reg, Config{Deployments: []Deployment{d, e}})
	mustAlias(t, reg, "smart", "gpt")
	if err := r.Update(Config{Deployments: []Deployment{e}}); err == nil {
		t.Fatal("Update left alias smart dangling")
	}
	// The old config is intact.
	if _, _, err := r.Complete(context.Background(), chat("smart")); err != nil {
		t.Fatalf("after a refused Update: %v", err)
	}
	// A new group named like an existing alias would be shadowed by it.
	s, _ := fakeDep("s", "smart", "openai/o3")
	if err := r.Update(Config{Deployments: []Deployment{d, e, s}}); err == nil {
		t.Fatal("Update accepted a group shadowed by an alias")
	}
}

func TestClose(t *testing.T) {
	d, _ := fakeDep("a", "gpt", "openai/gpt-4o")
	r := mustNew(t, nil, Config{Deployments: []Deployment{d}})
	r.Close()
	r.Close()
	if _, _, err := r.Complete(context.Background(), chat("gpt")); !errors.Is(err, ErrClosed) {
		t.Errorf("after Close: %v", err)
	}
}

var _ = provider.KindUnknown

// putScratch must leave nothing of a request behind that the next one
// reads: random state is zero after it, including fields added later.
func TestPutScratchResetsEverything(t *testing.T) {
	d, _ := fakeDep("a", "g", "openai/m")
	r := mustNew(t, nil, Config{Deployments: []Deployment{d}})
	s := new(scratch)
	v := reflect.ValueOf(s).Elem()
	for i := range v.NumField() {
		f := v.Field(i)
		f = reflect.NewAt(f.Type(), unsafe.Pointer(f.UnsafeAddr())).Elem()
		fillNonZero(f)
	}
	r.putScratch(s, &s.chat, len(s.atts)) // the attempts made fill atts
	v = reflect.ValueOf(s).Elem()
	for i := range v.NumField() {
		name := v.Type().Field(i).Name
		switch name {
		case "cand":
			if s.cand.rng == 0 {
				t.Error("putScratch lost the random state")
			}
			cv := reflect.ValueOf(&s.cand).Elem()
			for j := range cv.NumField() {
				if n := cv.Type().Field(j).Name; n != "rng" && !cv.Field(j).IsZero() {
					t.Errorf("putScratch leaves cand.%s set", n)
				}
			}
			continue
		case "chat":
			if !reflect.ValueOf(s.chat.resp).IsZero() {
				t.Error("putScratch leaves the chat answer")
			}
			continue // the request copy is overwritten by the next chat
		case "embed", "stream", "raw":
			continue // cleared by the request of their kind
		}
		if !v.Field(i).IsZero() {
			t.Errorf("putScratch leaves field %s set", name)
		}
	}
	// A stream's scratch keeps nothing but its request copy.
	s.stream = streamOp{cancel: func() {}, firstRaw: []byte("x"), emptyEOF: true}
	s.stream.req.Model = "m"
	r.putScratch(s, &s.stream, 0)
	if s.stream.cancel != nil || s.stream.firstRaw != nil || s.stream.emptyEOF || s.stream.req.Model != "m" {
		t.Errorf("stream scratch after putScratch: %+v", s.stream)
	}
	// A raw request's keeps neither the client's body nor the answer.
	s.raw.body, s.raw.answer = []byte("{}"), []byte("{}")
	r.putScratch(s, &s.raw, 0)
	if s.raw.body != nil || s.raw.answer != nil {
		t.Errorf("raw scratch after putScratch: %+v", s.raw)
	}
}

// fillNonZero sets v to a non-zero value where it can.
func fillNonZero(v reflect.Value) {
	switch v.Kind() {
	case reflect.String:
		v.SetString("x")
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int32, reflect.Int64:
		v.SetInt(1)
	case reflect.Uint64:
		v.SetUint(1)
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 1, 1))
	case reflect.Array:
		for i := range v.Len() {
			fillNonZero(v.Index(i))
		}
	case reflect.Struct:
		for i := range v.NumField() {
			f := v.Field(i)
			fillNonZero(reflect.NewAt(f.Type(), unsafe.Pointer(f.UnsafeAddr())).Elem())
		}
	case reflect.Func:
		v.Set(reflect.MakeFunc(v.Type(), func([]reflect.Value) []reflect.Value {
			out := make([]reflect.Value, v.Type().NumOut())
			for i := range out {
				out[i] = reflect.Zero(v.Type().Out(i))
			}
			return out
		}))
	case reflect.Interface:
		if v.Type() == reflect.TypeFor[error]() {
			v.Set(reflect.ValueOf(errors.New("x")))
		} else if v.Type() == reflect.TypeFor[context.Context]() {
			v.Set(reflect.ValueOf(context.Background()))
		}
	}
}
