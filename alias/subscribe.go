package alias

import (
	"fmt"
	"sync"
)

// EventKind says what happened to an alias.
type EventKind int

const (
	EventCreated EventKind = iota + 1
	EventUpdated
	EventDeleted
)

func (k EventKind) String() string {
	switch k {
	case EventCreated:
		return "created"
	case EventUpdated:
		return "updated"
	case EventDeleted:
		return "deleted"
	}
	return fmt.Sprintf("EventKind(%d)", int(k))
}

// Event is one change to one alias. Old is zero for EventCreated, New is zero
// for EventDeleted. A change to one alias can change what other aliases
// resolve to (those whose chain goes through it); no event is sent for them.
type Event struct {
	Kind     EventKind
	Old, New Alias
}

// Subscribe calls fn with every later change, in the order the changes were
// made, from a goroutine of its own and outside any lock; a slow fn delays
// only its own events, which queue without bound. Cancel stops delivery: once
// it returns no new call of fn begins, though one already begun may still be
// running; events not yet delivered are dropped. Cancel is idempotent, does
// not wait, and may be called from fn. On a closed Registry, Subscribe
// does nothing.
func (r *Registry) Subscribe(fn func(Event)) (cancel func()) {
	if r.writeLock == nil { // the zero Registry never changes
		return func() {}
	}
	return r.hub.subscribe(fn)
}

// hub fans events out to subscribers. The zero value is ready to use.
type hub struct {
	mu     sync.Mutex // protects subs and closed
	subs   map[*subscriber]struct{}
	closed bool
	wg     sync.WaitGroup // one per subscriber goroutine
}

func (h *hub) subscribe(fn func(Event)) func() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed || fn == nil {
		return func() {}
	}
	s := &subscriber{fn: fn, wake: make(chan struct{}, 1)}
	if h.subs == nil {
		h.subs = make(map[*subscriber]struct{})
	}
	h.subs[s] = struct{}{}
	h.wg.Go(s.run)
	return sync.OnceFunc(func() {
		h.mu.Lock()
		delete(h.subs, s)
		h.mu.Unlock()
		s.stop()
	})
}

// publish queues ev for every subscriber. Writers call it in order, under
// the registry's write lock; it never blocks on a subscriber.
func (h *hub) publish(ev Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		s.push(ev)
	}
}

// close stops every subscriber and waits for their goroutines.
func (h *hub) close() {
	h.mu.Lock()
	h.closed = true
	subs := h.subs
	h.subs = nil
	h.mu.Unlock()
	for s := range subs {
		s.stop()
	}
	h.wg.Wait()
}

// subscriber is one Subscribe call: a goroutine draining an unbounded queue.
type subscriber struct {
	fn   func(Event)
	wake chan struct{} // capacity 1: something changed in queue or stopped

	mu      sync.Mutex // protects queue and stopped
	queue   []Event
	stopped bool
}

func (s *subscriber) push(ev Event) {
	s.mu.Lock()
	if !s.stopped {
		s.queue = append(s.queue, ev)
	}
	s.mu.Unlock()
	s.signal()
}

func (s *subscriber) stop() {
	s.mu.Lock()
	s.stopped = true
	s.queue = nil
	s.mu.Unlock()
	s.signal()
}

func (s *subscriber) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *subscriber) run() {
	for {
		s.mu.Lock()
		stopped, batch := s.stopped, s.queue
		s.queue = nil
		s.mu.Unlock()
		if stopped {
			return
		}
		if len(batch) == 0 {
			<-s.wake
			continue
		}
		for _, ev := range batch {
			s.mu.Lock()
			stopped := s.stopped
			s.mu.Unlock()
			if stopped {
				return
			}
			s.fn(Event{Kind: ev.Kind, Old: ev.Old.clone(), New: ev.New.clone()})
		}
	}
}
