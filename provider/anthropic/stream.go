package anthropic

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	openai "github.com/sashabaranov/go-openai"

	"github.com/modelroute/modelroute/provider"
)

// streamEvent is the data of one server-sent event of a Messages stream.
type streamEvent struct {
	Type         string           `json:"type"`
	Message      *messageResponse `json:"message"`       // message_start
	Index        int              `json:"index"`         // content_block_*
	ContentBlock *block           `json:"content_block"` // content_block_start
	Delta        *eventDelta      `json:"delta"`         // content_block_delta, message_delta
	Usage        *usage           `json:"usage"`         // message_delta
	Error        *struct {
		Type    string `json:"type"`
		Message string `json:"message"`
	} `json:"error"` // error
}

// eventDelta is the delta of content_block_delta (text_delta,
// input_json_delta, thinking_delta, signature_delta) and of message_delta
// (stop_reason).
type eventDelta struct {
	Type        string `json:"type"`
	Text        string `json:"text"`
	PartialJSON string `json:"partial_json"`
	Thinking    string `json:"thinking"`
	StopReason  string `json:"stop_reason"`
}

// Limits of the event reader.
const (
	// maxEventLine bounds one line of a stream.
	maxEventLine = 8 << 20
	// maxSkipped bounds the events in a row that give no chunk (pings,
	// block stops, unknown types) before the stream is taken as broken.
	maxSkipped = 1000
)

var (
	errBadEvent = errors.New("anthropic: stream event is not valid")
	errCut      = fmt.Errorf("anthropic: stream ended before message_stop: %w", io.ErrUnexpectedEOF)
)

// Stream is a streamed Messages call read as OpenAI chunks:
//
//   - the first chunk after message_start carries the role "assistant";
//   - a text block's text_delta gives a content chunk, a thinking block's
//     thinking_delta a reasoning_content chunk;
//   - a tool_use block's start gives a tool call chunk with its id and name,
//     and each input_json_delta one with the next piece of its arguments,
//     under the tool call's index (counted over the tool_use blocks);
//   - message_delta gives the chunk with the finish_reason (see
//     finishReason), and, when the request asked for usage in
//     stream_options, a last chunk without choices carries the usage;
//   - message_stop ends the stream: Recv returns io.EOF.
//
// ping, content_block_stop and unknown events give no chunk. An "error"
// event fails the stream with the error's Kind (overloaded_error is
// KindUnavailable); a "refusal" stop reason fails it with KindContentPolicy;
// a body that ends before message_stop fails it with KindConnection.
//
// Recv is not safe for concurrent use; Close may be called at any time, more
// than once.
type Stream struct {
	ctx          context.Context
	p            *Provider
	model        string
	body         io.ReadCloser
	ev           *eventReader
	includeUsage bool

	id       string
	created  int64
	usage    usage
	tools    map[int]int // content block index → tool call index
	started  bool        // message_start was read
	roleSent bool        // a chunk carried the role
	done     bool        // message_stop was read
	err      error       // sticky
	closed   atomic.Bool
}

var _ provider.Stream = (*Stream)(nil)

func newStream(ctx context.Context, p *Provider, model string, body io.ReadCloser, includeUsage bool) *Stream {
	return &Stream{
		ctx: ctx, p: p, model: model, body: body, ev: newEventReader(body),
		includeUsage: includeUsage, created: time.Now().Unix(),
	}
}

// Recv returns the next chunk, io.EOF after message_stop, or the
// *provider.Error that ended the stream.
func (s *Stream) Recv() (openai.ChatCompletionStreamResponse, error) {
	if s.err != nil {
		return openai.ChatCompletionStreamResponse{}, s.err
	}
	if s.done {
		s.err = io.EOF
		return openai.ChatCompletionStreamResponse{}, io.EOF
	}
	for range maxSkipped {
		data, err := s.ev.next()
		if err != nil {
			if err == io.EOF {
				err = errCut
			}
			return openai.ChatCompletionStreamResponse{}, s.failWith(err)
		}
		chunk, ok, err := s.handle(data)
		if err != nil {
			return openai.ChatCompletionStreamResponse{}, s.failWith(err)
		}
		if ok {
			return chunk, nil
		}
		if s.done {
			s.err = io.EOF
			return openai.ChatCompletionStreamResponse{}, io.EOF
		}
	}
	return openai.ChatCompletionStreamResponse{}, s.failWith(fmt.Errorf("%w: %d events in a row without content", errBadEvent, maxSkipped))
}

// handle maps one event's data; ok reports a chunk to return.
func (s *Stream) handle(data []byte) (chunk openai.ChatCompletionStreamResponse, ok bool, err error) {
	var ev streamEvent
	if err := json.Unmarshal(data, &ev); err != nil {
		return chunk, false, fmt.Errorf("%w: %w", errBadEvent, err)
	}
	switch ev.Type {
	case "message_start":
		if ev.Message == nil {
			return chunk, false, fmt.Errorf("%w: message_start without a message", errBadEvent)
		}
		s.id = ev.Message.ID
		if ev.Message.Model != "" {
			s.model = ev.Message.Model
		}
		s.usage = ev.Message.Usage
		s.started = true
		return chunk, false, nil
	case "content_block_start":
		b := ev.ContentBlock
		if b == nil {
			return chunk, false, fmt.Errorf("%w: content_block_start without a block", errBadEvent)
		}
		switch b.Type {
		case "tool_use":
			if s.tools == nil {
				s.tools = make(map[int]int)
			}
			if _, dup := s.tools[ev.Index]; dup {
				return chunk, false, fmt.Errorf("%w: content block %d started twice", errBadEvent, ev.Index)
			}
			i := len(s.tools)
			s.tools[ev.Index] = i
			return s.chunk(openai.ChatCompletionStreamChoiceDelta{ToolCalls: []openai.ToolCall{{
				Index: &i, ID: b.ID, Type: openai.ToolTypeFunction, Function: openai.FunctionCall{Name: b.Name},
			}}}, ""), true, nil
		case "text":
			if b.Text != "" {
				return s.chunk(openai.ChatCompletionStreamChoiceDelta{Content: b.Text}, ""), true, nil
			}
		}
		return chunk, false, nil
	case "content_block_delta":
		d := ev.Delta
		if d == nil {
			return chunk, false, fmt.Errorf("%w: content_block_delta without a delta", errBadEvent)
		}
		switch d.Type {
		case "text_delta":
			return s.chunk(openai.ChatCompletionStreamChoiceDelta{Content: d.Text}, ""), true, nil
		case "thinking_delta":
			return s.chunk(openai.ChatCompletionStreamChoiceDelta{ReasoningContent: d.Thinking}, ""), true, nil
		case "input_json_delta":
			i, ok := s.tools[ev.Index]
			if !ok {
				return chunk, false, fmt.Errorf("%w: input_json_delta for content block %d, which is not a tool_use", errBadEvent, ev.Index)
			}
			return s.chunk(openai.ChatCompletionStreamChoiceDelta{ToolCalls: []openai.ToolCall{{
				Index: &i, Function: openai.FunctionCall{Arguments: d.PartialJSON},
			}}}, ""), true, nil
		}
		return chunk, false, nil
	case "message_delta":
		if ev.Usage != nil {
			// message_delta's usage is cumulative; its input counts, when
			// present, replace message_start's.
			s.usage.OutputTokens = ev.Usage.OutputTokens
			if ev.Usage.InputTokens > 0 {
				s.usage.InputTokens = ev.Usage.InputTokens
			}
			if ev.Usage.CacheCreationInputTokens > 0 {
				s.usage.CacheCreationInputTokens = ev.Usage.CacheCreationInputTokens
			}
			if ev.Usage.CacheReadInputTokens > 0 {
				s.usage.CacheReadInputTokens = ev.Usage.CacheReadInputTokens
			}
		}
		if ev.Delta == nil || ev.Delta.StopReason == "" {
			return chunk, false, nil
		}
		if ev.Delta.StopReason == stopRefusal {
			return chunk, false, s.p.refused(s.model)
		}
		return s.chunk(openai.ChatCompletionStreamChoiceDelta{}, finishReason(ev.Delta.StopReason)), true, nil
	case "message_stop":
		s.done = true
		if s.includeUsage {
			u := toUsage(s.usage)
			c := s.chunk(openai.ChatCompletionStreamChoiceDelta{}, "")
			c.Choices = []openai.ChatCompletionStreamChoice{}
			c.Usage = &u
			return c, true, nil
		}
		return chunk, false, nil
	case "error":
		ae := &APIError{}
		if ev.Error != nil {
			ae.Type, ae.Message = ev.Error.Type, ev.Error.Message
		}
		kind, code := classify(0, ae.Type, ae.Message)
		return chunk, false, &provider.Error{Kind: kind, Code: code, Provider: s.p.name, Model: s.model, Err: ae}
	}
	return chunk, false, nil // ping, content_block_stop, and events added later
}

func (s *Stream) chunk(delta openai.ChatCompletionStreamChoiceDelta, finish openai.FinishReason) openai.ChatCompletionStreamResponse {
	if s.started && !s.roleSent {
		delta.Role = openai.ChatMessageRoleAssistant
		s.roleSent = true
	}
	return openai.ChatCompletionStreamResponse{
		ID:      s.id,
		Object:  "chat.completion.chunk",
		Created: s.created,
		Model:   s.model,
		Choices: []openai.ChatCompletionStreamChoice{{Index: 0, Delta: delta, FinishReason: finish}},
	}
}

func (s *Stream) failWith(err error) error {
	if s.closed.Load() && s.ctx.Err() == nil {
		err = fmt.Errorf("anthropic: stream closed: %w", context.Canceled)
	}
	if errors.Is(err, errBadEvent) {
		var pe *provider.Error
		if !errors.As(err, &pe) {
			err = &provider.Error{Kind: provider.KindUnavailable, Err: err}
		}
	}
	s.err = s.p.fail(s.ctx, err, s.model)
	return s.err
}

// Close releases the connection; a Recv waiting for the upstream returns
// with KindCanceled.
func (s *Stream) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	return s.body.Close()
}

// eventReader reads the data of server-sent events: the "data:" lines of
// each event, joined by newlines. Comments, "event:" and "id:" fields are
// skipped: each Messages event names its type in its data.
type eventReader struct {
	br   *bufio.Reader
	data []byte // the data of the event being read
	long []byte // a line longer than br's buffer, assembled
}

func newEventReader(r io.Reader) *eventReader {
	return &eventReader{br: bufio.NewReaderSize(r, 4096)}
}

// next returns the data of the next event with data, valid until the next
// call, or io.EOF at a clean end between events.
func (r *eventReader) next() ([]byte, error) {
	r.data = r.data[:0]
	has := false
	for {
		line, err := r.line()
		if err != nil {
			if err == io.EOF && has {
				return r.data, nil // a last event without its blank line
			}
			return nil, err
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			if has {
				return r.data, nil
			}
			continue
		}
		field, value, _ := bytes.Cut(line, []byte(":"))
		if string(field) != "data" {
			continue
		}
		value = bytes.TrimPrefix(value, []byte(" "))
		if has {
			r.data = append(r.data, '\n')
		}
		r.data = append(r.data, value...)
		has = true
		if len(r.data) > maxEventLine {
			return nil, fmt.Errorf("%w: an event is longer than %d bytes", errBadEvent, maxEventLine)
		}
	}
}

// line returns the next line with its end, or io.EOF at the end of the body
// (io.ErrUnexpectedEOF when the body ends inside a line).
func (r *eventReader) line() ([]byte, error) {
	line, err := r.br.ReadSlice('\n')
	if err == nil {
		return line, nil
	}
	if err == bufio.ErrBufferFull {
		r.long = append(r.long[:0], line...)
		for err == bufio.ErrBufferFull {
			if len(r.long) > maxEventLine {
				return nil, fmt.Errorf("%w: a line is longer than %d bytes", errBadEvent, maxEventLine)
			}
			line, err = r.br.ReadSlice('\n')
			r.long = append(r.long, line...)
		}
		line = r.long
	}
	if err == io.EOF {
		if len(line) > 0 {
			return nil, io.ErrUnexpectedEOF
		}
		return nil, io.EOF
	}
	if err != nil {
		return nil, err
	}
	return line, nil
}
