package experiment

import (
	"unicode"
	"unicode/utf8"
)

// The one rule for text. PostgreSQL keeps text as UTF-8 without NUL: a value with a NUL or
// with bytes that are not UTF-8 fails there (SQLSTATE 22021, 22P05 in JSON), long after the
// request could have been told which field was wrong. And a reader that repairs bad bytes
// (encoding/json turns them into U+FFFD) makes two different values one. So every text a
// request carries is checked by CheckText (free text) or CheckID (ids, which are stricter)
// before it goes anywhere, and bad bytes are refused, never repaired.

// CheckText returns what is wrong with a free text (a name, a hypothesis, a label, a
// reason, a note), the zero Text if nothing: valid UTF-8, no NUL or other control
// characters but tab and line breaks, at most max characters.
func CheckText(s string, max int) Text {
	if !utf8.ValidString(s) {
		return Textf("must be valid UTF-8")
	}
	n := 0
	for _, r := range s {
		if unicode.IsControl(r) && r != '\t' && r != '\n' && r != '\r' {
			return Textf("must not contain NUL or other control characters (found %U)", r)
		}
		n++
	}
	if n > max {
		return Textf("at most %d characters", max)
	}
	return Text{}
}

// Limits of the free texts of experiments and outcomes, in characters.
const (
	MaxName        = 200  // an experiment's or an arm's name
	MaxDescription = 4000 // a hypothesis, an arm's description, a decision's reason
	MaxLabel       = 500  // an outcome's label (a survey question) in either language
	MaxSalt        = 128

	maxAttributeValue = 128 // as CheckID: the value of an eligibility rule
)
