// Package history owns the template trees saasgen has released: a small
// content-addressed store embedded in the binary, so that `saasgen upgrade`
// can render a project's base (its recorded answers with the templates it
// was last generated with) without the project storing anything but the
// revision id.
//
// The store, under store/, holds
//
//	index.json           the revisions, oldest first
//	trees/<id>.json      one revision: template path → blob hash
//	blobs/<sha256>       each file's content, gzip-compressed, named by the
//	                     SHA-256 of the uncompressed content
//
// A revision id is derived from the tree it names (see TreeID), so a
// released revision can never change: a different tree is a different id.
// Landing a template change adds a revision (see Land); a test pins that the
// current templates are a revision of the store.
package history

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing/fstest"
)

// StoreDir is the directory of the store, beside this file.
const StoreDir = "store"

//go:embed all:store
var embedded embed.FS

// Revision is one released template tree.
type Revision struct {
	ID string `json:"id"`
	// GoVersion is the go directive the tree's projects were rendered with.
	GoVersion string `json:"go_version"`
	// Commit is the saasgen commit the tree was imported from, when it was
	// imported rather than landed (the legacy revision).
	Commit string `json:"commit,omitempty"`
	// Legacy marks the revision of projects whose saasgen.yaml records no
	// revision: those generated before revisions were recorded.
	Legacy bool `json:"legacy,omitempty"`
}

type index struct {
	Revisions []Revision `json:"revisions"`
}

// Store is a read-only view of a template history.
type Store struct {
	fsys      fs.FS
	revisions []Revision

	mu    sync.Mutex
	trees map[string]fs.FS
}

var (
	embeddedOnce  sync.Once
	embeddedStore *Store
	embeddedErr   error
)

// Embedded returns the store compiled into the binary.
func Embedded() (*Store, error) {
	embeddedOnce.Do(func() {
		sub, err := fs.Sub(embedded, StoreDir)
		if err != nil {
			embeddedErr = err
			return
		}
		embeddedStore, embeddedErr = Open(sub)
	})
	return embeddedStore, embeddedErr
}

// Open reads the store at the root of fsys.
func Open(fsys fs.FS) (*Store, error) {
	data, err := fs.ReadFile(fsys, "index.json")
	if err != nil {
		return nil, fmt.Errorf("template history: %w", err)
	}
	var idx index
	if err := json.Unmarshal(data, &idx); err != nil {
		return nil, fmt.Errorf("template history: index.json: %w", err)
	}
	return &Store{fsys: fsys, revisions: idx.Revisions, trees: map[string]fs.FS{}}, nil
}

// Revisions returns every revision, oldest first.
func (s *Store) Revisions() []Revision { return slices.Clone(s.revisions) }

// Lookup returns the revision with id.
func (s *Store) Lookup(id string) (Revision, bool) {
	for _, r := range s.revisions {
		if r.ID == id {
			return r, true
		}
	}
	return Revision{}, false
}

// Legacy returns the revision of projects that record none.
func (s *Store) Legacy() (Revision, bool) {
	for _, r := range s.revisions {
		if r.Legacy {
			return r, true
		}
	}
	return Revision{}, false
}

// Index returns the position of id in the history (0 is the oldest), or -1.
func (s *Store) Index(id string) int {
	return slices.IndexFunc(s.revisions, func(r Revision) bool { return r.ID == id })
}

// Manifest returns the tree of revision id: template path → blob hash.
func (s *Store) Manifest(id string) (map[string]string, error) {
	data, err := fs.ReadFile(s.fsys, path.Join("trees", id+".json"))
	if err != nil {
		return nil, fmt.Errorf("template revision %s: %w", id, err)
	}
	var m map[string]string
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("template revision %s: %w", id, err)
	}
	return m, nil
}

// Blob returns the content whose SHA-256 is hash, checked.
func (s *Store) Blob(hash string) ([]byte, error) {
	f, err := s.fsys.Open(path.Join("blobs", hash))
	if err != nil {
		return nil, fmt.Errorf("template history: blob %s: %w", hash, err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("template history: blob %s: %w", hash, err)
	}
	data, err := io.ReadAll(zr)
	if err != nil {
		return nil, fmt.Errorf("template history: blob %s: %w", hash, err)
	}
	if Hash(data) != hash {
		return nil, fmt.Errorf("template history: blob %s does not hash to its name", hash)
	}
	return data, nil
}

// Tree returns the template tree of revision id as a file system, checked
// against its id.
func (s *Store) Tree(id string) (fs.FS, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t, ok := s.trees[id]; ok {
		return t, nil
	}
	m, err := s.Manifest(id)
	if err != nil {
		return nil, err
	}
	if got := idOf(m); got != id {
		return nil, fmt.Errorf("template revision %s: its tree hashes to %s: the history was changed", id, got)
	}
	tree := fstest.MapFS{}
	for p, h := range m {
		data, err := s.Blob(h)
		if err != nil {
			return nil, err
		}
		tree[p] = &fstest.MapFile{Data: data, Mode: 0o644}
	}
	s.trees[id] = tree
	return tree, nil
}

// Hash is the SHA-256 of data in hex, the name of its blob.
func Hash(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// ReadTree reads every file under roots of fsys: path → content.
func ReadTree(fsys fs.FS, roots ...string) (map[string][]byte, error) {
	files := map[string][]byte{}
	for _, root := range roots {
		err := fs.WalkDir(fsys, root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			data, err := fs.ReadFile(fsys, p)
			files[p] = data
			return err
		})
		if err != nil {
			return nil, err
		}
	}
	return files, nil
}

// TreeID is the revision id of a tree: the first 12 hex digits of the
// SHA-256 of its sorted path and blob-hash lines.
func TreeID(files map[string][]byte) string {
	m := make(map[string]string, len(files))
	for p, data := range files {
		m[p] = Hash(data)
	}
	return idOf(m)
}

func idOf(m map[string]string) string {
	paths := slices.Sorted(func(yield func(string) bool) {
		for p := range m {
			if !yield(p) {
				return
			}
		}
	})
	var b strings.Builder
	for _, p := range paths {
		fmt.Fprintf(&b, "%s\x00%s\n", p, m[p])
	}
	return Hash([]byte(b.String()))[:12]
}

// Land adds the tree files as the newest revision of the store in the
// directory dir (the source tree's generator/history/store), unless it is
// there already. It writes the blobs it lacks, the tree and the index, and
// never changes what is there. It returns the revision's id and whether it
// was added.
func Land(dir string, files map[string][]byte, rev Revision) (string, bool, error) {
	id := TreeID(files)
	rev.ID = id
	st, err := Open(os.DirFS(dir))
	if errors.Is(err, fs.ErrNotExist) {
		st = &Store{}
	} else if err != nil {
		return "", false, err
	}
	if _, ok := st.Lookup(id); ok {
		return id, false, nil
	}
	if rev.Legacy {
		if _, ok := st.Legacy(); ok {
			return "", false, errors.New("the history has a legacy revision already")
		}
	}
	m := map[string]string{}
	for p, data := range files {
		h := Hash(data)
		m[p] = h
		blob := filepath.Join(dir, "blobs", h)
		if _, err := os.Stat(blob); err == nil {
			continue
		}
		var buf bytes.Buffer
		zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		if err != nil {
			return "", false, err
		}
		if _, err := zw.Write(data); err != nil {
			return "", false, err
		}
		if err := zw.Close(); err != nil {
			return "", false, err
		}
		if err := writeFile(blob, buf.Bytes()); err != nil {
			return "", false, err
		}
	}
	tree, err := json.MarshalIndent(m, "", "\t")
	if err != nil {
		return "", false, err
	}
	if err := writeFile(filepath.Join(dir, "trees", id+".json"), append(tree, '\n')); err != nil {
		return "", false, err
	}
	idx, err := json.MarshalIndent(index{Revisions: append(st.Revisions(), rev)}, "", "\t")
	if err != nil {
		return "", false, err
	}
	return id, true, writeFile(filepath.Join(dir, "index.json"), append(idx, '\n'))
}

func writeFile(name string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return err
	}
	return os.WriteFile(name, data, 0o644)
}
