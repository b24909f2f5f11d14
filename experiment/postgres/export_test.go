package postgres

import "sync/atomic"

// Test hooks of the import of responses.

// CountStagedImports counts the imports of responses that go to staging until the test ends.
func CountStagedImports(cleanup func(func())) *int {
	n := 0
	onStage = func() { n++ }
	cleanup(func() { onStage = nil })
	return &n
}

// LimitCopyChunk sets how many lines one COPY of the direct import of responses takes until
// the test ends.
func LimitCopyChunk(lines int, cleanup func(func())) {
	old := copyChunk
	copyChunk = lines
	cleanup(func() { copyChunk = old })
}

// AnswerKeySetID is the id the store gives a list of outcome keys.
func AnswerKeySetID(keys []string) int64 { return answerKeySetID(keys) }

// LimitInlineKeySets sets how many key sets the one-response pass writes into its statement
// until the test ends (more take the pass that looks keys up).
func LimitInlineKeySets(n int, cleanup func(func())) {
	old := inlineKeySets
	inlineKeySets = n
	cleanup(func() { inlineKeySets = old })
}

// PassByLevels sets whether the summaries take the pass by grouping sets where they can
// until the test ends, and returns the number of statements that took it since.
func PassByLevels(on bool, cleanup func(func())) func() int64 {
	old, oldHook := byLevels, onLevels
	var n atomic.Int64
	byLevels, onLevels = on, func() { n.Add(1) }
	cleanup(func() { byLevels, onLevels = old, oldHook })
	return n.Load
}
