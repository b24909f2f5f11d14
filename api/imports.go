package api

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"time"

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

// DefaultImportTimeout is how long the upload of an :import body may take: a gigabyte at
// some 0.6 MB/s.
const DefaultImportTimeout = 30 * time.Minute

// importCSV imports a CSV file of any size (up to Config.ImportLimit) from the request body
// with the bulk importer of `krslab import`: checks in Go and SQL, COPY, one transaction,
// all-or-nothing. The body is first copied to a temporary file (spoolBody), never held in
// memory. details[].row counts data rows, as in the batches (the header is row 0).
func (s *Server) importCSV(kind string) echo.HandlerFunc {
	return func(c echo.Context) error {
		// The server's read timeout suits JSON bodies, not a file of a gigabyte over a slow
		// line: the upload has the import timeout instead, from now. (Once the body is read,
		// net/http lifts the deadline itself.)
		if err := http.NewResponseController(c.Response()).SetReadDeadline(time.Now().Add(s.cfg.ImportTimeout)); err != nil && !errors.Is(err, http.ErrNotSupported) {
			return err
		}
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
		body, err := spoolBody(s.cfg.SpoolDir, c.Request().Body)
		if experiment.ErrorCode(err) == experiment.Timeout {
			return &experiment.Error{Code: experiment.Timeout, Cause: err,
				Message: fmt.Sprintf("the upload timed out: the file did not arrive within %s; send it over a faster connection or in smaller files", s.cfg.ImportTimeout)}
		}
		if err != nil {
			return err
		}
		defer body.Close()
		ctx, key := c.Request().Context(), param(c, "key")
		res, err := im.Import(ctx, kind, key, body.Open, experiment.ImportOptions{})
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

// spoolBody copies a request body to a temporary file in dir: the importer may read it more
// than once (a file with bad lines is read again to name them), and no lock of the import
// is held while a slow client is still uploading. A body that cannot be read in full (over
// the limit, too slow, cut off) is the request's error; a file that cannot be written, the
// server's.
func spoolBody(dir string, r io.Reader) (*experiment.Spool, error) {
	body := &bodyReader{r: r}
	s, err := experiment.NewSpool(dir, body)
	if body.err != nil {
		return nil, bodyReadError(body.err)
	}
	return s, err
}

// bodyReader keeps the error of reading a request body.
type bodyReader struct {
	r   io.Reader
	err error
}

func (b *bodyReader) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		b.err = err
	}
	return n, err
}
