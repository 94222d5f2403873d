package litellm

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	yaml "go.yaml.in/yaml/v3"

	"github.com/modelroute/modelroute/provider"
)

// Option configures Load and Parse.
type Option func(*options)

type options struct {
	env             func(string) (string, bool)
	skipUnsupported bool
	fsys            fs.FS
	table           *provider.Table
}

// WithEnv sets the lookup used for os.environ/NAME references and for the
// providers' default key variables. The default is os.LookupEnv. The config's
// environment_variables block is consulted first, whatever the lookup.
func WithEnv(lookup func(name string) (string, bool)) Option {
	return func(o *options) {
		if lookup != nil {
			o.env = lookup
		}
	}
}

// WithSkipUnsupported loads a config even when some deployments use a
// provider modelroute cannot call (bedrock, vertex_ai, …): each is left out
// and named in a Warning, and aliases and fallbacks that only reached them
// are removed, each with a Warning. Without it such deployments are errors.
func WithSkipUnsupported() Option {
	return func(o *options) { o.skipUnsupported = true }
}

// WithFS reads the config given to Load, and every include: file, from fsys
// instead of the operating system's file system. Paths are then slash-
// separated and relative to fsys's root (see fs.ValidPath).
func WithFS(fsys fs.FS) Option {
	return func(o *options) { o.fsys = fsys }
}

// WithTable sets the provider table that decides which prefixes are served
// and gives their key and base URL variables. The default is a fresh
// provider.DefaultTable(); pass one with your own prefixes added
// (provider.Table.Add) to load deployments that use them.
func WithTable(t *provider.Table) Option {
	return func(o *options) {
		if t != nil {
			o.table = t
		}
	}
}

func newOptions(opts []Option) options {
	o := options{env: os.LookupEnv}
	for _, opt := range opts {
		opt(&o)
	}
	if o.table == nil {
		o.table = provider.DefaultTable()
	}
	return o
}

func (o *options) readFile(name string) ([]byte, error) {
	if o.fsys != nil {
		return fs.ReadFile(o.fsys, name)
	}
	return os.ReadFile(name)
}

// joinPath resolves an include: name relative to the directory of the file
// that includes it.
func (o *options) joinPath(base, name string) string {
	if o.fsys != nil {
		return path.Join(path.Dir(base), name)
	}
	if filepath.IsAbs(name) {
		return name
	}
	return filepath.Join(filepath.Dir(base), name)
}

// Load reads and checks the LiteLLM proxy config at path (YAML, or JSON when
// the name ends in ".json"). include: files are read relative to path's
// directory.
//
// On any problem Load returns a nil Config and an error joining every
// problem found (errors.Join), each an *Error naming the file, the entry and
// what is wrong; a file that cannot be read is reported as it is
// (errors.Is(err, fs.ErrNotExist) works).
func Load(path string, opts ...Option) (*Config, error) {
	o := newOptions(opts)
	data, err := o.readFile(path)
	if err != nil {
		return nil, fmt.Errorf("litellm: read config: %w", err)
	}
	return parse(data, path, o)
}

// Parse checks a LiteLLM proxy config held in memory. name is used in error
// messages, picks the format (".json" is JSON, anything else YAML, of which
// JSON is a subset), and anchors include: paths. See Load.
func Parse(data []byte, name string, opts ...Option) (*Config, error) {
	return parse(data, name, newOptions(opts))
}

// loader holds the state of one Load or Parse.
type loader struct {
	o      options
	cfg    *Config
	errs   []*Error
	files  []string          // files read, in order: errors sort by file, then line
	env    map[string]string // environment_variables of the main file
	conv   converter
	deps   []*entry // deployments loaded, in order
	groups map[string]bool

	// skipped: model_name of every deployment left out (WithSkipUnsupported).
	skipped map[string]bool
	// failed: model_name of every entry refused with an error, so that names
	// pointing at it do not add errors of their own.
	failed map[string]bool
	// aliasNodes and fallback rules, checked once all groups are known.
	aliasRules    []aliasRule
	fallbackRules [3]*fallbackSet
}

// scope is the part of a config being read: a file and maybe an entry.
type scope struct {
	file  string
	entry string // `model_list[3] "gpt-4"`, or ""
}

func (s scope) at(n *yaml.Node, key string) Location {
	line := 0
	if n != nil {
		line = n.Line
	}
	return Location{File: s.file, Line: line, Entry: s.entry, Key: key}
}

func (l *loader) fail(loc Location, kind error, format string, args ...any) {
	l.errs = append(l.errs, &Error{loc, &problem{kind, fmt.Sprintf(format, args...)}})
}

func (l *loader) warn(loc Location, format string, args ...any) {
	l.cfg.Warnings = append(l.cfg.Warnings, Warning{loc, fmt.Sprintf(format, args...)})
}

// lookupEnv reads a variable: environment_variables first (LiteLLM copies
// them into the process environment at start, over what is there), then the
// lookup from WithEnv.
func (l *loader) lookupEnv(name string) (string, bool) {
	if v, ok := l.env[name]; ok {
		return v, true
	}
	return l.o.env(name)
}

func parse(data []byte, name string, o options) (*Config, error) {
	l := &loader{
		o:       o,
		cfg:     &Config{File: name},
		files:   []string{name},
		groups:  map[string]bool{},
		skipped: map[string]bool{},
		failed:  map[string]bool{},
	}
	root, perr := parseDocument(data, name)
	if perr != nil {
		return nil, perr
	}
	if root == nil {
		return nil, &Error{Location{File: name}, &problem{ErrInvalid, "the config is empty"}}
	}
	if dups := checkDuplicates(root, name); len(dups) > 0 {
		return nil, joinErrors(dups)
	}
	l.top(scope{file: name}, root)
	l.assignIDs()
	l.checkNames()
	if l.conv.exceeded && len(l.errs) == 0 {
		l.fail(Location{File: name}, ErrInvalid, "%v", errTooComplex)
	}
	if len(l.errs) > 0 {
		return nil, l.joined()
	}
	for _, e := range l.deps {
		l.cfg.Deployments = append(l.cfg.Deployments, e.d)
	}
	l.sortWarnings()
	return l.cfg, nil
}

func (l *loader) fileRank(name string) int {
	if i := slices.Index(l.files, name); i >= 0 {
		return i
	}
	return len(l.files)
}

func (l *loader) joined() error {
	slices.SortStableFunc(l.errs, func(a, b *Error) int {
		return cmp.Or(cmp.Compare(l.fileRank(a.File), l.fileRank(b.File)), cmp.Compare(a.Line, b.Line))
	})
	return joinErrors(l.errs)
}

func (l *loader) sortWarnings() {
	slices.SortStableFunc(l.cfg.Warnings, func(a, b Warning) int {
		return cmp.Or(cmp.Compare(l.fileRank(a.File), l.fileRank(b.File)), cmp.Compare(a.Line, b.Line))
	})
}

func joinErrors(errs []*Error) error {
	all := make([]error, len(errs))
	for i, e := range errs {
		all[i] = e
	}
	return errors.Join(all...)
}

// topKeys are the top-level keys the loader reads.
var topKeys = []string{"model_list", "include", "router_settings", "litellm_settings", "general_settings", "environment_variables"}

// top reads the main file's top level.
func (l *loader) top(s scope, root *yaml.Node) {
	root = deref(root)
	if root == nil || root.Kind != yaml.MappingNode {
		l.fail(s.at(root, ""), ErrInvalid, "the config must be a map of sections (model_list, router_settings, …), got %s", kindName(root))
		return
	}
	sections := map[string]pair{}
	for _, p := range l.conv.pairs(root) {
		if slices.Contains(topKeys, p.key) {
			sections[p.key] = p
			continue
		}
		l.warn(s.at(p.k, p.key), "not used by modelroute; ignored")
	}
	// Order matters: variables first, as every other section may read them;
	// model_list and includes before the settings that name groups.
	if p, ok := sections["environment_variables"]; ok {
		l.environment(s, p)
	}
	if p, ok := sections["model_list"]; ok {
		l.modelList(s, p.v)
	}
	if p, ok := sections["include"]; ok {
		l.includes(s, p)
	}
	var rs, ls pair
	if p, ok := sections["router_settings"]; ok {
		rs = p
	}
	if p, ok := sections["litellm_settings"]; ok {
		ls = p
	}
	l.settings(s, rs, ls)
	if p, ok := sections["general_settings"]; ok {
		l.general(s, p)
	}
}

// environment reads environment_variables into an extra lookup layer. The
// process environment is never modified.
func (l *loader) environment(s scope, p pair) {
	n := deref(p.v)
	if isNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		l.fail(s.at(p.k, "environment_variables"), ErrInvalid, "must be a map of NAME: value, got %s", kindName(n))
		return
	}
	l.env = map[string]string{}
	for _, v := range l.conv.pairs(n) {
		val := deref(v.v)
		key := "environment_variables." + v.key
		switch {
		case v.key == "" || strings.ContainsAny(v.key, "=\x00"):
			l.fail(s.at(v.k, key), ErrInvalid, "not a valid variable name")
		case val == nil || val.Kind != yaml.ScalarNode:
			l.fail(s.at(v.k, key), ErrInvalid, "must be a single value, got %s", kindName(val))
		case isNull(val):
			l.env[v.key] = ""
		default:
			l.env[v.key] = val.Value
		}
	}
}

// includes reads each include: file relative to the main file and appends
// its model_list. Included files may hold only model_list; include: inside
// an included file is refused.
func (l *loader) includes(s scope, p pair) {
	n := deref(p.v)
	if isNull(n) {
		return
	}
	if n.Kind != yaml.SequenceNode {
		l.fail(s.at(p.k, "include"), ErrInvalid, "must be a list of file names, got %s", kindName(n))
		return
	}
	seen := map[string]bool{}
	for i, e := range n.Content {
		key := fmt.Sprintf("include[%d]", i)
		en := deref(e)
		if en == nil || en.Kind != yaml.ScalarNode || isNull(en) || en.Value == "" {
			l.fail(s.at(e, key), ErrInvalid, "must be a file name, got %s", kindName(en))
			continue
		}
		name := l.o.joinPath(s.file, en.Value)
		key = fmt.Sprintf("include[%d] %q", i, en.Value)
		if seen[name] || name == s.file {
			l.fail(s.at(e, key), ErrInclude, "file is included more than once")
			continue
		}
		seen[name] = true
		data, err := l.o.readFile(name)
		if err != nil {
			what := "cannot be read"
			if errors.Is(err, fs.ErrNotExist) {
				what = "file not found"
			}
			l.fail(s.at(e, key), ErrInclude, "%s (looked for %s)", what, name)
			continue
		}
		l.files = append(l.files, name)
		root, perr := parseDocument(data, name)
		if perr != nil {
			l.errs = append(l.errs, perr)
			continue
		}
		if root == nil {
			l.warn(s.at(e, key), "included file is empty")
			continue
		}
		if dups := checkDuplicates(root, name); len(dups) > 0 {
			l.errs = append(l.errs, dups...)
			continue
		}
		is := scope{file: name}
		root = deref(root)
		if root == nil || root.Kind != yaml.MappingNode {
			l.fail(is.at(root, ""), ErrInvalid, "an included file must be a map holding model_list, got %s", kindName(root))
			continue
		}
		for _, ip := range l.conv.pairs(root) {
			switch ip.key {
			case "model_list":
				l.modelList(is, ip.v)
			case "include":
				l.fail(is.at(ip.k, "include"), ErrInclude, "an included file may not include others")
			default:
				l.warn(is.at(ip.k, ip.key), "only model_list is read from an included file; ignored")
			}
		}
	}
}
