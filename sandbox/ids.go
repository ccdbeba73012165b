package sandbox

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"sync"
)

// idGen makes deterministic identifiers: the n-th id with a given prefix depends only on the
// seed, the prefix and n, so ids of one kind do not shift when other kinds are created in a
// different order.
type idGen struct {
	mu     sync.Mutex
	seed   int64
	counts map[string]uint64
}

func newIDGen(seed int64) *idGen {
	return &idGen{seed: seed, counts: make(map[string]uint64)}
}

// next returns prefix followed by hexLen lowercase hex characters.
func (g *idGen) next(prefix string, hexLen int) string {
	g.mu.Lock()
	g.counts[prefix]++
	n := g.counts[prefix]
	g.mu.Unlock()

	var buf [16]byte
	binary.BigEndian.PutUint64(buf[:8], uint64(g.seed))
	binary.BigEndian.PutUint64(buf[8:], n)
	h := sha256.New()
	h.Write(buf[:])
	h.Write([]byte(prefix))
	sum := hex.EncodeToString(h.Sum(nil))
	if hexLen > len(sum) {
		hexLen = len(sum)
	}
	return prefix + sum[:hexLen]
}

// id returns a resource id such as "agt_3f9c0a1b2c3d4e5f6a7b".
func (g *idGen) id(prefix string) string { return g.next(prefix, 20) }

// secret returns a webhook signing secret ("whsec_" + 40 hex characters). Sandbox secrets are
// deterministic for repeatable tests; they protect nothing.
func (g *idGen) secret() string { return g.next("whsec_", 40) }
