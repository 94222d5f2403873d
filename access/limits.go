package access

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// ErrRateLimited: the key has reached its rpm_limit or tpm_limit. The
// concrete error is a *RateLimitError.
var ErrRateLimited = errors.New("access: rate limit exceeded")

// RateLimitError is the error Allow returns when a key is over one of its
// rate limits. It names the key and the limit, nothing else.
type RateLimitError struct {
	Principal string // `key "…"`
	Limit     string // "rpm_limit" or "tpm_limit"
	Max       int64  // the limit's value
}

func (e *RateLimitError) Error() string {
	return fmt.Sprintf("access: %s: rate limit exceeded (%s %d per minute)", e.Principal, e.Limit, e.Max)
}

// Is reports whether target is ErrRateLimited.
func (e *RateLimitError) Is(target error) bool { return target == ErrRateLimited }

// A Limiter counts the requests and tokens of the keys that have rate
// limits (Key.RPMLimit, Key.TPMLimit) and decides whether one more request
// fits. Set it with WithLimiter; the default is a new MemoryLimiter, which
// counts in this process only. Package redisstate implements one shared by
// the Checkers of several replicas.
//
// Limits count in a sliding window of one minute, by the standard
// two-counter approximation: with p the count of the previous Unix minute
// (Unix seconds / 60), c the count of the current one and f the elapsed
// fraction of the current one, the count is p×(1−f) + c. A request is
// admitted when its count plus one is at most rpm and its token count plus
// one (a request uses at least one token) is at most tpm: with whole
// counts, while fewer than tpm tokens are counted. A refused request is not
// counted.
type Limiter interface {
	// Admit counts one request of keyID at now when it fits rpm and tpm
	// (0: no such limit) and reports whether it did (Admitted) or which
	// limit it did not fit (OverRPM is checked first). The Checker calls it
	// on the request path, only for keys with a limit. An error admits
	// the request (so a Limiter that can fail should fall back to counting
	// locally itself, as redisstate's does).
	Admit(ctx context.Context, keyID string, now time.Time, rpm, tpm int64) (Admission, error)
	// AddTokens counts the tokens an answered request of keyID used at
	// now. It must not block.
	AddTokens(keyID string, now time.Time, tokens int64)
}

// Admission is a Limiter's answer to one request.
type Admission uint8

const (
	Admitted Admission = iota // counted
	OverRPM                   // refused: the request count is at rpm
	OverTPM                   // refused: the token count is at tpm
)

// WithLimiter sets the Limiter that counts keys' requests and tokens. The
// default is a new MemoryLimiter.
func WithLimiter(l Limiter) Option { return func(o *options) { o.limiter = l } }

// MemoryLimiter is the in-process Limiter. The zero value is ready to use;
// it is safe for concurrent use, and allocation-free once a key has been
// counted. It keeps one small window per key counted in the last two
// minutes: the others are dropped as new keys come (amortized, when the
// map has doubled since the last sweep).
type MemoryLimiter struct {
	mu      sync.RWMutex
	m       map[string]*Window
	sweepAt int // sweep when the map reaches this size
}

var _ Limiter = (*MemoryLimiter)(nil)

func (l *MemoryLimiter) window(keyID string, now int64) *Window {
	l.mu.RLock()
	w := l.m[keyID]
	l.mu.RUnlock()
	if w != nil {
		return w
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if w = l.m[keyID]; w == nil {
		if l.m == nil {
			l.m = map[string]*Window{}
		}
		if len(l.m) >= l.sweepAt {
			l.sweep(now)
		}
		w = &Window{}
		l.m[keyID] = w
	}
	return w
}

// sweep drops the windows that hold no count in the window at now, and
// sets the size of the next sweep. l.mu is held. (A request that found
// its key's idle window just before may count in the dropped one: at
// most one request per such race goes uncounted.)
func (l *MemoryLimiter) sweep(now int64) {
	minute, _ := SlidingMinute(now)
	for id, w := range l.m {
		w.mu.Lock()
		stale := w.minute < minute-1
		w.mu.Unlock()
		if stale {
			delete(l.m, id)
		}
	}
	l.sweepAt = max(2*len(l.m), 64)
}

// Admit implements Limiter.
func (l *MemoryLimiter) Admit(_ context.Context, keyID string, now time.Time, rpm, tpm int64) (Admission, error) {
	return l.window(keyID, now.UnixNano()).Admit(now.UnixNano(), rpm, tpm), nil
}

// AddTokens implements Limiter.
func (l *MemoryLimiter) AddTokens(keyID string, now time.Time, tokens int64) {
	l.window(keyID, now.UnixNano()).AddTokens(now.UnixNano(), tokens)
}

// Window is one sliding-window counter of requests and tokens (see
// Limiter): the counts of the current and the previous Unix minute. The
// zero value is ready to use; it is safe for concurrent use.
type Window struct {
	mu     sync.Mutex
	minute int64    // the current minute
	req    [2]int64 // previous, current
	tok    [2]int64
}

// roll moves the window to minute, the minute of now.
func (w *Window) roll(minute int64) {
	switch d := minute - w.minute; {
	case d <= 0: // the same minute (or a clock stepped back)
		return
	case d == 1:
		w.req = [2]int64{w.req[1], 0}
		w.tok = [2]int64{w.tok[1], 0}
	default:
		w.req, w.tok = [2]int64{}, [2]int64{}
	}
	w.minute = minute
}

// Admit counts one request at now (Unix nanoseconds) when it fits rpm and
// tpm (0: none) and reports whether it did, as Limiter.Admit. The window
// is weighed in milliseconds and compared in integers, scaled by
// MinuteMillis: no rounding decides a request at the limit.
func (w *Window) Admit(now, rpm, tpm int64) Admission {
	minute, rem := SlidingMinute(now)
	w.mu.Lock()
	defer w.mu.Unlock()
	w.roll(minute)
	if rpm > 0 && w.req[0]*rem+(w.req[1]+1)*MinuteMillis > rpm*MinuteMillis {
		return OverRPM
	}
	if tpm > 0 && w.tok[0]*rem+(w.tok[1]+1)*MinuteMillis > tpm*MinuteMillis {
		return OverTPM
	}
	w.req[1]++
	return Admitted
}

// AddTokens counts tokens used at now (Unix nanoseconds).
func (w *Window) AddTokens(now, tokens int64) {
	minute, _ := SlidingMinute(now)
	w.mu.Lock()
	w.roll(minute)
	if minute == w.minute {
		w.tok[1] += tokens
	}
	w.mu.Unlock()
}

// MinuteMillis is the milliseconds of a minute: the scale of
// SlidingMinute's weight.
const MinuteMillis = 60_000

// SlidingMinute returns the Unix minute of now (Unix nanoseconds) and the
// milliseconds of the sliding one-minute window up to now that fall in the
// previous minute (MinuteMillis minus the milliseconds elapsed in the
// current one, from 1 to MinuteMillis): the previous minute's count
// weighs rem/MinuteMillis.
func SlidingMinute(now int64) (minute, rem int64) {
	const m = int64(time.Minute)
	minute = now / m
	if now < 0 && now%m != 0 {
		minute--
	}
	return minute, MinuteMillis - (now-minute*m)/int64(time.Millisecond)
}
