package anthropic

import (
	"strings"
	"time"

	openai "github.com/sashabaranov/go-openai"
)

// messageResponse is the answer of POST /v1/messages, and the message of a
// stream's message_start event.
type messageResponse struct {
	ID         string  `json:"id"`
	Type       string  `json:"type"`
	Role       string  `json:"role"`
	Model      string  `json:"model"`
	Content    []block `json:"content"`
	StopReason string  `json:"stop_reason"`
	Usage      usage   `json:"usage"`
}

type usage struct {
	InputTokens              int `json:"input_tokens"`
	OutputTokens             int `json:"output_tokens"`
	CacheCreationInputTokens int `json:"cache_creation_input_tokens"`
	CacheReadInputTokens     int `json:"cache_read_input_tokens"`
}

// Stop reasons of the Messages API.
const (
	stopEndTurn      = "end_turn"
	stopMaxTokens    = "max_tokens"
	stopSequence     = "stop_sequence"
	stopToolUse      = "tool_use"
	stopPauseTurn    = "pause_turn"
	stopRefusal      = "refusal"
	stopContextLimit = "model_context_window_exceeded"
)

// finishReason maps a stop reason to OpenAI's finish_reason: end_turn,
// stop_sequence and pause_turn are "stop", max_tokens and
// model_context_window_exceeded "length", tool_use "tool_calls", refusal
// "content_filter". An unknown reason is "stop".
func finishReason(stop string) openai.FinishReason {
	switch stop {
	case stopMaxTokens, stopContextLimit:
		return openai.FinishReasonLength
	case stopToolUse:
		return openai.FinishReasonToolCalls
	case stopRefusal:
		return openai.FinishReasonContentFilter
	}
	return openai.FinishReasonStop
}

// toUsage maps Anthropic's usage to OpenAI's: the prompt counts the input
// tokens, those written to the cache and those read from it (Anthropic
// counts them apart, OpenAI within prompt_tokens); the tokens read from the
// cache are also reported as prompt_tokens_details.cached_tokens.
func toUsage(u usage) openai.Usage {
	prompt := u.InputTokens + u.CacheCreationInputTokens + u.CacheReadInputTokens
	out := openai.Usage{
		PromptTokens:     prompt,
		CompletionTokens: u.OutputTokens,
		TotalTokens:      prompt + u.OutputTokens,
	}
	if u.CacheReadInputTokens > 0 {
		out.PromptTokensDetails = &openai.PromptTokensDetails{CachedTokens: u.CacheReadInputTokens}
	}
	return out
}

// toChatResponse translates a Messages answer: text blocks join into the
// content, tool_use blocks become tool calls, thinking blocks the
// reasoning content. model is the requested model, reported when the
// answer names none.
func toChatResponse(m *messageResponse, model string, now time.Time) openai.ChatCompletionResponse {
	msg := openai.ChatCompletionMessage{Role: openai.ChatMessageRoleAssistant}
	var text, thinking strings.Builder
	for _, b := range m.Content {
		switch b.Type {
		case "text":
			text.WriteString(b.Text)
		case "thinking":
			thinking.WriteString(b.Thinking)
		case "tool_use":
			args := string(b.Input)
			if args == "" {
				args = "{}"
			}
			msg.ToolCalls = append(msg.ToolCalls, openai.ToolCall{
				ID: b.ID, Type: openai.ToolTypeFunction,
				Function: openai.FunctionCall{Name: b.Name, Arguments: args},
			})
		}
	}
	msg.Content = text.String()
	msg.ReasoningContent = thinking.String()
	if m.Model != "" {
		model = m.Model
	}
	return openai.ChatCompletionResponse{
		ID:      m.ID,
		Object:  "chat.completion",
		Created: now.Unix(),
		Model:   model,
		Choices: []openai.ChatCompletionChoice{{Index: 0, Message: msg, FinishReason: finishReason(m.StopReason)}},
		Usage:   toUsage(m.Usage),
	}
}
