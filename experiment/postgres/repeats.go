package postgres

import "hash/maphash"

// repeats tells, in fixed memory, whether a file named a customer before: a Bloom filter of
// the customers seen so far answers "seen" for every repeat and, rarely, for a customer
// seen for the first time. A false "seen" makes the import write a first response as not
// the customer's only one, which the latest-answer upkeep corrects.
type repeats struct {
	seed maphash.Seed
	bits []uint64
}

const (
	repeatFilterBits   = 1 << 24 // 2 MiB: about one false "seen" in a million lines of a 100,000-line file
	repeatFilterHashes = 4
)

func newRepeats() *repeats {
	return &repeats{seed: maphash.MakeSeed(), bits: make([]uint64, repeatFilterBits/64)}
}

// add notes a customer of the file and reports whether it was (perhaps) seen before.
func (r *repeats) add(customer string) bool {
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
	return seen
}
