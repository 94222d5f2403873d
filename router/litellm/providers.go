package litellm

import (
	"regexp"
	"strings"
)

// providerInfo is what the loader needs to know about a LiteLLM provider
// prefix.
type providerInfo struct {
	// openAI: modelroute can call it through an OpenAI-compatible endpoint.
	openAI bool
	// why names what an unsupported provider needs instead.
	why string
	// keyEnv and baseEnv are the variables LiteLLM reads when api_key or
	// api_base is absent.
	keyEnv, baseEnv string
}

// lookupProvider reports what modelroute knows of a LiteLLM provider prefix.
// It is the one place the loader asks; known is false for prefixes LiteLLM
// does not define ("mistralai", "siliconflow", …).
func lookupProvider(prefix string) (info providerInfo, known bool) {
	info, known = localProviders[prefix]
	return info, known
}

// localProviders: LiteLLM provider prefixes. OpenAI-compatible ones are
// served through the OpenAI protocol; the others are known so that the error
// says "unsupported" rather than "unknown".
var localProviders = map[string]providerInfo{
	"openai":        {openAI: true, keyEnv: "OPENAI_API_KEY", baseEnv: "OPENAI_API_BASE"},
	"custom_openai": {openAI: true},
	"openai_like":   {openAI: true},
	"azure":         {openAI: true, keyEnv: "AZURE_API_KEY", baseEnv: "AZURE_API_BASE"},
	"anthropic":     {openAI: true, keyEnv: "ANTHROPIC_API_KEY"},
	"gemini":        {openAI: true, keyEnv: "GEMINI_API_KEY"},
	"groq":          {openAI: true, keyEnv: "GROQ_API_KEY"},
	"mistral":       {openAI: true, keyEnv: "MISTRAL_API_KEY"},
	"codestral":     {openAI: true, keyEnv: "CODESTRAL_API_KEY"},
	"openrouter":    {openAI: true, keyEnv: "OPENROUTER_API_KEY"},
	"xai":           {openAI: true, keyEnv: "XAI_API_KEY"},
	"fireworks_ai":  {openAI: true, keyEnv: "FIREWORKS_AI_API_KEY"},
	"together_ai":   {openAI: true, keyEnv: "TOGETHERAI_API_KEY"},
	"deepseek":      {openAI: true, keyEnv: "DEEPSEEK_API_KEY"},
	"perplexity":    {openAI: true, keyEnv: "PERPLEXITYAI_API_KEY"},
	"deepinfra":     {openAI: true, keyEnv: "DEEPINFRA_API_KEY"},
	"cerebras":      {openAI: true, keyEnv: "CEREBRAS_API_KEY"},
	"nvidia_nim":    {openAI: true, keyEnv: "NVIDIA_NIM_API_KEY"},
	"sambanova":     {openAI: true, keyEnv: "SAMBANOVA_API_KEY"},
	"hosted_vllm":   {openAI: true},
	"vllm":          {openAI: true},
	"lm_studio":     {openAI: true},
	"llamafile":     {openAI: true},
	"ollama":        {openAI: true},
	"ollama_chat":   {openAI: true},
	"litellm_proxy": {openAI: true, keyEnv: "LITELLM_PROXY_API_KEY"},

	"bedrock":                   {why: "AWS SigV4 signing and the Bedrock API"},
	"bedrock_converse":          {why: "AWS SigV4 signing and the Bedrock API"},
	"sagemaker":                 {why: "AWS SigV4 signing and the SageMaker API"},
	"sagemaker_chat":            {why: "AWS SigV4 signing and the SageMaker API"},
	"vertex_ai":                 {why: "Google Cloud credentials and the Vertex AI API"},
	"vertex_ai_beta":            {why: "Google Cloud credentials and the Vertex AI API"},
	"azure_ai":                  {why: "the Azure AI Foundry model API"},
	"azure_text":                {why: "the legacy completions API"},
	"text-completion-openai":    {why: "the legacy completions API"},
	"text-completion-codestral": {why: "the legacy completions API"},
	"cohere":                    {why: "Cohere's own API"},
	"cohere_chat":               {why: "Cohere's own API"},
	"huggingface":               {why: "Hugging Face's own API"},
	"replicate":                 {why: "Replicate's own API"},
	"watsonx":                   {why: "IBM watsonx's own API"},
	"ai21":                      {why: "AI21's own API"},
	"palm":                      {why: "Google's PaLM API"},
	"cloudflare":                {why: "Cloudflare Workers AI's own API"},
	"databricks":                {why: "Databricks authentication"},
	"predibase":                 {why: "Predibase's own API"},
	"triton":                    {why: "Triton's own API"},
	"auto_router":               {why: "LiteLLM's in-process auto router"},
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
