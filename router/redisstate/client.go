package redisstate

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrUnavailable is returned when Redis cannot be reached: at once,
// without a round trip, while it is known to be down, and wrapping the
// network error of the call that found it down (see Client).
var ErrUnavailable = errors.New("redisstate: redis unavailable")

// DefaultPrefix starts every key and the notification channel.
const DefaultPrefix = "modelroute"

// Defaults New applies to the redis.Options fields left zero: Redis calls
// on the request path must fail fast, and are not retried.
const (
	DefaultDialTimeout = time.Second
	DefaultTimeout     = 250 * time.Millisecond // read and write timeout
)

// recheckInterval is how often an unreachable Redis is pinged.
const recheckInterval = 200 * time.Millisecond

// Client is one process's connection to the Redis its replicas share. It
// owns the connection pool, one pub/sub subscription (the notifications
// every part listens to), and one goroutine that sends queued writes in
// pipelined batches. Build it with New; Close stops it.
type Client struct {
	rdb    *redis.Client
	prefix string
	origin string // this Client's ID in notifications, to skip its own
	log    *slog.Logger

	down    atomic.Bool // Redis is unreachable: fail fast until a ping succeeds
	channel string

	mu        sync.Mutex // protects handlers, resyncs, closed
	handlers  map[string]map[int]func(string)
	resyncs   map[int]func(context.Context)
	nextID    int
	closed    bool
	dispatchM sync.RWMutex // held while a handler runs; cancel waits for it

	queue  writeQueue
	ps     *redis.PubSub   // closed by Close, to end a read in progress
	ctx    context.Context // canceled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// Option configures New.
type Option func(*Client)

// WithPrefix sets the prefix of every key and of the notification channel,
// so that several fleets can share one Redis. Default: DefaultPrefix.
func WithPrefix(p string) Option { return func(c *Client) { c.prefix = p } }

// WithLogger logs outages, recoveries and failed reloads. Default: discard.
func WithLogger(l *slog.Logger) Option { return func(c *Client) { c.log = l } }

// New connects to the Redis opt describes. Zero DialTimeout, ReadTimeout
// and WriteTimeout get DefaultDialTimeout and DefaultTimeout, and a zero
// MaxRetries means no retries: a call on the request path fails fast
// rather than holding the request. New does not fail when Redis is down:
// it logs a warning and starts degraded, as after an outage (the stores
// that need Redis to load fail themselves). It fails only on invalid
// options.
func New(opt *redis.Options, opts ...Option) (*Client, error) {
	if opt == nil || opt.Addr == "" && opt.Dialer == nil {
		return nil, errors.New("redisstate: no address")
	}
	o := *opt
	if o.DialTimeout == 0 {
		o.DialTimeout = DefaultDialTimeout
	}
	if o.ReadTimeout == 0 {
		o.ReadTimeout = DefaultTimeout
	}
	if o.WriteTimeout == 0 {
		o.WriteTimeout = DefaultTimeout
	}
	if o.MaxRetries == 0 {
		o.MaxRetries = -1
	}
	var id [8]byte
	rand.Read(id[:])
	c := &Client{
		rdb:      redis.NewClient(&o),
		prefix:   DefaultPrefix,
		origin:   hex.EncodeToString(id[:]),
		handlers: map[string]map[int]func(string){},
		resyncs:  map[int]func(context.Context){},
	}
	for _, f := range opts {
		f(c)
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if strings.ContainsAny(c.prefix, " \n") || c.prefix == "" {
		c.rdb.Close()
		return nil, fmt.Errorf("redisstate: prefix %q: want a non-empty word without spaces", c.prefix)
	}
	c.channel = c.prefix + ":events"
	c.queue.wake = make(chan struct{}, 1)
	c.ctx, c.cancel = context.WithCancel(context.Background())
	if err := c.rdb.Ping(c.ctx).Err(); err != nil {
		c.markDown(err)
	}
	c.ps = c.rdb.Subscribe(c.ctx, c.channel)
	c.wg.Add(3)
	go c.subscribe()
	go c.watchHealth()
	go c.flushLoop()
	return c, nil
}

// NewURL connects to the Redis a URL names ("redis://[user:password@]host:port[/db]",
// "rediss://…" for TLS, "unix:///path") like New.
func NewURL(url string, opts ...Option) (*Client, error) {
	o, err := redis.ParseURL(url)
	if err != nil {
		// ParseURL's errors may quote the URL, password included.
		return nil, errors.New("redisstate: invalid Redis URL (want redis://[user:password@]host:port[/db])")
	}
	return New(o, opts...)
}

// Close stops the subscription and the writer (sending what is queued,
// when Redis is up) and closes the connections. It is idempotent.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	c.mu.Unlock()
	c.cancel()
	c.ps.Close()
	c.wg.Wait()
	return c.rdb.Close()
}

// Available reports whether Redis answered the last call.
func (c *Client) Available() bool { return !c.down.Load() }

// key returns the prefixed key of parts.
func (c *Client) key(parts ...string) string {
	return c.prefix + ":" + strings.Join(parts, ":")
}

// check records the outcome of a call: a network failure marks Redis down
// and is returned wrapped in ErrUnavailable; other errors are returned as
// they are.
func (c *Client) check(err error) error {
	if err == nil || errors.Is(err, redis.Nil) {
		return err
	}
	var re redis.Error
	if errors.As(err, &re) {
		return err // Redis answered: it is up
	}
	c.markDown(err)
	return fmt.Errorf("%w: %w", ErrUnavailable, err)
}

func (c *Client) markDown(err error) {
	if !c.down.Swap(true) {
		c.log.Warn("redisstate: redis unavailable; each replica serves from its own state until it is back", "err", err)
	}
}

// watchHealth pings an unreachable Redis until it answers again.
func (c *Client) watchHealth() {
	defer c.wg.Done()
	t := time.NewTicker(recheckInterval)
	defer t.Stop()
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-t.C:
		}
		if !c.down.Load() {
			continue
		}
		if err := c.rdb.Ping(c.ctx).Err(); err == nil {
			c.down.Store(false)
			c.log.Info("redisstate: redis available again")
		}
	}
}

// on registers fn for notifications of kind; cancel removes it and waits
// for a call in progress to end.
func (c *Client) on(kind string, fn func(data string)) (cancel func()) {
	c.mu.Lock()
	id := c.nextID
	c.nextID++
	if c.handlers[kind] == nil {
		c.handlers[kind] = map[int]func(string){}
	}
	c.handlers[kind][id] = fn
	c.mu.Unlock()
	return func() {
		c.dispatchM.Lock()
		c.mu.Lock()
		delete(c.handlers[kind], id)
		c.mu.Unlock()
		c.dispatchM.Unlock()
	}
}

// onResync registers fn to run each time the subscription is (re)made:
// notifications may have been missed, so fn catches up from Redis.
func (c *Client) onResync(fn func(context.Context)) (cancel func()) {
	c.mu.Lock()
	id := c.nextID
	c.nextID++
	c.resyncs[id] = fn
	c.mu.Unlock()
	return func() {
		c.dispatchM.Lock()
		c.mu.Lock()
		delete(c.resyncs, id)
		c.mu.Unlock()
		c.dispatchM.Unlock()
	}
}

// notification formats a message: kind, origin, data.
func (c *Client) notification(kind, data string) string {
	return kind + " " + c.origin + " " + data
}

// subscribe receives notifications until Close, reconnecting after a
// failure; each (re)subscription runs the resync hooks.
func (c *Client) subscribe() {
	defer c.wg.Done()
	ps := c.ps
	backoff := 50 * time.Millisecond
	for c.ctx.Err() == nil {
		msg, err := ps.ReceiveTimeout(c.ctx, 5*time.Second)
		if err != nil {
			if c.ctx.Err() != nil {
				return
			}
			var ne interface{ Timeout() bool }
			if errors.As(err, &ne) && ne.Timeout() {
				// Quiet channel: make sure the connection is alive.
				_ = ps.Ping(c.ctx)
				continue
			}
			c.markDown(err)
			select {
			case <-c.ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, time.Second)
			continue
		}
		backoff = 50 * time.Millisecond
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind == "subscribe" {
				c.resync()
			}
		case *redis.Message:
			c.dispatch(m.Payload)
		}
	}
}

func (c *Client) resync() {
	c.dispatchM.RLock()
	defer c.dispatchM.RUnlock()
	c.mu.Lock()
	fns := make([]func(context.Context), 0, len(c.resyncs))
	for _, fn := range c.resyncs {
		fns = append(fns, fn)
	}
	c.mu.Unlock()
	for _, fn := range fns {
		fn(c.ctx)
	}
}

func (c *Client) dispatch(payload string) {
	kind, rest, _ := strings.Cut(payload, " ")
	origin, data, _ := strings.Cut(rest, " ")
	if origin == c.origin && kind != kindCooldown {
		return // our own write: already applied here
	}
	c.dispatchM.RLock()
	defer c.dispatchM.RUnlock()
	c.mu.Lock()
	fns := make([]func(string), 0, len(c.handlers[kind]))
	for _, fn := range c.handlers[kind] {
		fns = append(fns, fn)
	}
	c.mu.Unlock()
	for _, fn := range fns {
		fn(data)
	}
}
