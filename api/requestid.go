package api

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"sync/atomic"
)

// requestIDs makes the X-Request-ID of a request that did not bring one: 32 hex digits, a
// random half drawn once per process and a counter after it. The random half tells
// instances apart and the counter tells requests apart, so no two ids repeat, without
// drawing randomness for every request (Echo's default reads 40 bytes of crypto/rand per
// request). An id names a request in the logs; it authorises nothing, so it may be
// guessable.
func requestIDs() func() string {
	var seed [8]byte
	_, _ = rand.Read(seed[:]) // crypto/rand.Read does not fail (it panics)
	var prefix [16]byte
	hex.Encode(prefix[:], seed[:])
	var n atomic.Uint64
	return func() string {
		var b [32]byte
		copy(b[:16], prefix[:])
		var c [8]byte
		binary.BigEndian.PutUint64(c[:], n.Add(1))
		hex.Encode(b[16:], c[:])
		return string(b[:])
	}
}
