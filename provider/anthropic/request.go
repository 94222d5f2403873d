package anthropic

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	openai "github.com/sashabaranov/go-openai"
)

// messagesRequest is the body of POST /v1/messages.
type messagesRequest struct {
	Model            string      `json:"model,omitempty"`             // "" on Vertex AI, where the URL names it
	AnthropicVersion string      `json:"anthropic_version,omitempty"` // on Vertex AI only
	MaxTokens        int         `json:"max_tokens"`
	System           []block     `json:"system,omitempty"`
	Messages         []message   `json:"messages"`
	StopSequences    []string    `json:"stop_sequences,omitempty"`
	Temperature      *float32    `json:"temperature,omitempty"`
	TopP             *float32    `json:"top_p,omitempty"`
	Tools            []tool      `json:"tools,omitempty"`
	ToolChoice       *toolChoice `json:"tool_choice,omitempty"`
	Metadata         *metadata   `json:"metadata,omitempty"`
	Stream           bool        `json:"stream,omitempty"`
}

type message struct {
	Role    string  `json:"role"` // "user" or "assistant"
	Content []block `json:"content"`
}

// block is a content block, in requests and answers: text, image,
// tool_use, tool_result, thinking.
type block struct {
	Type      string          `json:"type"`
	Text      string          `json:"text,omitempty"`
	Source    *imageSource    `json:"source,omitempty"`
	ID        string          `json:"id,omitempty"`
	Name      string          `json:"name,omitempty"`
	Input     json.RawMessage `json:"input,omitempty"`
	ToolUseID string          `json:"tool_use_id,omitempty"`
	Content   []block         `json:"content,omitempty"`
	IsError   bool            `json:"is_error,omitempty"`
	Thinking  string          `json:"thinking,omitempty"`
}

type imageSource struct {
	Type      string `json:"type"` // "base64" or "url"
	MediaType string `json:"media_type,omitempty"`
	Data      string `json:"data,omitempty"`
	URL       string `json:"url,omitempty"`
}

type tool struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	InputSchema any    `json:"input_schema"`
}

type toolChoice struct {
	Type                   string `json:"type"` // auto, any, tool, none
	Name                   string `json:"name,omitempty"`
	DisableParallelToolUse bool   `json:"disable_parallel_tool_use,omitempty"`
}

type metadata struct {
	UserID string `json:"user_id,omitempty"`
}

// emptySchema is the input schema of a function without parameters.
var emptySchema = json.RawMessage(`{"type":"object","properties":{}}`)

// toMessagesRequest translates an OpenAI chat request. System and developer
// messages become the system prompt; tool messages become tool_result
// blocks of a user turn; consecutive turns of one role are joined, as the
// Messages API wants them alternating.
func toMessagesRequest(req openai.ChatCompletionRequest, defaultMaxTokens int) (*messagesRequest, error) {
	switch {
	case req.N > 1:
		return nil, fmt.Errorf("anthropic: n = %d: the Messages API gives one answer per call: %w", req.N, errors.ErrUnsupported)
	case req.LogProbs || req.TopLogProbs > 0:
		return nil, fmt.Errorf("anthropic: the Messages API has no logprobs: %w", errors.ErrUnsupported)
	case len(req.Functions) > 0 || req.FunctionCall != nil:
		return nil, fmt.Errorf("anthropic: legacy functions (use tools): %w", errors.ErrUnsupported)
	case req.ResponseFormat != nil && req.ResponseFormat.Type != "" && req.ResponseFormat.Type != openai.ChatCompletionResponseFormatTypeText:
		return nil, fmt.Errorf("anthropic: the Messages API has no response_format %q: %w", req.ResponseFormat.Type, errors.ErrUnsupported)
	}
	mr := &messagesRequest{Model: req.Model, MaxTokens: req.MaxCompletionTokens, StopSequences: req.Stop}
	if mr.MaxTokens == 0 {
		mr.MaxTokens = req.MaxTokens
	}
	if mr.MaxTokens == 0 {
		mr.MaxTokens = defaultMaxTokens
	}
	if req.Temperature != 0 {
		t := req.Temperature
		mr.Temperature = &t
	}
	if req.TopP != 0 {
		t := req.TopP
		mr.TopP = &t
	}
	if req.User != "" {
		mr.Metadata = &metadata{UserID: req.User}
	}
	for i, m := range req.Messages {
		if err := addMessage(mr, m); err != nil {
			return nil, fmt.Errorf("anthropic: message %d (%s): %w", i, m.Role, err)
		}
	}
	for i, t := range req.Tools {
		if t.Type != openai.ToolTypeFunction || t.Function == nil || t.Function.Name == "" {
			return nil, fmt.Errorf("anthropic: tool %d: want a function with a name", i)
		}
		schema := t.Function.Parameters
		if schema == nil {
			schema = emptySchema
		}
		mr.Tools = append(mr.Tools, tool{Name: t.Function.Name, Description: t.Function.Description, InputSchema: schema})
	}
	tc, err := toToolChoice(req.ToolChoice, req.ParallelToolCalls)
	if err != nil {
		return nil, err
	}
	mr.ToolChoice = tc
	return mr, nil
}

func addMessage(mr *messagesRequest, m openai.ChatCompletionMessage) error {
	switch m.Role {
	case openai.ChatMessageRoleSystem, openai.ChatMessageRoleDeveloper:
		blocks, err := contentBlocks(m, false)
		if err != nil {
			return err
		}
		mr.System = append(mr.System, blocks...)
		return nil
	case openai.ChatMessageRoleUser:
		blocks, err := contentBlocks(m, true)
		if err != nil {
			return err
		}
		appendTurn(mr, "user", blocks)
		return nil
	case openai.ChatMessageRoleAssistant:
		blocks, err := contentBlocks(m, false)
		if err != nil {
			return err
		}
		for _, tc := range m.ToolCalls {
			input := json.RawMessage(tc.Function.Arguments)
			if strings.TrimSpace(tc.Function.Arguments) == "" {
				input = json.RawMessage("{}")
			} else if !isObject(input) {
				return fmt.Errorf("tool call %q: arguments are not a JSON object", tc.ID)
			}
			blocks = append(blocks, block{Type: "tool_use", ID: tc.ID, Name: tc.Function.Name, Input: input})
		}
		if m.FunctionCall != nil {
			return fmt.Errorf("legacy function_call (use tool_calls): %w", errors.ErrUnsupported)
		}
		appendTurn(mr, "assistant", blocks)
		return nil
	case openai.ChatMessageRoleTool:
		if m.ToolCallID == "" {
			return errors.New("tool message without tool_call_id")
		}
		content, err := contentBlocks(m, true)
		if err != nil {
			return err
		}
		appendTurn(mr, "user", []block{{Type: "tool_result", ToolUseID: m.ToolCallID, Content: content}})
		return nil
	}
	return fmt.Errorf("role %q is not supported", m.Role)
}

// appendTurn adds blocks as a turn of role, joined to the last turn when it
// has the same role.
func appendTurn(mr *messagesRequest, role string, blocks []block) {
	if len(blocks) == 0 {
		return
	}
	if n := len(mr.Messages); n > 0 && mr.Messages[n-1].Role == role {
		mr.Messages[n-1].Content = append(mr.Messages[n-1].Content, blocks...)
		return
	}
	mr.Messages = append(mr.Messages, message{Role: role, Content: blocks})
}

// contentBlocks translates a message's content; images only where images
// is set. Empty text is left out: the Messages API refuses empty blocks.
func contentBlocks(m openai.ChatCompletionMessage, images bool) ([]block, error) {
	if len(m.MultiContent) == 0 {
		if m.Content == "" {
			return nil, nil
		}
		return []block{{Type: "text", Text: m.Content}}, nil
	}
	if m.Content != "" {
		return nil, openai.ErrContentFieldsMisused
	}
	var out []block
	for i, part := range m.MultiContent {
		switch part.Type {
		case openai.ChatMessagePartTypeText:
			if part.Text != "" {
				out = append(out, block{Type: "text", Text: part.Text})
			}
		case openai.ChatMessagePartTypeImageURL:
			if !images {
				return nil, fmt.Errorf("part %d: images are allowed in user messages only", i)
			}
			if part.ImageURL == nil {
				return nil, fmt.Errorf("part %d: image_url without a URL", i)
			}
			src, err := imageSourceOf(part.ImageURL.URL)
			if err != nil {
				return nil, fmt.Errorf("part %d: %w", i, err)
			}
			out = append(out, block{Type: "image", Source: src})
		default:
			return nil, fmt.Errorf("part %d: content type %q: %w", i, part.Type, errors.ErrUnsupported)
		}
	}
	return out, nil
}

// imageSourceOf translates an image URL: a "data:MEDIA;base64,DATA" URL to
// a base64 source, an http(s) URL to a url source.
func imageSourceOf(u string) (*imageSource, error) {
	if rest, ok := strings.CutPrefix(u, "data:"); ok {
		meta, data, ok := strings.Cut(rest, ",")
		media, enc, _ := strings.Cut(meta, ";")
		if !ok || enc != "base64" || media == "" {
			return nil, errors.New("image data URL: want data:MEDIA_TYPE;base64,DATA")
		}
		return &imageSource{Type: "base64", MediaType: media, Data: data}, nil
	}
	if strings.HasPrefix(u, "https://") || strings.HasPrefix(u, "http://") {
		return &imageSource{Type: "url", URL: u}, nil
	}
	return nil, errors.New("image URL: want an http(s) or base64 data URL")
}

// toToolChoice translates tool_choice ("auto", "none", "required", or
// {"type": "function", "function": {"name": …}}, as a go-openai value or
// decoded JSON) and parallel_tool_calls.
func toToolChoice(choice, parallel any) (*toolChoice, error) {
	var tc *toolChoice
	switch c := choice.(type) {
	case nil:
	case string:
		switch c {
		case "auto", "":
			tc = &toolChoice{Type: "auto"}
		case "none":
			tc = &toolChoice{Type: "none"}
		case "required":
			tc = &toolChoice{Type: "any"}
		default:
			return nil, fmt.Errorf("anthropic: tool_choice %q is not auto, none or required", c)
		}
	case openai.ToolChoice:
		tc = &toolChoice{Type: "tool", Name: c.Function.Name}
	case *openai.ToolChoice:
		if c != nil {
			tc = &toolChoice{Type: "tool", Name: c.Function.Name}
		}
	case map[string]any:
		fn, _ := c["function"].(map[string]any)
		name, _ := fn["name"].(string)
		tc = &toolChoice{Type: "tool", Name: name}
	default:
		return nil, fmt.Errorf("anthropic: tool_choice of type %T is not supported", choice)
	}
	if tc != nil && tc.Type == "tool" && tc.Name == "" {
		return nil, errors.New("anthropic: tool_choice names no function")
	}
	if p, ok := parallel.(bool); ok && !p {
		if tc == nil {
			tc = &toolChoice{Type: "auto"}
		}
		if tc.Type != "none" {
			tc.DisableParallelToolUse = true
		}
	}
	return tc, nil
}

func isObject(raw json.RawMessage) bool {
	var m map[string]json.RawMessage
	return json.Unmarshal(raw, &m) == nil && m != nil
}
