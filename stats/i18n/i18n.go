// Package i18n is the one source of the words and number formats krslab shows people, in
// English and Dutch: the figures of stats/plot, the recommendation's reason in stats, the
// report of api/report and the web console all write their labels through T and their
// numbers through the formatters of format.go, so that a number or a label reads the same
// wherever it appears. Outcome names are not here: experiment.Outcome.Name is their one
// source. The package imports only the standard library, so that stats, which never
// imports experiment, can use it too.
//
// # Languages
//
// A language is "en" (English) or "nl" (Dutch). Normalize maps anything else, the empty
// string included, to English, which is what every caller wants for a default; Valid says
// whether an option a user gave names one of the two.
//
// # Messages
//
// A message is one text in both languages, under an id: lower-case words joined by dots,
// the first naming the part of the product that shows it (plot., report., reason., unit.,
// console.). Every message is a fmt format, also when it takes no arguments: a literal
// percent sign is written "%%", and both languages take the same verbs in the same order
// (the tests check it). Arguments are strings formatted here (Num, Count, P, ...), or
// names; a message never formats a float itself, so the decimal comma and the minus sign
// cannot be forgotten.
//
// The messages live in tables of the package, each in its own file: messages.go holds the
// figures', the report's and the reason's, console.go the console's. A table is a
// map[string]Message; messages.go's is the package variable messages, and every other file
// adds its table to it in an init function:
//
//	var consoleMessages = map[string]Message{
//		"console.experiments.title": {"Experiments", "Experimenten"},
//	}
//
//	func init() { register(consoleMessages) }
//
// Package variables are initialised before any init function runs, so messages is complete
// when the first caller asks; register panics at start-up on an id that is already taken,
// so two files cannot silently disagree on a text. T reads the merged table, which nothing
// writes after start-up, so it is safe for concurrent use.
package i18n

import (
	"fmt"
	"maps"
	"slices"
)

// The languages.
const (
	English = "en"
	Dutch   = "nl"
)

// Normalize is lang as one of the two languages: Dutch for "nl", English for anything else.
func Normalize(lang string) string {
	if lang == Dutch {
		return Dutch
	}
	return English
}

// Valid reports whether lang names one of the languages ("en" or "nl").
func Valid(lang string) bool { return lang == English || lang == Dutch }

// Message is one text in English and Dutch.
type Message struct {
	EN, NL string
}

// In is the message's text in lang.
func (m Message) In(lang string) string {
	if Normalize(lang) == Dutch {
		return m.NL
	}
	return m.EN
}

// T is the message id in lang with args formatted into it. An unknown id comes back as it
// is, so that a missing text shows where it is missing instead of leaving a blank; the
// tests of the packages that use T check their ids exist.
func T(lang, id string, args ...any) string {
	m, ok := messages[id]
	if !ok {
		return id
	}
	return fmt.Sprintf(m.In(lang), args...)
}

// Has reports whether id is a message.
func Has(id string) bool {
	_, ok := messages[id]
	return ok
}

// IDs are the ids of every message, sorted.
func IDs() []string { return slices.Sorted(maps.Keys(messages)) }

// register adds a file's table of messages to the catalogue; see the package doc.
func register(table map[string]Message) {
	for id, m := range table {
		if _, taken := messages[id]; taken {
			panic(fmt.Sprintf("i18n: message %q is defined twice", id))
		}
		messages[id] = m
	}
}
