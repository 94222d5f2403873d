package alias

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
)

// recorder collects the events a subscriber receives.
type recorder struct {
	mu     sync.Mutex
	events []Event
}

func (r *recorder) record(e Event) {
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
}

func (r *recorder) take() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.events
	r.events = nil
	return out
}

func TestSubscribe(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		r := newTestRegistry(t)
		var rec recorder
		cancel := r.Subscribe(rec.record)

		a1, _ := r.Create(ctx, Alias{Name: "a", Target: "g", Labels: map[string]string{"k": "v"}})
		a2, _ := r.Update(ctx, "a", Update{Target: ptr("h")})
		r.Update(ctx, "a", Update{Target: ptr("h")}) // no change, no event
		r.Create(ctx, Alias{Name: "a", Target: "g"}) // refused, no event
		r.Delete(ctx, "a")
		synctest.Wait()
		want := []Event{
			{Kind: EventCreated, New: a1},
			{Kind: EventUpdated, Old: a1, New: a2},
			{Kind: EventDeleted, Old: a2},
		}
		if diff := cmp.Diff(want, rec.take()); diff != "" {
			t.Errorf("events (-want +got):\n%s", diff)
		}

		cancel()
		cancel() // idempotent
		r.Create(ctx, Alias{Name: "b", Target: "g"})
		synctest.Wait()
		if got := rec.take(); len(got) != 0 {
			t.Errorf("events after cancel: %v", got)
		}
		r.Close()
	})
}

func TestSubscribeSlowSubscriber(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		r := newTestRegistry(t)
		release := make(chan struct{})
		var slow, fast recorder
		r.Subscribe(func(e Event) {
			<-release
			slow.record(e)
		})
		r.Subscribe(fast.record)

		const n = 50
		for i := range n {
			name := string(rune('a'+i%26)) + string(rune('a'+i/26))
			if _, err := r.Create(ctx, Alias{Name: name, Target: "g"}); err != nil {
				t.Fatal(err) // a blocked subscriber must not block writers
			}
		}
		synctest.Wait()
		if got := len(fast.take()); got != n {
			t.Errorf("fast subscriber got %d events while the slow one is blocked, want %d", got, n)
		}
		close(release)
		synctest.Wait()
		got := slow.take()
		if len(got) != n {
			t.Fatalf("slow subscriber got %d events, want %d", len(got), n)
		}
		for i, e := range got {
			if e.New.Revision != uint64(i+1) {
				t.Fatalf("event %d has revision %d: out of order", i, e.New.Revision)
			}
		}
		r.Close()
	})
}

func TestSubscribeCallbackMayUseRegistry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		r := newTestRegistry(t)
		var rec recorder
		var cancel func()
		cancel = r.Subscribe(func(e Event) {
			rec.record(e)
			if e.New.Labels != nil {
				e.New.Labels["k"] = "changed by subscriber"
			}
			if e.New.Name == "a" {
				// Writing from a callback would deadlock if callbacks ran
				// under the registry's lock.
				if _, err := r.Create(ctx, Alias{Name: "b", Target: "a"}); err != nil {
					t.Errorf("Create from a callback: %v", err)
				}
				if _, err := r.Resolve("b"); err != nil {
					t.Errorf("Resolve from a callback: %v", err)
				}
			}
			if e.New.Name == "b" {
				cancel() // cancel from inside the callback
			}
		})
		r.Create(ctx, Alias{Name: "a", Target: "g", Labels: map[string]string{"k": "v"}})
		synctest.Wait()
		r.Create(ctx, Alias{Name: "c", Target: "g"})
		synctest.Wait()
		var names []string
		for _, e := range rec.take() {
			names = append(names, e.New.Name)
		}
		if diff := cmp.Diff([]string{"a", "b"}, names); diff != "" {
			t.Errorf("events (-want +got):\n%s", diff)
		}
		if a, _ := r.Get("a"); a.Labels["k"] != "v" {
			t.Errorf("a subscriber changed the stored labels: %v", a.Labels)
		}
		r.Close()
	})
}

func TestCloseStopsSubscribers(t *testing.T) {
	// synctest fails the test if any goroutine started in the bubble is still
	// around when it ends: Close must stop them all.
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		r := newTestRegistry(t)
		blocked := make(chan struct{})
		for range 3 {
			r.Subscribe(func(Event) {})
		}
		cancel := r.Subscribe(func(Event) {})
		cancel()
		r.Subscribe(func(Event) { <-blocked })
		for _, n := range []string{"a", "b", "c"} {
			r.Create(ctx, Alias{Name: n, Target: "g"})
		}
		synctest.Wait()
		close(blocked)
		r.Close()
		cancel()
		if c := r.Subscribe(func(Event) { t.Error("event after Close") }); c == nil {
			t.Error("Subscribe after Close returned a nil cancel func")
		}
	})
}

// blockingStore is a Store whose Save waits until release is closed.
type blockingStore struct {
	MemoryStore
	saving  chan struct{} // receives when a Save starts
	release chan struct{}
}

func (s *blockingStore) Save(ctx context.Context, all []Alias) error {
	s.saving <- struct{}{}
	<-s.release
	return s.MemoryStore.Save(ctx, all)
}

func TestWriteWaitEndsWithContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := &blockingStore{saving: make(chan struct{}), release: make(chan struct{})}
		r := newTestRegistry(t, WithStore(store))
		done := make(chan error)
		go func() {
			_, err := r.Create(context.Background(), Alias{Name: "slow", Target: "g"})
			done <- err
		}()
		<-store.saving // the first write holds the write lock

		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		start := time.Now()
		_, err := r.Create(ctx, Alias{Name: "waiting", Target: "g"})
		if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) != time.Second {
			t.Errorf("Create while another write is stuck: %v after %v, want the deadline after 1s", err, time.Since(start))
		}
		// Readers are not blocked by the stuck write, and do not see it.
		if res, err := r.Resolve("slow"); err != nil || res.IsAlias() {
			t.Errorf("Resolve(slow) during its write = %+v, %v", res, err)
		}
		close(store.release)
		if err := <-done; err != nil {
			t.Errorf("first write: %v", err)
		}
		if res, _ := r.Resolve("slow"); !res.IsAlias() {
			t.Errorf("Resolve(slow) after its write = %+v", res)
		}
		r.Close()
	})
}
