package campaign

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
)

// files keeps one JSON file per campaign in dir, written whole (temp file, fsync, rename),
// so that a kill -9 leaves either the old or the new state, never a torn one. Decoded
// campaigns are cached by the file's identity (inode, size, modification time): every
// save is a new inode, so a write by another process is always read afresh.
type files struct {
	dir   string
	cache *fileCache
}

// fileCache holds the last decoded state of each campaign file.
type fileCache struct {
	mu sync.Mutex
	m  map[string]cached
}

type cached struct {
	ident fileIdent
	c     *Campaign
}

// fileIdent identifies one version of a file.
type fileIdent struct {
	ino   uint64
	size  int64
	mtime int64
}

func identOf(fi os.FileInfo) fileIdent {
	return fileIdent{ino: inode(fi), size: fi.Size(), mtime: fi.ModTime().UnixNano()}
}

func (f files) remember(id string, fi os.FileInfo, c *Campaign) {
	if f.cache == nil {
		return
	}
	f.cache.mu.Lock()
	defer f.cache.mu.Unlock()
	if f.cache.m == nil {
		f.cache.m = map[string]cached{}
	}
	f.cache.m[id] = cached{ident: identOf(fi), c: c.clone()}
}

func (f files) recall(id string, fi os.FileInfo) *Campaign {
	if f.cache == nil {
		return nil
	}
	f.cache.mu.Lock()
	defer f.cache.mu.Unlock()
	if e, ok := f.cache.m[id]; ok && e.ident == identOf(fi) {
		return e.c.clone()
	}
	return nil
}

// validID is the shape of a campaign id (it names a file).
var validID = regexp.MustCompile(`^cmp_[0-9a-f]{16}$`)

// ErrNotFound: no campaign has that id.
var ErrNotFound = errors.New("no such campaign")

func (f files) path(id string) string { return filepath.Join(f.dir, id+".json") }

func (f files) save(c *Campaign) error {
	if err := os.MkdirAll(f.dir, 0o700); err != nil {
		return fmt.Errorf("campaign: create %s: %w", f.dir, err)
	}
	raw, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("campaign: encode %s: %w", c.ID, err)
	}
	tmp, err := os.CreateTemp(f.dir, c.ID+".*.tmp")
	if err != nil {
		return fmt.Errorf("campaign: save %s: %w", c.ID, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(raw); err != nil {
		tmp.Close()
		return fmt.Errorf("campaign: save %s: %w", c.ID, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("campaign: save %s: %w", c.ID, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("campaign: save %s: %w", c.ID, err)
	}
	if err := os.Rename(tmp.Name(), f.path(c.ID)); err != nil {
		return fmt.Errorf("campaign: save %s: %w", c.ID, err)
	}
	if fi, err := os.Stat(f.path(c.ID)); err == nil {
		f.remember(c.ID, fi, c)
	}
	return nil
}

func (f files) load(id string) (*Campaign, error) {
	if !validID.MatchString(id) {
		return nil, ErrNotFound
	}
	fh, err := os.Open(f.path(id))
	if errors.Is(err, os.ErrNotExist) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("campaign: read %s: %w", id, err)
	}
	defer fh.Close()
	fi, err := fh.Stat()
	if err != nil {
		return nil, fmt.Errorf("campaign: read %s: %w", id, err)
	}
	if c := f.recall(id, fi); c != nil {
		return c, nil
	}
	raw, err := io.ReadAll(fh)
	if err != nil {
		return nil, fmt.Errorf("campaign: read %s: %w", id, err)
	}
	var c Campaign
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, fmt.Errorf("campaign: %s is damaged: %w", f.path(id), err)
	}
	f.remember(id, fi, &c)
	return &c, nil
}

// ids lists the stored campaign ids, sorted.
func (f files) ids() ([]string, error) {
	ents, err := os.ReadDir(f.dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("campaign: list %s: %w", f.dir, err)
	}
	var out []string
	for _, e := range ents {
		id, ok := strings.CutSuffix(e.Name(), ".json")
		if ok && validID.MatchString(id) {
			out = append(out, id)
		}
	}
	sort.Strings(out)
	return out, nil
}
