package bedrock

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	openai "github.com/sashabaranov/go-openai"

	"github.com/modelroute/modelroute/provider"
)

// Embeddings calls InvokeModel for the embedding models of two families:
// Amazon Titan (amazon.titan-embed-…: one call per input, {"inputText"})
// and Cohere (cohere.embed-…: one call for all inputs, {"texts",
// "input_type": "search_document"}). Other models fail with
// KindBadRequest, wrapping errors.ErrUnsupported, without a call. Inputs
// must be strings (or one string).
func (p *Provider) Embeddings(ctx context.Context, req openai.EmbeddingRequest) (openai.EmbeddingResponse, error) {
	model := string(req.Model)
	inputs, err := embeddingInputs(req.Input)
	if err != nil {
		return openai.EmbeddingResponse{}, p.badRequest(model, err)
	}
	var vectors [][]float32
	tokens := 0
	switch family(model) {
	case "amazon":
		for _, in := range inputs {
			var out struct {
				Embedding           []float32 `json:"embedding"`
				InputTextTokenCount int       `json:"inputTextTokenCount"`
			}
			if err := p.invoke(ctx, model, map[string]any{"inputText": in}, &out); err != nil {
				return openai.EmbeddingResponse{}, err
			}
			vectors = append(vectors, out.Embedding)
			tokens += out.InputTextTokenCount
		}
	case "cohere":
		var out struct {
			Embeddings [][]float32 `json:"embeddings"`
		}
		if err := p.invoke(ctx, model, map[string]any{"texts": inputs, "input_type": "search_document"}, &out); err != nil {
			return openai.EmbeddingResponse{}, err
		}
		vectors = out.Embeddings
	default:
		return openai.EmbeddingResponse{}, p.badRequest(model,
			fmt.Errorf("bedrock: model %q has no embeddings modelroute can call (Titan and Cohere embedding models do): %w", model, errors.ErrUnsupported))
	}
	if len(vectors) != len(inputs) {
		return openai.EmbeddingResponse{}, p.fail(ctx, fmt.Errorf("%w: %d embeddings for %d inputs", errBadAnswer, len(vectors), len(inputs)), model)
	}
	resp := openai.EmbeddingResponse{Object: "list", Model: req.Model, Usage: openai.Usage{PromptTokens: tokens, TotalTokens: tokens}}
	for i, v := range vectors {
		resp.Data = append(resp.Data, openai.Embedding{Object: "embedding", Index: i, Embedding: v})
	}
	return resp, nil
}

func (p *Provider) invoke(ctx context.Context, model string, body, out any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return p.badRequest(model, err)
	}
	res, err := p.client.InvokeModel(ctx, &bedrockruntime.InvokeModelInput{
		ModelId: aws.String(model), Body: b, ContentType: aws.String("application/json"), Accept: aws.String("application/json"),
	})
	if err != nil {
		return p.fail(ctx, err, model)
	}
	if err := json.Unmarshal(res.Body, out); err != nil {
		return p.fail(ctx, fmt.Errorf("%w: %w", errBadAnswer, err), model)
	}
	return nil
}

// embeddingInputs returns an embeddings input as strings.
func embeddingInputs(in any) ([]string, error) {
	switch v := in.(type) {
	case string:
		return []string{v}, nil
	case []string:
		if len(v) == 0 {
			return nil, errors.New("bedrock: no input")
		}
		return v, nil
	case []any:
		out := make([]string, 0, len(v))
		for i, x := range v {
			s, ok := x.(string)
			if !ok {
				return nil, fmt.Errorf("bedrock: input %d is not a string (token arrays are not supported)", i)
			}
			out = append(out, s)
		}
		if len(out) == 0 {
			return nil, errors.New("bedrock: no input")
		}
		return out, nil
	}
	return nil, fmt.Errorf("bedrock: input of type %T is not supported: give a string or strings", in)
}

var _ provider.Provider = (*Provider)(nil)
