package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/agentphone-mcp/agentphone-mcp/store/filelock"
)

// claimOwner creates this process's owner lock file in <dir>/owners and holds an exclusive
// lock on it for the Bolt's lifetime. The file is locked before it gets its final name, so
// a file under that name is locked from its first moment until its owner is gone: another
// process that can lock it knows the owner is dead.
func claimOwner(dir string) (string, *os.File, error) {
	od := filepath.Join(dir, OwnersDir)
	if err := os.MkdirAll(od, 0o700); err != nil {
		return "", nil, fmt.Errorf("store: create %s: %w", od, err)
	}
	owner := fmt.Sprintf("p%d-%s", os.Getpid(), randomHex(6))
	tmp := filepath.Join(od, "."+owner+".tmp")
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", nil, fmt.Errorf("store: create owner lock: %w", err)
	}
	if err := filelock.Lock(context.Background(), f, true, 0); err != nil {
		_ = f.Close()
		_ = os.Remove(tmp)
		return "", nil, fmt.Errorf("store: lock owner file: %w", err)
	}
	if err := os.Rename(tmp, ownerPath(dir, owner)); err != nil {
		_ = f.Close()
		_ = os.Remove(tmp)
		return "", nil, fmt.Errorf("store: name owner file: %w", err)
	}
	return owner, f, nil
}

func ownerPath(dir, owner string) string {
	return filepath.Join(dir, OwnersDir, owner+".lock")
}

// ownerAlive reports whether owner's lock is held. A missing file means the owner is gone.
// When the lock can be taken the owner is dead: the file is removed (still locked, so no
// one else can take it for alive) and false is returned.
func ownerAlive(dir, owner string) (bool, error) {
	if owner == "" || strings.ContainsAny(owner, `/\`) || strings.HasPrefix(owner, ".") {
		return false, nil
	}
	p := ownerPath(dir, owner)
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("store: open owner lock %s: %w", p, err)
	}
	defer f.Close()
	err = filelock.Lock(context.Background(), f, true, 0)
	if errors.Is(err, filelock.ErrTimeout) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("store: check owner lock %s: %w", p, err)
	}
	_ = os.Remove(p)
	return false, nil
}

// LiveOwners lists the owners (open Bolt stores, in this process or others) that hold the
// state directory dir now, and removes the lock files of dead ones. Commands that must run
// alone (state rebuild) refuse while it is not empty.
func LiveOwners(dir string) ([]string, error) {
	ents, err := os.ReadDir(filepath.Join(dir, OwnersDir))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("store: list owners: %w", err)
	}
	var live []string
	for _, e := range ents {
		name, ok := strings.CutSuffix(e.Name(), ".lock")
		if !ok || strings.HasPrefix(name, ".") {
			continue
		}
		alive, err := ownerAlive(dir, name)
		if err != nil {
			return nil, err
		}
		if alive {
			live = append(live, name)
		}
	}
	return live, nil
}
