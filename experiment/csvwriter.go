package experiment

import (
	"encoding/csv"
	"io"
	"regexp"
)

// CSVWriter writes the CSV files krslab hands out (assignments.csv, results.csv, the
// rejects of an import), which people open in spreadsheets. A spreadsheet runs a cell that
// starts with =, +, -, @, a tab or a carriage return as a formula, and customer ids,
// attribute values and import lines are whatever the customer's systems sent: such a cell
// is written with a single quote in front (OWASP's advice), which a spreadsheet shows as
// text. Numbers stay numbers: a cell that is a plain decimal number (-0.53, -1e-05) is
// written as it is, and is harmless in a spreadsheet anyway.
//
// Every CSV the service writes goes through it, so that the rule is in one place.
type CSVWriter struct {
	w *csv.Writer
}

// NewCSVWriter returns a CSVWriter on w (RFC 4180, as encoding/csv writes it).
func NewCSVWriter(w io.Writer) *CSVWriter { return &CSVWriter{w: csv.NewWriter(w)} }

// Write writes one record, each cell through SafeCSVCell. It does not change rec.
func (w *CSVWriter) Write(rec []string) error {
	var safe []string
	for i, cell := range rec {
		if s := SafeCSVCell(cell); s != cell {
			if safe == nil {
				safe = append([]string(nil), rec...)
			}
			safe[i] = s
		}
	}
	if safe == nil {
		safe = rec
	}
	return w.w.Write(safe)
}

// Flush writes what is buffered to the underlying writer.
func (w *CSVWriter) Flush() { w.w.Flush() }

// Error reports an error of an earlier Write or Flush.
func (w *CSVWriter) Error() error { return w.w.Error() }

// plainNumber is a decimal number as strconv and stats.Float write them.
var plainNumber = regexp.MustCompile(`^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$`)

// SafeCSVCell is cell as a spreadsheet may open it: with a single quote in front when it
// would start a formula and is not a plain number. It is idempotent: a neutralised cell
// starts with the quote, which starts no formula.
func SafeCSVCell(cell string) string {
	if cell == "" {
		return cell
	}
	switch cell[0] {
	case '=', '+', '-', '@', '\t', '\r':
		if cell[0] == '-' && plainNumber.MatchString(cell) {
			return cell
		}
		return "'" + cell
	}
	return cell
}
