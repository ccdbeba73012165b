package campaign

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkRecipientChange is the cost of recording one send (one recipient's state change,
// written and fsynced) in campaigns of 200, 2,000 and 20,000 recipients: it must not grow
// with the list (one journal line; the snapshot is rewritten once every quarter of the
// list, so its cost per send is amortised to a constant too).
//
//	go test ./campaign -run '^$' -bench RecipientChange -benchmem
func BenchmarkRecipientChange(b *testing.B) {
	for _, n := range []int{200, 2000, 20000} {
		b.Run(fmt.Sprintf("list=%d", n), func(b *testing.B) {
			dir := b.TempDir()
			f := files{dir: dir, cache: &fileCache{}}
			c := &Campaign{ID: NewID(), Status: Running, Recipients: make([]Recipient, n)}
			for i := range c.Recipients {
				c.Recipients[i] = Recipient{E164: fmt.Sprintf("+1650253%04d", i%10000), Body: "Your parcel arrives today.", State: Queued}
			}
			if err := f.mutate(c.ID, func(*Campaign) error { return nil }, c); err != nil {
				b.Fatal(err)
			}
			written := int64(0)
			i := 0
			for b.Loop() {
				before := size(filepath.Join(dir, c.ID+".journal"))
				if err := f.mutate(c.ID, func(c *Campaign) error {
					p := c.rec(i % n)
					p.State, p.LedgerID, p.APIID = Sent, "led_0123456789abcdef", "msg_0123456789abcdef"
					return nil
				}, nil); err != nil {
					b.Fatal(err)
				}
				if after := size(filepath.Join(dir, c.ID+".journal")); after > before {
					written += after - before
				}
				i++
			}
			b.ReportMetric(float64(written)/float64(b.N), "journal-B/send")
		})
	}
}

func size(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}
