package provider

import (
	"io"
	"time"
)

// Closing a stream that ended at "data: [DONE]" reads the rest of its
// answer first: the end of the chunked body, which a well-behaved server
// sends right after the marker. A response body closed before its end costs
// its connection (net/http closes it rather than reuse it), and the next
// call pays for a new one; a reverse proxy, which reads every body to its
// end, never does. Under a streamed load on loopback, main's gateway opened
// a new upstream connection for one stream in thirty without this.
const (
	// drainWait bounds how long Close waits for the rest of the body.
	drainWait = 20 * time.Millisecond
	// maxDrain bounds how much of it Close reads.
	maxDrain = 4 << 10
	// skipAfterLinger is how many streams are then closed at once, without
	// waiting, after a server kept an answer open past drainWait: a server
	// that always does so costs one wait in this many streams.
	skipAfterLinger = 64
)

// drain reads what is left of the finished stream's body, within drainWait
// and maxDrain, so that its connection goes back to the pool. Only for a
// stream whose next has returned its final io.EOF: nothing else reads the
// body any more.
func (s *openAIStream) drain() {
	skip := &s.p.skipDrain
	for n := skip.Load(); n > 0; n = skip.Load() {
		if skip.CompareAndSwap(n, n-1) {
			return
		}
	}
	t := time.AfterFunc(drainWait, func() { s.body.Close() }) // ends a read that waits
	io.CopyN(io.Discard, s.ev.br, maxDrain)
	if !t.Stop() {
		skip.Store(skipAfterLinger)
	}
}
