package litellm

import (
	"encoding/json"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/modelroute/modelroute/provider"
)

// providerInfo is what the loader knows about a LiteLLM provider prefix.
type providerInfo struct {
	// openAI: the provider table serves it through an OpenAI-compatible
	// endpoint described by spec.
	openAI bool
	// native: modelroute speaks the provider's own API (see nativeSpecs);
	// spec names its key variable and default base URL, if it has them.
	native bool
	spec   provider.Spec
	// why names what an unsupported provider needs instead.
	why string
}

// served reports whether modelroute can call the provider.
func (i providerInfo) served() bool { return i.openAI || i.native }

// lookupProvider reports what modelroute knows of a LiteLLM provider prefix:
// the native providers (nativeSpecs) and the prefixes of the provider table
// (WithTable, default provider.DefaultTable) are served; the other prefixes
// LiteLLM defines are known but unsupported; known is false for anything
// else ("mistralai", "siliconflow", …).
func (l *loader) lookupProvider(prefix string) (info providerInfo, known bool) {
	if spec, ok := nativeSpecs[prefix]; ok {
		return providerInfo{native: true, spec: spec}, true
	}
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
	"sagemaker":                 "AWS SigV4 signing and the SageMaker API",
	"sagemaker_chat":            "AWS SigV4 signing and the SageMaker API",
	"vertex_ai_beta":            "Google Cloud credentials and the Vertex AI beta API",
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

// Native provider prefixes: modelroute speaks their own APIs (packages
// provider/anthropic, provider/bedrock and provider/google), so they need
// no OpenAI-compatible endpoint. The ProviderFunc given to RouterConfig
// builds them; see Providers.
const (
	PrefixAnthropic = "anthropic"
	PrefixBedrock   = "bedrock"
	PrefixVertexAI  = "vertex_ai"
)

// nativeSpecs are the native providers, with the key variable and default
// base URL the loader fills in and checks. Read-only.
var nativeSpecs = map[string]provider.Spec{
	PrefixAnthropic: {Prefix: PrefixAnthropic, BaseURL: "https://api.anthropic.com", KeyEnv: "ANTHROPIC_API_KEY"},
	// Credentials come from the AWS chain and Application Default
	// Credentials, the endpoint from the region and project.
	PrefixBedrock:  {Prefix: PrefixBedrock},
	PrefixVertexAI: {Prefix: PrefixVertexAI},
}

// nativeRoutes are the route segments LiteLLM allows after a native prefix
// ("bedrock/converse/MODEL"); they are not part of the upstream model.
var nativeRoutes = map[string][]string{
	PrefixBedrock: {"converse/", "invoke/"},
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

// nativeNames lists the native providers, for messages.
func nativeNames() string { return "anthropic, bedrock and vertex_ai" }

// nativeUpstream returns the upstream model of a native deployment:
// without a LiteLLM route segment ("converse/anthropic.claude-…" →
// "anthropic.claude-…").
func nativeUpstream(prefix, model string) string {
	for _, r := range nativeRoutes[prefix] {
		if rest, ok := strings.CutPrefix(model, r); ok && rest != "" {
			return rest
		}
	}
	return model
}

// nativeParams are the litellm_params of native providers, with the provider
// each belongs to. Read-only.
var nativeParams = map[string]string{
	"aws_region_name":       PrefixBedrock,
	"aws_access_key_id":     PrefixBedrock,
	"aws_secret_access_key": PrefixBedrock,
	"aws_session_token":     PrefixBedrock,
	"vertex_project":        PrefixVertexAI,
	"vertex_location":       PrefixVertexAI,
	"vertex_credentials":    PrefixVertexAI,
}

// nativeParam reads one of nativeParams into d, resolving os.environ/NAME.
// vertex_credentials may be a string (a service account key's JSON, or the
// path of its file) or a map (the key itself), kept as JSON. A parameter
// of another provider is kept all the same, with a warning.
func (l *loader) nativeParam(s scope, key string, p pair, d *Deployment) {
	var (
		val string
		ok  bool
	)
	if v := deref(p.v); p.key == "vertex_credentials" && v != nil && v.Kind == yaml.MappingNode {
		var m any
		if m, ok = l.anyValue(s, key, p.v); !ok {
			return
		}
		b, err := json.Marshal(m)
		if err != nil {
			l.fail(s.at(p.v, key), ErrInvalid, "cannot be written as JSON: %v", err)
			return
		}
		val = string(b)
	} else if val, ok = l.str(s, key, p.v, true); !ok {
		return
	}
	switch p.key {
	case "aws_region_name":
		d.AWSRegion = val
	case "aws_access_key_id":
		d.AWSAccessKeyID = val
	case "aws_secret_access_key":
		d.AWSSecretAccessKey = val
	case "aws_session_token":
		d.AWSSessionToken = val
	case "vertex_project":
		d.VertexProject = val
	case "vertex_location":
		d.VertexLocation = val
	case "vertex_credentials":
		d.VertexCredentials = val
	}
	if owner := nativeParams[p.key]; owner != d.Provider {
		l.warn(s.at(p.k, key), "used only by %s deployments, not by %s ones", owner, d.Provider)
	}
}

// nativeDefaults fills what a native deployment leaves out from LiteLLM's
// variables: AWS_REGION_NAME for bedrock's region (the AWS chain reads
// AWS_REGION itself), VERTEXAI_PROJECT and VERTEXAI_LOCATION for
// vertex_ai's. Credentials are left to the AWS chain and Application
// Default Credentials.
func (l *loader) nativeDefaults(d *Deployment) {
	fill := func(dst *string, env string) {
		if *dst == "" {
			if v, ok := l.lookupEnv(env); ok {
				*dst = v
			}
		}
	}
	switch d.Provider {
	case PrefixBedrock:
		fill(&d.AWSRegion, "AWS_REGION_NAME")
	case PrefixVertexAI:
		fill(&d.VertexProject, "VERTEXAI_PROJECT")
		fill(&d.VertexLocation, "VERTEXAI_LOCATION")
	}
}
