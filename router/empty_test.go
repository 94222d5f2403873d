package router

import (
	"context"
	"errors"
	"testing"

	"github.com/modelroute/modelroute/alias"
)

// A Router may start with no deployments, as LiteLLM's proxy may (models
// arrive later through Update): every name is unknown until then.
func TestEmptyConfig(t *testing.T) {
	reg := newRegistry(t)
	r := mustNew(t, reg, Config{})
	if _, _, err := r.Complete(context.Background(), chat("anything")); !errors.Is(err, alias.ErrNotFound) {
		t.Errorf("Complete on an empty router: %v, want ErrNotFound", err)
	}
	if got := r.Catalog(context.Background(), nil); len(got) != 0 {
		t.Errorf("Catalog: %v", got)
	}
	d, _ := fakeDep("d1", "g", "m")
	if err := r.Update(Config{Deployments: []Deployment{d}}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := r.Complete(context.Background(), chat("g")); err != nil {
		t.Errorf("after Update: %v", err)
	}
}
