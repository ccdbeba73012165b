package campaign

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// files keeps one JSON file per campaign in dir, written whole (temp file, fsync, rename),
// so that a kill -9 leaves either the old or the new state, never a torn one.
type files struct{ dir string }

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
	return nil
}

func (f files) load(id string) (*Campaign, error) {
	if !validID.MatchString(id) {
		return nil, ErrNotFound
	}
	raw, err := os.ReadFile(f.path(id))
	if errors.Is(err, os.ErrNotExist) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("campaign: read %s: %w", id, err)
	}
	var c Campaign
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, fmt.Errorf("campaign: %s is damaged: %w", f.path(id), err)
	}
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
