package bedrock

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/document"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
	openai "github.com/sashabaranov/go-openai"
)

// converse is the translated body of a Converse or ConverseStream call.
type converse struct {
	messages  []types.Message
	system    []types.SystemContentBlock
	inference *types.InferenceConfiguration
	tools     *types.ToolConfiguration
}

// toConverse translates an OpenAI chat request. System and developer
// messages become the system prompt; tool messages become toolResult
// blocks of a user turn; consecutive turns of one role are joined, as
// Converse wants them alternating.
func toConverse(req openai.ChatCompletionRequest) (*converse, error) {
	switch {
	case req.N > 1:
		return nil, fmt.Errorf("bedrock: n = %d: Converse gives one answer per call: %w", req.N, errors.ErrUnsupported)
	case req.LogProbs || req.TopLogProbs > 0:
		return nil, fmt.Errorf("bedrock: Converse has no logprobs: %w", errors.ErrUnsupported)
	case len(req.Functions) > 0 || req.FunctionCall != nil:
		return nil, fmt.Errorf("bedrock: legacy functions (use tools): %w", errors.ErrUnsupported)
	case req.ResponseFormat != nil && req.ResponseFormat.Type != "" && req.ResponseFormat.Type != openai.ChatCompletionResponseFormatTypeText:
		return nil, fmt.Errorf("bedrock: Converse has no response_format %q: %w", req.ResponseFormat.Type, errors.ErrUnsupported)
	}
	c := &converse{}
	for i, m := range req.Messages {
		if err := c.add(m); err != nil {
			return nil, fmt.Errorf("bedrock: message %d (%s): %w", i, m.Role, err)
		}
	}
	inf := types.InferenceConfiguration{StopSequences: req.Stop}
	set := len(req.Stop) > 0
	if n := req.MaxCompletionTokens; n > 0 || req.MaxTokens > 0 {
		if n == 0 {
			n = req.MaxTokens
		}
		inf.MaxTokens = aws.Int32(int32(min(n, 1<<31-1)))
		set = true
	}
	if req.Temperature != 0 {
		inf.Temperature = aws.Float32(req.Temperature)
		set = true
	}
	if req.TopP != 0 {
		inf.TopP = aws.Float32(req.TopP)
		set = true
	}
	if set {
		c.inference = &inf
	}
	if err := c.addTools(req.Tools, req.ToolChoice); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *converse) add(m openai.ChatCompletionMessage) error {
	switch m.Role {
	case openai.ChatMessageRoleSystem, openai.ChatMessageRoleDeveloper:
		blocks, err := contentBlocks(m, false)
		if err != nil {
			return err
		}
		for _, b := range blocks {
			t, ok := b.(*types.ContentBlockMemberText)
			if !ok {
				return errors.New("a system message holds text only")
			}
			c.system = append(c.system, &types.SystemContentBlockMemberText{Value: t.Value})
		}
		return nil
	case openai.ChatMessageRoleUser:
		blocks, err := contentBlocks(m, true)
		if err != nil {
			return err
		}
		c.turn(types.ConversationRoleUser, blocks)
		return nil
	case openai.ChatMessageRoleAssistant:
		if m.FunctionCall != nil {
			return fmt.Errorf("legacy function_call (use tool_calls): %w", errors.ErrUnsupported)
		}
		blocks, err := contentBlocks(m, false)
		if err != nil {
			return err
		}
		for _, tc := range m.ToolCalls {
			input := map[string]any{}
			if strings.TrimSpace(tc.Function.Arguments) != "" {
				if err := json.Unmarshal([]byte(tc.Function.Arguments), &input); err != nil || input == nil {
					return fmt.Errorf("tool call %q: arguments are not a JSON object", tc.ID)
				}
			}
			blocks = append(blocks, &types.ContentBlockMemberToolUse{Value: types.ToolUseBlock{
				ToolUseId: aws.String(tc.ID), Name: aws.String(tc.Function.Name), Input: document.NewLazyDocument(input),
			}})
		}
		c.turn(types.ConversationRoleAssistant, blocks)
		return nil
	case openai.ChatMessageRoleTool:
		if m.ToolCallID == "" {
			return errors.New("tool message without tool_call_id")
		}
		blocks, err := contentBlocks(m, false)
		if err != nil {
			return err
		}
		var content []types.ToolResultContentBlock
		for _, b := range blocks {
			if t, ok := b.(*types.ContentBlockMemberText); ok {
				content = append(content, &types.ToolResultContentBlockMemberText{Value: t.Value})
			}
		}
		if len(content) == 0 {
			content = []types.ToolResultContentBlock{&types.ToolResultContentBlockMemberText{Value: ""}}
		}
		c.turn(types.ConversationRoleUser, []types.ContentBlock{&types.ContentBlockMemberToolResult{Value: types.ToolResultBlock{
			ToolUseId: aws.String(m.ToolCallID), Content: content,
		}}})
		return nil
	}
	return fmt.Errorf("role %q is not supported", m.Role)
}

// turn adds blocks as a turn of role, joined to the last turn when it has
// the same role.
func (c *converse) turn(role types.ConversationRole, blocks []types.ContentBlock) {
	if len(blocks) == 0 {
		return
	}
	if n := len(c.messages); n > 0 && c.messages[n-1].Role == role {
		c.messages[n-1].Content = append(c.messages[n-1].Content, blocks...)
		return
	}
	c.messages = append(c.messages, types.Message{Role: role, Content: blocks})
}

// contentBlocks translates a message's content; images only where images
// is set, and only as base64 data URLs (Converse takes image bytes, or S3
// locations, not URLs). Empty text is left out.
func contentBlocks(m openai.ChatCompletionMessage, images bool) ([]types.ContentBlock, error) {
	if len(m.MultiContent) == 0 {
		if m.Content == "" {
			return nil, nil
		}
		return []types.ContentBlock{&types.ContentBlockMemberText{Value: m.Content}}, nil
	}
	if m.Content != "" {
		return nil, openai.ErrContentFieldsMisused
	}
	var out []types.ContentBlock
	for i, part := range m.MultiContent {
		switch part.Type {
		case openai.ChatMessagePartTypeText:
			if part.Text != "" {
				out = append(out, &types.ContentBlockMemberText{Value: part.Text})
			}
		case openai.ChatMessagePartTypeImageURL:
			if !images {
				return nil, fmt.Errorf("part %d: images are allowed in user messages only", i)
			}
			if part.ImageURL == nil {
				return nil, fmt.Errorf("part %d: image_url without a URL", i)
			}
			img, err := imageOf(part.ImageURL.URL)
			if err != nil {
				return nil, fmt.Errorf("part %d: %w", i, err)
			}
			out = append(out, &types.ContentBlockMemberImage{Value: img})
		default:
			return nil, fmt.Errorf("part %d: content type %q: %w", i, part.Type, errors.ErrUnsupported)
		}
	}
	return out, nil
}

// imageFormats maps media types to Converse's image formats. Read-only.
var imageFormats = map[string]types.ImageFormat{
	"image/png": types.ImageFormatPng, "image/jpeg": types.ImageFormatJpeg, "image/jpg": types.ImageFormatJpeg,
	"image/gif": types.ImageFormatGif, "image/webp": types.ImageFormatWebp,
}

func imageOf(u string) (types.ImageBlock, error) {
	rest, ok := strings.CutPrefix(u, "data:")
	if !ok {
		return types.ImageBlock{}, fmt.Errorf("image links (Converse takes images as bytes: give a base64 data URL): %w", errors.ErrUnsupported)
	}
	meta, data, ok := strings.Cut(rest, ",")
	media, enc, _ := strings.Cut(meta, ";")
	format, known := imageFormats[strings.ToLower(media)]
	if !ok || enc != "base64" || !known {
		return types.ImageBlock{}, errors.New("image data URL: want data:image/(png|jpeg|gif|webp);base64,DATA")
	}
	b, err := base64.StdEncoding.DecodeString(data)
	if err != nil {
		return types.ImageBlock{}, fmt.Errorf("image data URL: %w", err)
	}
	return types.ImageBlock{Format: format, Source: &types.ImageSourceMemberBytes{Value: b}}, nil
}

// addTools translates tools and tool_choice. Converse has no "none": with
// tool_choice "none" the tools are not sent.
func (c *converse) addTools(tools []openai.Tool, choice any) error {
	if len(tools) == 0 {
		return nil
	}
	tc, err := toolChoiceOf(choice)
	if err != nil {
		return err
	}
	if tc == nil && choice == "none" {
		return nil
	}
	cfg := &types.ToolConfiguration{ToolChoice: tc}
	for i, t := range tools {
		if t.Type != openai.ToolTypeFunction || t.Function == nil || t.Function.Name == "" {
			return fmt.Errorf("bedrock: tool %d: want a function with a name", i)
		}
		schema := any(map[string]any{"type": "object", "properties": map[string]any{}})
		if t.Function.Parameters != nil {
			b, err := json.Marshal(t.Function.Parameters)
			if err != nil {
				return fmt.Errorf("bedrock: tool %q: parameters: %w", t.Function.Name, err)
			}
			if err := json.Unmarshal(b, &schema); err != nil {
				return fmt.Errorf("bedrock: tool %q: parameters: %w", t.Function.Name, err)
			}
		}
		spec := types.ToolSpecification{Name: aws.String(t.Function.Name), InputSchema: &types.ToolInputSchemaMemberJson{Value: document.NewLazyDocument(schema)}}
		if t.Function.Description != "" {
			spec.Description = aws.String(t.Function.Description)
		}
		cfg.Tools = append(cfg.Tools, &types.ToolMemberToolSpec{Value: spec})
	}
	c.tools = cfg
	return nil
}

// toolChoiceOf translates tool_choice: "auto", "required" (any), a named
// function (tool), as a go-openai value or decoded JSON; nil for none given
// and for "none".
func toolChoiceOf(choice any) (types.ToolChoice, error) {
	var name string
	switch c := choice.(type) {
	case nil:
		return nil, nil
	case string:
		switch c {
		case "auto", "":
			return &types.ToolChoiceMemberAuto{}, nil
		case "none":
			return nil, nil
		case "required":
			return &types.ToolChoiceMemberAny{}, nil
		}
		return nil, fmt.Errorf("bedrock: tool_choice %q is not auto, none or required", c)
	case openai.ToolChoice:
		name = c.Function.Name
	case *openai.ToolChoice:
		if c != nil {
			name = c.Function.Name
		}
	case map[string]any:
		fn, _ := c["function"].(map[string]any)
		name, _ = fn["name"].(string)
	default:
		return nil, fmt.Errorf("bedrock: tool_choice of type %T is not supported", choice)
	}
	if name == "" {
		return nil, errors.New("bedrock: tool_choice names no function")
	}
	return &types.ToolChoiceMemberTool{Value: types.SpecificToolChoice{Name: aws.String(name)}}, nil
}

// finishReason maps a stop reason to OpenAI's finish_reason: end_turn and
// stop_sequence are "stop", max_tokens and model_context_window_exceeded
// "length", tool_use "tool_calls", content_filtered and
// guardrail_intervened "content_filter". Others are "stop".
func finishReason(r types.StopReason) openai.FinishReason {
	switch r {
	case types.StopReasonMaxTokens, types.StopReasonModelContextWindowExceeded:
		return openai.FinishReasonLength
	case types.StopReasonToolUse:
		return openai.FinishReasonToolCalls
	case types.StopReasonContentFiltered, types.StopReasonGuardrailIntervened:
		return openai.FinishReasonContentFilter
	}
	return openai.FinishReasonStop
}

// toUsage maps Converse's usage: the prompt counts the input tokens and
// those written to and read from the prompt cache; the cache reads are also
// cached_tokens.
func toUsage(u *types.TokenUsage) openai.Usage {
	if u == nil {
		return openai.Usage{}
	}
	in := int(aws.ToInt32(u.InputTokens) + aws.ToInt32(u.CacheReadInputTokens) + aws.ToInt32(u.CacheWriteInputTokens))
	out := openai.Usage{PromptTokens: in, CompletionTokens: int(aws.ToInt32(u.OutputTokens))}
	out.TotalTokens = out.PromptTokens + out.CompletionTokens
	if r := aws.ToInt32(u.CacheReadInputTokens); r > 0 {
		out.PromptTokensDetails = &openai.PromptTokensDetails{CachedTokens: int(r)}
	}
	return out
}

// toChatResponse translates a Converse answer: text blocks join into the
// content, toolUse blocks become tool calls, reasoning text the reasoning
// content.
func toChatResponse(out *bedrockruntime.ConverseOutput, model string, now time.Time) (openai.ChatCompletionResponse, error) {
	mo, ok := out.Output.(*types.ConverseOutputMemberMessage)
	if !ok {
		return openai.ChatCompletionResponse{}, fmt.Errorf("%w: the answer holds no message", errBadAnswer)
	}
	msg := openai.ChatCompletionMessage{Role: openai.ChatMessageRoleAssistant}
	var text, reasoning strings.Builder
	for _, b := range mo.Value.Content {
		switch b := b.(type) {
		case *types.ContentBlockMemberText:
			text.WriteString(b.Value)
		case *types.ContentBlockMemberReasoningContent:
			if rt, ok := b.Value.(*types.ReasoningContentBlockMemberReasoningText); ok {
				reasoning.WriteString(aws.ToString(rt.Value.Text))
			}
		case *types.ContentBlockMemberToolUse:
			args, err := documentJSON(b.Value.Input)
			if err != nil {
				return openai.ChatCompletionResponse{}, fmt.Errorf("%w: tool input: %w", errBadAnswer, err)
			}
			msg.ToolCalls = append(msg.ToolCalls, openai.ToolCall{
				ID: aws.ToString(b.Value.ToolUseId), Type: openai.ToolTypeFunction,
				Function: openai.FunctionCall{Name: aws.ToString(b.Value.Name), Arguments: args},
			})
		}
	}
	msg.Content = text.String()
	msg.ReasoningContent = reasoning.String()
	id := "chatcmpl-bedrock"
	if rid, ok := requestID(out.ResultMetadata); ok {
		id = "chatcmpl-" + rid
	}
	return openai.ChatCompletionResponse{
		ID: id, Object: "chat.completion", Created: now.Unix(), Model: model,
		Choices: []openai.ChatCompletionChoice{{Index: 0, Message: msg, FinishReason: finishReason(out.StopReason)}},
		Usage:   toUsage(out.Usage),
	}, nil
}

// documentJSON returns a document as JSON text ("{}" for none).
func documentJSON(d document.Interface) (string, error) {
	if d == nil {
		return "{}", nil
	}
	var v any
	if err := d.UnmarshalSmithyDocument(&v); err != nil {
		return "", err
	}
	if v == nil {
		return "{}", nil
	}
	b, err := json.Marshal(v)
	return string(b), err
}

var errBadAnswer = errors.New("bedrock: the answer is not a Converse response")
