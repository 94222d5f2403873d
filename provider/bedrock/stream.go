package bedrock

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
	openai "github.com/sashabaranov/go-openai"

	"github.com/modelroute/modelroute/provider"
)

var (
	errBadEvent = errors.New("bedrock: stream event is not valid")
	errCut      = fmt.Errorf("bedrock: stream ended before messageStop: %w", io.ErrUnexpectedEOF)
)

// eventSource is what a Stream reads: the SDK's
// *bedrockruntime.ConverseStreamEventStream.
type eventSource interface {
	Events() <-chan types.ConverseStreamOutput
	Close() error
	Err() error
}

var _ eventSource = (*bedrockruntime.ConverseStreamEventStream)(nil)

// Stream is a ConverseStream call read as OpenAI chunks:
//
//   - the first chunk after messageStart carries the role "assistant";
//   - a text delta gives a content chunk, a reasoning delta a
//     reasoning_content chunk;
//   - a toolUse block's start gives a tool call chunk with its id and name,
//     and each toolUse delta one with the next piece of its arguments, under
//     the tool call's index (counted over the toolUse blocks);
//   - messageStop gives the chunk with the finish_reason (see
//     finishReason); content_filtered and guardrail_intervened fail the
//     stream with KindContentPolicy instead;
//   - metadata, when the request asked for usage in stream_options, gives a
//     last chunk without choices carrying the usage;
//   - the end of the events after messageStop is io.EOF; before it,
//     KindConnection. An exception event fails the stream with its Kind
//     (throttlingException is KindRateLimited).
//
// Recv is not safe for concurrent use; Close may be called at any time,
// more than once.
type Stream struct {
	ctx          context.Context
	p            *Provider
	model        string
	es           eventSource
	includeUsage bool

	id       string
	created  int64
	tools    map[int32]int // content block index → tool call index
	started  bool          // messageStart was read
	roleSent bool
	stopped  bool  // messageStop was read
	err      error // sticky
	closed   atomic.Bool
}

var _ provider.Stream = (*Stream)(nil)

func newStream(ctx context.Context, p *Provider, model string, es eventSource, includeUsage bool) *Stream {
	return &Stream{ctx: ctx, p: p, model: model, es: es, includeUsage: includeUsage, id: "chatcmpl-bedrock", created: time.Now().Unix()}
}

// Recv returns the next chunk, io.EOF after the stream's end, or the
// *provider.Error that ended it.
func (s *Stream) Recv() (openai.ChatCompletionStreamResponse, error) {
	for s.err == nil {
		ev, ok := <-s.es.Events()
		if !ok {
			if err := s.es.Err(); err != nil {
				if classify(err, time.Time{}).Kind == provider.KindUnknown {
					// Neither a transport failure nor an exception: the
					// answer is not a valid event stream.
					err = fmt.Errorf("%w: %w", errBadEvent, err)
				}
				return openai.ChatCompletionStreamResponse{}, s.failWith(err)
			}
			if !s.stopped {
				return openai.ChatCompletionStreamResponse{}, s.failWith(errCut)
			}
			s.err = io.EOF
			break
		}
		chunk, ok, err := s.handle(ev)
		if err != nil {
			return openai.ChatCompletionStreamResponse{}, s.failWith(err)
		}
		if ok {
			return chunk, nil
		}
	}
	return openai.ChatCompletionStreamResponse{}, s.err
}

func (s *Stream) handle(ev types.ConverseStreamOutput) (chunk openai.ChatCompletionStreamResponse, ok bool, err error) {
	switch ev := ev.(type) {
	case *types.ConverseStreamOutputMemberMessageStart:
		s.started = true
	case *types.ConverseStreamOutputMemberContentBlockStart:
		tu, isTool := ev.Value.Start.(*types.ContentBlockStartMemberToolUse)
		if !isTool {
			return chunk, false, nil
		}
		idx := aws.ToInt32(ev.Value.ContentBlockIndex)
		if s.tools == nil {
			s.tools = make(map[int32]int)
		}
		if _, dup := s.tools[idx]; dup {
			return chunk, false, fmt.Errorf("%w: content block %d started twice", errBadEvent, idx)
		}
		i := len(s.tools)
		s.tools[idx] = i
		return s.chunk(openai.ChatCompletionStreamChoiceDelta{ToolCalls: []openai.ToolCall{{
			Index: &i, ID: aws.ToString(tu.Value.ToolUseId), Type: openai.ToolTypeFunction,
			Function: openai.FunctionCall{Name: aws.ToString(tu.Value.Name)},
		}}}, ""), true, nil
	case *types.ConverseStreamOutputMemberContentBlockDelta:
		switch d := ev.Value.Delta.(type) {
		case *types.ContentBlockDeltaMemberText:
			return s.chunk(openai.ChatCompletionStreamChoiceDelta{Content: d.Value}, ""), true, nil
		case *types.ContentBlockDeltaMemberReasoningContent:
			if rt, isText := d.Value.(*types.ReasoningContentBlockDeltaMemberText); isText {
				return s.chunk(openai.ChatCompletionStreamChoiceDelta{ReasoningContent: rt.Value}, ""), true, nil
			}
		case *types.ContentBlockDeltaMemberToolUse:
			idx := aws.ToInt32(ev.Value.ContentBlockIndex)
			i, known := s.tools[idx]
			if !known {
				return chunk, false, fmt.Errorf("%w: toolUse delta for content block %d, which is not a toolUse", errBadEvent, idx)
			}
			return s.chunk(openai.ChatCompletionStreamChoiceDelta{ToolCalls: []openai.ToolCall{{
				Index: &i, Function: openai.FunctionCall{Arguments: aws.ToString(d.Value.Input)},
			}}}, ""), true, nil
		}
	case *types.ConverseStreamOutputMemberMessageStop:
		s.stopped = true
		if filteredStop(ev.Value.StopReason) {
			return chunk, false, s.p.filtered(s.model, ev.Value.StopReason)
		}
		return s.chunk(openai.ChatCompletionStreamChoiceDelta{}, finishReason(ev.Value.StopReason)), true, nil
	case *types.ConverseStreamOutputMemberMetadata:
		if s.includeUsage {
			u := toUsage(ev.Value.Usage)
			c := s.chunk(openai.ChatCompletionStreamChoiceDelta{}, "")
			c.Choices = []openai.ChatCompletionStreamChoice{}
			c.Usage = &u
			return c, true, nil
		}
	}
	return chunk, false, nil // contentBlockStop, and events added later
}

func (s *Stream) chunk(delta openai.ChatCompletionStreamChoiceDelta, finish openai.FinishReason) openai.ChatCompletionStreamResponse {
	if s.started && !s.roleSent {
		delta.Role = openai.ChatMessageRoleAssistant
		s.roleSent = true
	}
	return openai.ChatCompletionStreamResponse{
		ID: s.id, Object: "chat.completion.chunk", Created: s.created, Model: s.model,
		Choices: []openai.ChatCompletionStreamChoice{{Index: 0, Delta: delta, FinishReason: finish}},
	}
}

func (s *Stream) failWith(err error) error {
	if s.closed.Load() && s.ctx.Err() == nil {
		err = fmt.Errorf("bedrock: stream closed: %w", context.Canceled)
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
	s.es.Close()
	return nil
}
