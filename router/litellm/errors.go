package litellm

import (
	"errors"
	"strconv"
	"strings"
)

// Sentinels for what a caller may branch on. Every problem Load and Parse
// report is an *Error wrapping exactly one of them; the error they return
// joins all problems found (errors.Join), so errors.Is matches if any problem
// is of that kind.
var (
	// ErrSyntax: the file is not valid YAML or JSON, holds a duplicate key or
	// more than one YAML document.
	ErrSyntax = errors.New("syntax error")
	// ErrInvalid: a value has the wrong shape or is out of range, a required
	// key is missing, or names do not fit together (alias cycle, alias that
	// shadows a group, fallback to a name nothing serves, duplicate id).
	ErrInvalid = errors.New("invalid value")
	// ErrUnknownProvider: a provider prefix LiteLLM does not define, or a bare
	// model name whose provider cannot be inferred.
	ErrUnknownProvider = errors.New("unknown provider")
	// ErrUnsupported: a deployment modelroute cannot call, because its provider
	// has no OpenAI-compatible endpoint (bedrock, vertex_ai, sagemaker, …).
	// WithSkipUnsupported turns these into warnings.
	ErrUnsupported = errors.New("unsupported")
	// ErrEnv: an os.environ/NAME reference names a variable that is not set.
	ErrEnv = errors.New("environment variable not set")
	// ErrInclude: an include: file is missing, unreadable, or itself includes.
	ErrInclude = errors.New("include failed")
)

// Location says where in a config a problem or warning is.
type Location struct {
	File  string // the config file or include, as named to Load/Parse or in include:
	Line  int    // 1-based line in File; 0 when unknown
	Entry string // the model_list entry: `model_list[3] "gpt-4"`; "" outside model_list
	Key   string // key path, inside Entry when set: "litellm_params.api_key", "router_settings.fallbacks"
}

// String formats l as "file:line: entry: key", leaving out empty parts.
func (l Location) String() string {
	var b strings.Builder
	b.WriteString(l.File)
	if l.Line > 0 {
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(l.Line))
	}
	for _, s := range [...]string{l.Entry, l.Key} {
		if s == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteString(": ")
		}
		b.WriteString(s)
	}
	return b.String()
}

// Error is one problem found in a config. Its message names the file, the
// entry or settings key, and what is wrong; it never contains a secret (API
// keys, the master key, or any value read from the environment).
type Error struct {
	Location
	Err error // wraps one of the sentinels above
}

func (e *Error) Error() string {
	loc := e.Location.String()
	if loc == "" {
		return "litellm: " + e.Err.Error()
	}
	return "litellm: " + loc + ": " + e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// Warning is something the loader did not use or changed, reported so that
// nothing is dropped silently: an unknown key, a deployment skipped under
// WithSkipUnsupported, a setting given twice. Like Error, it never contains a
// secret.
type Warning struct {
	Location
	Msg string
}

// String formats w as "file:line: entry: key: message".
func (w Warning) String() string {
	loc := w.Location.String()
	if loc == "" {
		return w.Msg
	}
	return loc + ": " + w.Msg
}

// problem is an error message wrapping a sentinel: errors.Is(problem, kind).
type problem struct {
	kind error
	msg  string
}

func (p *problem) Error() string { return p.msg }
func (p *problem) Unwrap() error { return p.kind }
