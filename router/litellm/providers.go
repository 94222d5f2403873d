package litellm

import (
	"regexp"
	"strings"

	"github.com/modelroute/modelroute/provider"
)

// providerInfo is what the loader knows about a LiteLLM provider prefix.
type providerInfo struct {
	// openAI: the provider table serves it through an OpenAI-compatible
	// endpoint described by spec.
	openAI bool
	spec   provider.Spec
	// why names what an unsupported provider needs instead.
	why string
}

// lookupProvider reports what modelroute knows of a LiteLLM provider prefix:
// the prefixes of the provider table (WithTable, default
// provider.DefaultTable) are served; the other prefixes LiteLLM defines are
// known but unsupported; known is false for anything else ("mistralai",
// "siliconflow", …).
func (l *loader) lookupProvider(prefix string) (info providerInfo, known bool) {
	if spec, ok := l.o.table.Lookup(prefix); ok {
		return providerInfo{openAI: true, spec: spec}, true
	}
	if why, ok := litellmOnly[prefix]; ok {
		return providerInfo{why: why}, true
	}
	return providerInfo{}, false
}

// notInTable is why a LiteLLM provider that speaks the OpenAI protocol is
// still refused: the table has no base URL or key variable for it.
const notInTable = "an entry in modelroute's provider table (add one with provider.Table.Add and load with WithTable)"

// litellmOnly are provider prefixes LiteLLM defines that the default
// provider table does not serve, with what each needs.
var litellmOnly = map[string]string{
	"bedrock":                   "AWS SigV4 signing and the Bedrock API",
	"bedrock_converse":          "AWS SigV4 signing and the Bedrock API",
	"sagemaker":                 "AWS SigV4 signing and the SageMaker API",
	"sagemaker_chat":            "AWS SigV4 signing and the SageMaker API",
	"vertex_ai":                 "Google Cloud credentials and the Vertex AI API",
	"vertex_ai_beta":            "Google Cloud credentials and the Vertex AI API",
	"azure_ai":                  "the Azure AI Foundry model API",
	"azure_text":                "the legacy completions API",
	"text-completion-openai":    "the legacy completions API",
	"text-completion-codestral": "the legacy completions API",
	"cohere":                    "Cohere's own API",
	"cohere_chat":               "Cohere's own API",
	"huggingface":               "Hugging Face's own API",
	"replicate":                 "Replicate's own API",
	"watsonx":                   "IBM watsonx's own API",
	"ai21":                      "AI21's own API",
	"palm":                      "Google's PaLM API",
	"cloudflare":                "Cloudflare Workers AI's own API",
	"databricks":                "Databricks authentication",
	"predibase":                 "Predibase's own API",
	"triton":                    "Triton's own API",
	"clarifai":                  "Clarifai's own API",
	"nlp_cloud":                 "NLP Cloud's own API",
	"aleph_alpha":               "Aleph Alpha's own API",
	"baseten":                   "Baseten's own API",
	"petals":                    "the Petals network",
	"auto_router":               "LiteLLM's in-process auto router",
	"custom_openai":             notInTable,
	"openai_like":               notInTable,
	"codestral":                 notInTable,
	"vllm":                      notInTable,
	"llamafile":                 notInTable,
	"ollama_chat":               notInTable,
	"nvidia_nim":                notInTable,
	"sambanova":                 notInTable,
	"litellm_proxy":             notInTable,
	"github":                    notInTable,
	"volcengine":                notInTable,
	"dashscope":                 notInTable,
	"moonshot":                  notInTable,
	"friendliai":                notInTable,
	"anyscale":                  notInTable,
}

var (
	// reOpenAISeries matches OpenAI's o-series: o1, o1-preview, o3-mini, o4-mini.
	reOpenAISeries = regexp.MustCompile(`^o[0-9]+(-|$)`)
	// reBedrockID matches Bedrock model ids: amazon.titan-…, anthropic.claude-…,
	// optionally behind a cross-region prefix (us., eu., apac., global.).
	reBedrockID = regexp.MustCompile(`^((us|eu|apac|global|us-gov)\.)?(amazon|anthropic|ai21|cohere|meta|mistral|stability|deepseek|writer|twelvelabs|qwen|openai)\.`)
)

// inferProvider returns the provider LiteLLM infers for a bare model name
// (no "provider/" prefix), for the common families only. ok is false when
// the name fits none of them.
func inferProvider(model string) (prefix string, ok bool) {
	m := strings.ToLower(model)
	switch {
	case strings.HasPrefix(m, "gpt-3.5-turbo-instruct"), strings.HasPrefix(m, "text-davinci-"),
		m == "davinci-002", m == "babbage-002":
		return "text-completion-openai", true
	case strings.HasPrefix(m, "gpt-"), strings.HasPrefix(m, "chatgpt-"), strings.HasPrefix(m, "ft:gpt-"),
		reOpenAISeries.MatchString(m),
		strings.HasPrefix(m, "text-embedding-"), strings.HasPrefix(m, "dall-e-"),
		strings.HasPrefix(m, "whisper"), strings.HasPrefix(m, "tts-"),
		strings.HasPrefix(m, "omni-moderation"), strings.HasPrefix(m, "text-moderation"):
		return "openai", true
	case strings.HasPrefix(m, "claude-"):
		return "anthropic", true
	case reBedrockID.MatchString(m):
		return "bedrock", true
	case strings.HasPrefix(m, "gemini-"):
		// LiteLLM serves bare gemini-* names through Vertex AI; Google AI
		// Studio needs the "gemini/" prefix.
		return "vertex_ai", true
	case strings.HasPrefix(m, "command-") || m == "command":
		return "cohere_chat", true
	}
	return "", false
}
