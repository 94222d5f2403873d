package alias

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sync"
)

// fileVersion is the version of the FileStore's JSON layout.
const fileVersion = 1

// fileData is the FileStore's JSON layout.
type fileData struct {
	Version int     `json:"version"`
	Aliases []Alias `json:"aliases"`
}

// FileStore keeps the aliases in one JSON file:
//
//	{"version": 1, "aliases": [{"name": "smart", "target": "gpt-4o", …}, …]}
//
// Save writes a temporary file in the same directory, syncs it to disk,
// renames it over the old file and syncs the directory, so that a crash at
// any moment leaves either the old or the new file. Load treats a missing
// file as an empty registry and anything it cannot read or parse as an error
// naming the path, never as an empty registry. A crash can leave stray
// ".NAME.tmp-*" files beside the file; they are never read.
//
// If syncing the directory fails after the rename, Save returns the error
// (the Registry then refuses the write) although the file already holds the
// new state; the next successful write makes them agree again.
//
// A FileStore is safe for concurrent use, but one file must have one writer:
// two Registries (or processes) saving to the same file overwrite each other.
type FileStore struct {
	path string
	mu   sync.Mutex // serializes Save and Load
}

// NewFileStore returns a FileStore for the file at path. It does not touch
// the file; the Registry's New loads it.
func NewFileStore(path string) *FileStore { return &FileStore{path: path} }

// Path returns the file's path.
func (f *FileStore) Path() string { return f.path }

// Load reads the file. A missing file holds no aliases.
func (f *FileStore) Load(ctx context.Context) ([]Alias, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	data, err := os.ReadFile(f.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err // an *fs.PathError naming the path
	}
	var d fileData
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&d); err != nil {
		return nil, &fs.PathError{Op: "decode", Path: f.path, Err: err}
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, &fs.PathError{Op: "decode", Path: f.path, Err: errors.New("data after the JSON object")}
	}
	if d.Version != fileVersion {
		return nil, &fs.PathError{Op: "decode", Path: f.path,
			Err: fmt.Errorf("unsupported version %d, want %d", d.Version, fileVersion)}
	}
	return d.Aliases, nil
}

// Save replaces the file's content with all, atomically.
func (f *FileStore) Save(ctx context.Context, all []Alias) (err error) {
	if err := ctx.Err(); err != nil {
		return err
	}
	if all == nil {
		all = []Alias{}
	}
	data, err := json.MarshalIndent(fileData{Version: fileVersion, Aliases: all}, "", "  ")
	if err != nil {
		return &fs.PathError{Op: "encode", Path: f.path, Err: err}
	}
	data = append(data, '\n')

	f.mu.Lock()
	defer f.mu.Unlock()
	dir, base := filepath.Split(f.path)
	if dir == "" {
		dir = "."
	}
	perm := fs.FileMode(0o644)
	if fi, err := os.Stat(f.path); err == nil {
		perm = fi.Mode().Perm()
	}
	tmp, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err = tmp.Write(data); err != nil {
		return err
	}
	if err = tmp.Chmod(perm); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp.Name(), f.path); err != nil {
		return err
	}
	return syncDir(dir)
}

// syncDir makes a rename in dir durable. Windows cannot sync a directory;
// there the rename is as durable as it gets.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
