package postgres

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
