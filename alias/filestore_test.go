package alias

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestFileStoreRoundTrip(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "aliases.json")
	r := base(t, WithStore(NewFileStore(path)))
	mustCreate(t, r, Alias{Name: "modèle/ü", Target: "fast", Description: "<b>&\"quoted\"\n", Labels: map[string]string{"": "", "é": "\t"}})
	if _, err := r.Update(ctx, "smart", Update{Labels: map[string]string{}}); err != nil {
		t.Fatal(err)
	}
	want := r.List(ListOptions{IncludeHidden: true, IncludeDisabled: true})

	r2, err := New(ctx, WithStore(NewFileStore(path)))
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	if diff := cmp.Diff(want, r2.List(ListOptions{IncludeHidden: true, IncludeDisabled: true})); diff != "" {
		t.Errorf("reloaded (-want +got):\n%s", diff)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(data), "{\n  \"version\": 1,\n  \"aliases\": [\n") {
		t.Errorf("file starts with %.60q, want a version field then the aliases", data)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("directory holds %d files after writes, want only the store file", len(entries))
	}
}

func TestFileStoreMissingFile(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "aliases.json")
	r, err := New(ctx, WithStore(NewFileStore(path)))
	if err != nil {
		t.Fatalf("New with a missing file: %v", err)
	}
	defer r.Close()
	if got := r.List(ListOptions{IncludeHidden: true, IncludeDisabled: true}); len(got) != 0 {
		t.Errorf("registry from a missing file holds %v", got)
	}
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("New created the file: %v", err)
	}
	mustCreate(t, r, Alias{Name: "a", Target: "g"})
	if _, err := os.Stat(path); err != nil {
		t.Errorf("file after the first write: %v", err)
	}
	// An empty registry saves an empty list, which loads back empty.
	if _, err := r.Delete(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	got, err := NewFileStore(path).Load(ctx)
	if err != nil || len(got) != 0 {
		t.Errorf("Load of an emptied file = %v, %v", got, err)
	}
}

func TestFileStoreBadFile(t *testing.T) {
	tests := []struct {
		name    string
		content string
		want    string // in the error, after the path
		wantErr error
	}{
		{name: "empty file", content: "", want: "EOF"},
		{name: "not JSON", content: "smart: gpt-4o\n", want: "invalid character"},
		{name: "truncated", content: `{"version": 1, "aliases": [{"name": "a", "tar`, want: "unexpected EOF"},
		{name: "no version", content: `{"aliases": []}`, want: "unsupported version 0, want 1"},
		{name: "future version", content: `{"version": 2, "aliases": []}`, want: "unsupported version 2, want 1"},
		{name: "trailing data", content: `{"version": 1, "aliases": []} {}`, want: "data after the JSON object"},
		{name: "wrong type", content: `{"version": 1, "aliases": {}}`, want: "cannot unmarshal"},
		{name: "JSON null", content: `null`, want: "unsupported version 0"},
		{
			name:    "invalid alias",
			content: `{"version": 1, "aliases": [{"name": "a", "target": "b"}, {"name": "b", "target": "a"}]}`,
			want:    "is on a cycle: a → b → a (in ", wantErr: ErrCycle,
		},
		{
			name:    "duplicate alias",
			content: `{"version": 1, "aliases": [{"name": "a", "target": "b"}, {"name": "a", "target": "c"}]}`,
			want:    "appears twice (in ", wantErr: ErrExists,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "aliases.json")
			if err := os.WriteFile(path, []byte(tt.content), 0o644); err != nil {
				t.Fatal(err)
			}
			r, err := New(context.Background(), WithStore(NewFileStore(path)))
			if err == nil {
				r.Close()
				t.Fatal("New accepted a bad file")
			}
			if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New error %q does not name the path and %q", err, tt.want)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("New error %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestFileStoreUnreadable(t *testing.T) {
	dir := t.TempDir()
	// A directory where the file should be cannot be read.
	path := filepath.Join(dir, "aliases.json")
	if err := os.Mkdir(path, 0o755); err != nil {
		t.Fatal(err)
	}
	_, err := New(context.Background(), WithStore(NewFileStore(path)))
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("New on an unreadable file: %v, want an error naming %s", err, path)
	}
}

func TestFileStoreSaveFails(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "sub")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "aliases.json")
	r := base(t, WithStore(NewFileStore(path)))
	before := r.List(ListOptions{IncludeHidden: true, IncludeDisabled: true})
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	_, err := r.Create(ctx, Alias{Name: "n", Target: "g"})
	if !errors.Is(err, fs.ErrNotExist) || !strings.HasPrefix(err.Error(), `alias: create "n": save: `) {
		t.Errorf("Create with the directory gone: %v", err)
	}
	if diff := cmp.Diff(before, r.List(ListOptions{IncludeHidden: true, IncludeDisabled: true})); diff != "" {
		t.Errorf("registry changed by a failed save (-before +after):\n%s", diff)
	}
	if _, err := r.Resolve("n"); err != nil {
		t.Errorf("Resolve(n): %v", err) // not an alias: resolves to itself
	}
}

func TestFileStoreKeepsMode(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "aliases.json")
	s := NewFileStore(path)
	if err := s.Save(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o644 {
		t.Errorf("new file mode %v, want 0644", fi.Mode().Perm())
	}
	if err := os.Chmod(path, 0o640); err != nil {
		t.Fatal(err)
	}
	if err := s.Save(ctx, []Alias{{Name: "a", Target: "g"}}); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o640 {
		t.Errorf("mode after save %v, want 0640 kept", fi.Mode().Perm())
	}
}

func TestFileStoreCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s := NewFileStore(filepath.Join(t.TempDir(), "aliases.json"))
	if err := s.Save(ctx, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("Save with a canceled context: %v", err)
	}
	if _, err := s.Load(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Load with a canceled context: %v", err)
	}
}

// crashChildEnv, when set to a path, turns TestFileStoreCrash into the child
// process that writes to that path until it is killed.
const crashChildEnv = "ALIAS_FILESTORE_CRASH_CHILD"

// crashState is the registry the crash child saves in generation gen.
func crashState(gen uint64) []Alias {
	created := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	all := make([]Alias, 300)
	for i := range all {
		all[i] = Alias{
			Name:        fmt.Sprintf("alias-%03d", i),
			Target:      fmt.Sprintf("group-%d", i%7),
			Description: fmt.Sprintf("generation %d of alias %d, padded to make each write take a while", gen, i),
			Labels:      map[string]string{"gen": strconv.FormatUint(gen, 10)},
			Created:     created,
			Updated:     created.Add(time.Duration(gen) * time.Second),
			Revision:    gen,
		}
		if i%3 != 0 { // chains of three
			all[i].Target = fmt.Sprintf("alias-%03d", i-1)
		}
	}
	return all
}

// crashChild saves generation after generation to path, printing each one
// once it is saved, until it is killed.
func crashChild(path string) {
	ctx := context.Background()
	store := NewFileStore(path)
	loaded, err := store.Load(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "crash child: load:", err)
		os.Exit(2)
	}
	var gen uint64
	if len(loaded) > 0 {
		gen = loaded[0].Revision
	}
	for range 100000 { // bounded, in case the parent is gone
		gen++
		if err := store.Save(ctx, crashState(gen)); err != nil {
			fmt.Fprintln(os.Stderr, "crash child: save:", err)
			os.Exit(2)
		}
		fmt.Printf("saved %d\n", gen)
	}
	os.Exit(0)
}

// TestFileStoreCrash kills a process that is writing to a FileStore at
// random moments and checks that the file always loads as one of the states
// it saved: the last one reported, or one saved after it.
func TestFileStoreCrash(t *testing.T) {
	if path := os.Getenv(crashChildEnv); path != "" {
		crashChild(path)
		return
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal("cannot find the test binary to run as the crashing child:", err)
	}
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "aliases.json")
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, seed))
	var lastSeen uint64
	start := time.Now()
	rounds := 0
	for ; rounds < 12 && time.Since(start) < 3*time.Second; rounds++ {
		round := rounds
		cmd := exec.Command(exe, "-test.run=^TestFileStoreCrash$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashChildEnv+"="+path)
		cmd.Stderr = os.Stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Once the child has saved at least once, kill it at a random moment
		// while it goes on writing. The wait is real time: the point is to
		// land anywhere in the middle of a save.
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if g, ok := strings.CutPrefix(sc.Text(), "saved "); ok {
				lastSeen, _ = strconv.ParseUint(g, 10, 64)
				break
			}
		}
		killed := time.AfterFunc(time.Duration(rng.IntN(40_000))*time.Microsecond, func() { cmd.Process.Kill() })
		for sc.Scan() {
			if g, ok := strings.CutPrefix(sc.Text(), "saved "); ok {
				lastSeen, _ = strconv.ParseUint(g, 10, 64)
			}
		}
		killed.Stop()
		cmd.Wait()

		loaded, err := NewFileStore(path).Load(ctx)
		if err != nil {
			t.Fatalf("round %d: file left by a killed writer does not load: %v", round, err)
		}
		if len(loaded) == 0 {
			t.Fatalf("round %d: file left by a killed writer is empty", round)
		}
		gen := loaded[0].Revision
		if gen < lastSeen {
			t.Fatalf("round %d: file holds generation %d, older than the last saved one (%d)", round, gen, lastSeen)
		}
		if diff := cmp.Diff(crashState(gen), loaded); diff != "" {
			t.Fatalf("round %d: file holds a state that was never saved (-generation %d +file):\n%s", round, gen, diff)
		}
		r, err := New(ctx, WithStore(NewFileStore(path)))
		if err != nil {
			t.Fatalf("round %d: New on the file left by a killed writer: %v", round, err)
		}
		r.Close()
		lastSeen = gen
	}
	entries, _ := os.ReadDir(dir)
	t.Logf("%d rounds; %d temporary files left by writes killed midway", rounds, len(entries)-1)
}
