package postgres

import "hash/maphash"

// repeats finds the customers a file names more than once, in fixed memory: a Bloom filter
// of the customers seen so far answers "maybe seen" for every repeat and, rarely, for a
// customer seen for the first time. Those candidates are kept, up to maxRepeatCandidates,
// for the database to confirm (it knows the file's rows once they are copied); past that
// the filter gives up and the database finds the repeats on its own.
type repeats struct {
	seed       maphash.Seed
	bits       []uint64
	candidates []string
	overflow   bool
}

const (
	repeatFilterBits   = 1 << 24 // 2 MiB: about one false candidate in a million lines of a 100,000-line file
	repeatFilterHashes = 4
)

// maxRepeatCandidates bounds the candidates kept (a variable for tests).
var maxRepeatCandidates = 100_000

func newRepeats() *repeats {
	return &repeats{seed: maphash.MakeSeed(), bits: make([]uint64, repeatFilterBits/64)}
}

// add notes a customer of the file.
func (r *repeats) add(customer string) {
	h := maphash.String(r.seed, customer)
	h1, h2 := uint32(h), uint32(h>>32)|1
	seen := true
	for i := uint32(0); i < repeatFilterHashes; i++ {
		bit := (h1 + i*h2) % repeatFilterBits
		word, mask := bit/64, uint64(1)<<(bit%64)
		if r.bits[word]&mask == 0 {
			seen = false
			r.bits[word] |= mask
		}
	}
	switch {
	case !seen || r.overflow:
	case len(r.candidates) < maxRepeatCandidates:
		r.candidates = append(r.candidates, customer)
	default:
		r.overflow, r.candidates = true, nil
	}
}
