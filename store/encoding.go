package store

import (
	"encoding/binary"
	"math"
	"time"
)

// timeKey encodes t as 8 big-endian bytes of Unix nanoseconds, so keys sort by
// time. Times before 1970 (including the zero time) encode as 0 and times after
// 2262 as the maximum, instead of overflowing.
func timeKey(t time.Time) []byte {
	b := make([]byte, 8)
	var n uint64
	switch {
	case t.Before(time.Unix(0, 0)):
		n = 0
	case t.After(time.Unix(0, math.MaxInt64)):
		n = math.MaxInt64
	default:
		n = uint64(t.UnixNano())
	}
	binary.BigEndian.PutUint64(b, n)
	return b
}

// decodeTime is the inverse of timeKey; it reads the first 8 bytes.
func decodeTime(b []byte) (time.Time, bool) {
	if len(b) < 8 {
		return time.Time{}, false
	}
	return time.Unix(0, int64(binary.BigEndian.Uint64(b[:8]))), true
}

// u64 encodes n as 8 big-endian bytes.
func u64(n uint64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, n)
	return b
}
