package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), &out); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, want := range []string{
		"smart → gpt-4o: openai-gpt-4o ✗ unavailable, azure-gpt-4o ✓ (failover; upstream model gpt-4o-eu)",
		"re-pointed smart → llama-3.1-8b",
		"smart → llama-3.1-8b: ",
		"gpt-4o: openai-gpt-4o ✓ (upstream model gpt-4o)",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	// Seeded: the same routes every run.
	var again bytes.Buffer
	if err := run(context.Background(), &again); err != nil {
		t.Fatal(err)
	}
	if again.String() != got {
		t.Errorf("output differs between runs:\n%s\n---\n%s", got, again.String())
	}
}

// TestMainOutput runs main itself, as `go run ./examples/quickstart` does.
func TestMainOutput(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout := os.Stdout
	os.Stdout = w
	main()
	os.Stdout = stdout
	w.Close()
	var out bytes.Buffer
	out.ReadFrom(r)
	if !strings.Contains(out.String(), "failover") {
		t.Errorf("main's output does not mention the failover:\n%s", out.String())
	}
}
