package store

import (
	"context"

	bolt "go.etcd.io/bbolt"
)

// Tx is one transaction on the state file, handed to the function given to
// View or Update. It is valid only inside that function. A Tx from View is
// read-only: its write methods fail.
//
// Use one View for all the reads of one decision and one Update for all the
// writes of one outcome: each transaction opens the state file once.
type Tx struct {
	s  *Store
	tx *bolt.Tx
}

// View runs fn in one read-only transaction (a consistent snapshot). Other
// processes may read at the same time; writers wait until fn returns, so do
// no network calls inside fn.
func (s *Store) View(ctx context.Context, fn func(tx *Tx) error) error {
	return s.view(ctx, "read", func(btx *bolt.Tx) error { return fn(&Tx{s: s, tx: btx}) })
}

// Update runs fn in one read-write transaction: all of fn's writes commit
// together, or none if fn returns an error. Every other reader and writer,
// in any process, waits until fn returns, so keep fn short and do no network
// calls inside it.
func (s *Store) Update(ctx context.Context, fn func(tx *Tx) error) error {
	return s.update(ctx, "update", func(btx *bolt.Tx) error { return fn(&Tx{s: s, tx: btx}) })
}
