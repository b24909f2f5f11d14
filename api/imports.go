package api

import (
	"errors"
	"io"
	"mime"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/krslab/krslab/experiment"
)

// importResult is the answer to a CSV import over HTTP: what `krslab import` prints.
type importResult struct {
	Kind      string  `json:"kind"`
	Lines     int64   `json:"lines"`
	Stored    int64   `json:"stored"`
	Answers   int64   `json:"answers,omitempty"`
	Replayed  int64   `json:"replayed"`
	ElapsedMS float64 `json:"elapsed_ms"`
}

// importCSV streams a CSV file of any size (up to Config.ImportLimit) from the request body
// through the bulk importer of `krslab import`: COPY into staging tables, checks in Go and
// SQL, and one transaction, all-or-nothing. The body is read once, as it arrives, and never
// held in memory. details[].row counts data rows, as in the batches (the header is row 0).
func (s *Server) importCSV(kind string) echo.HandlerFunc {
	return func(c echo.Context) error {
		mt, _, err := mime.ParseMediaType(c.Request().Header.Get(echo.HeaderContentType))
		if err != nil || mt != "text/csv" {
			return badRequest{&experiment.Error{Code: experiment.Invalid, Message: "unsupported content type",
				Details: []experiment.Detail{{Field: "Content-Type", Message: "must be text/csv"}}}}
		}
		bulk, ok := s.svc.Store.(experiment.BulkStore)
		if !ok {
			return experiment.Errorf(experiment.Internal, "the store cannot import")
		}
		im := experiment.NewImporter(s.svc, bulk)
		body := &bodySource{r: c.Request().Body}
		ctx, key := c.Request().Context(), param(c, "key")
		res, err := im.Import(ctx, kind, key, body.open, experiment.ImportOptions{})
		if body.err != nil {
			return bodyReadError(body.err)
		}
		if err != nil {
			var de *experiment.Error
			if errors.As(err, &de) && len(de.Details) > 0 && de.Details[0].Row > 0 {
				// The importer counts file lines (the header is line 1); the API counts data rows.
				rows := *de
				rows.Details = make([]experiment.Detail, len(de.Details))
				for i, d := range de.Details {
					if d.Row > 0 {
						d.Row--
					}
					rows.Details[i] = d
				}
				return &rows
			}
			return err
		}
		if kind == "responses" {
			s.metrics.recorded(key, int(res.Stored), int(res.Replayed))
		}
		code := http.StatusCreated
		if res.Stored == 0 {
			code = http.StatusOK
		}
		return c.JSON(code, importResult{Kind: res.Kind, Lines: res.Lines, Stored: res.Stored, Answers: res.Answers,
			Replayed: res.Replayed, ElapsedMS: float64(res.Elapsed.Microseconds()) / 1000})
	}
}

// bodySource is a request body as an ImportSource. It can be opened once: an HTTP import
// never re-reads its file (that is only for a rejects file, which it does not write). It
// keeps the error of reading the body, so that a body over the limit is a 413, not a bad
// CSV.
type bodySource struct {
	r      io.ReadCloser
	opened bool
	err    error
}

func (b *bodySource) open() (io.ReadCloser, error) {
	if b.opened {
		return nil, errors.New("the request body can be read only once")
	}
	b.opened = true
	return b, nil
}

func (b *bodySource) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) && b.err == nil {
		b.err = err
	}
	return n, err
}

func (b *bodySource) Close() error { return nil } // the server closes the request body
