package postgres

// Test hooks of the import of responses.

// CountStagedImports counts the imports of responses that go to staging until the test ends.
func CountStagedImports(cleanup func(func())) *int {
	n := 0
	onStage = func() { n++ }
	cleanup(func() { onStage = nil })
	return &n
}

// LimitRepeatCandidates sets how many possibly repeated customers an import keeps until the
// test ends.
func LimitRepeatCandidates(limit int, cleanup func(func())) {
	old := maxRepeatCandidates
	maxRepeatCandidates = limit
	cleanup(func() { maxRepeatCandidates = old })
}

// AnswerKeySetID is the id the store gives a list of outcome keys.
func AnswerKeySetID(keys []string) int64 { return answerKeySetID(keys) }
