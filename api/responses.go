package api

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/krslab/krslab/experiment"
)

type responseResult struct {
	ResponseID string `json:"response_id"`
	Status     string `json:"status"` // "created" or "replayed"
}

func (s *Server) recordResponse(c echo.Context) error {
	var req responseRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	replayed, err := s.svc.RecordResponses(c.Request().Context(), param(c, "key"), []experiment.Response{req.domain()}, false)
	if err != nil {
		return err
	}
	status, code := "created", http.StatusCreated
	if replayed[0] {
		status, code = "replayed", http.StatusOK
		s.metrics.recorded(param(c, "key"), 0, 1)
	} else {
		s.metrics.recorded(param(c, "key"), 1, 0)
	}
	return c.JSON(code, responseResult{ResponseID: req.ResponseID, Status: status})
}

// domain converts a decoded response; what does not parse becomes one of its Problems.
func (req responseRequest) domain() experiment.Response {
	r := experiment.Response{ResponseID: req.ResponseID, CustomerID: req.CustomerID, Answers: make(map[string]float64, len(req.Answers))}
	if req.AnsweredAt != "" {
		t, err := time.Parse(time.RFC3339Nano, req.AnsweredAt)
		if err != nil {
			r.Problems = append(r.Problems, experiment.Detail{Field: "answered_at", Message: "must be an RFC 3339 timestamp such as 2026-03-01T10:00:00Z"})
		} else {
			r.AnsweredAt = t
		}
	}
	for k, raw := range req.Answers {
		v, ok, boolean, msg := parseAnswer(raw)
		if msg != "" {
			r.Problems = append(r.Problems, experiment.Detail{Field: "answers." + k, Message: msg})
		}
		if ok {
			r.Answers[k] = v
		}
		if boolean {
			if r.Booleans == nil {
				r.Booleans = map[string]bool{}
			}
			r.Booleans[k] = true
		}
	}
	return r
}

type responsesBatchRequest struct {
	Responses []responseRequest `json:"responses"`
}

type responsesBatchResult struct {
	Created   int              `json:"created"`
	Replayed  int              `json:"replayed"`
	Responses []responseResult `json:"responses"`
}

// recordResponses takes a JSON or CSV batch, all-or-nothing.
func (s *Server) recordResponses(c echo.Context) error {
	var (
		rs  []experiment.Response
		err error
	)
	mt, _, _ := mime.ParseMediaType(c.Request().Header.Get(echo.HeaderContentType))
	if mt == "text/csv" {
		rs, err = readResponsesCSV(c.Request().Body)
		if err != nil {
			return err
		}
	} else {
		var req responsesBatchRequest
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		if len(req.Responses) > experiment.MaxBatch {
			return &experiment.Error{Code: experiment.Invalid, Message: "batch too large",
				Details: []experiment.Detail{{Field: "responses", Message: fmt.Sprintf("at most %d responses per batch", experiment.MaxBatch)}}}
		}
		rs = make([]experiment.Response, len(req.Responses))
		for i, r := range req.Responses {
			rs[i] = r.domain()
		}
	}
	replayed, err := s.svc.RecordResponses(c.Request().Context(), param(c, "key"), rs, true)
	if err != nil {
		return err
	}
	out := responsesBatchResult{Responses: make([]responseResult, len(rs))}
	for i, r := range rs {
		out.Responses[i] = responseResult{ResponseID: r.ResponseID, Status: "created"}
		if replayed[i] {
			out.Responses[i].Status = "replayed"
			out.Replayed++
		} else {
			out.Created++
		}
	}
	s.metrics.recorded(param(c, "key"), out.Created, out.Replayed)
	code := http.StatusCreated
	if out.Created == 0 {
		code = http.StatusOK
	}
	return c.JSON(code, out)
}

// readResponsesCSV parses response_id,customer_id,answered_at,<outcome keys...>; an empty
// cell is not answered. Every bad row is reported, by its 1-based data row number.
func readResponsesCSV(body io.Reader) ([]experiment.Response, error) {
	r := csv.NewReader(body)
	r.ReuseRecord = false
	header, err := r.Read()
	if err != nil {
		return nil, csvError(err, "header")
	}
	if err := experiment.CheckResponseHeader(header); err != nil {
		return nil, err
	}
	var p experiment.Problems
	var rs []experiment.Response
	for row := 1; ; row++ {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) && errors.Is(pe.Err, csv.ErrFieldCount) {
				p.Row(row, "", "has %d columns, the header has %d", len(rec), len(header))
				continue
			}
			return nil, csvError(err, fmt.Sprintf("row %d", row))
		}
		if row > experiment.MaxBatch {
			return nil, &experiment.Error{Code: experiment.Invalid, Message: "batch too large",
				Details: []experiment.Detail{{Field: "responses", Message: fmt.Sprintf("at most %d responses per batch; use krslab import for larger files", experiment.MaxBatch)}}}
		}
		resp := experiment.ResponseFromRecord(header, rec)
		rs = append(rs, resp)
	}
	if err := p.Err("invalid CSV rows"); err != nil {
		return nil, err
	}
	return rs, nil
}

func csvError(err error, where string) error {
	if errors.Is(err, io.EOF) {
		return badRequest{&experiment.Error{Code: experiment.Invalid, Message: "empty CSV",
			Details: []experiment.Detail{{Field: "body", Message: "a header line is required"}}}}
	}
	var he *echo.HTTPError
	var mbe *http.MaxBytesError
	if errors.As(err, &he) || errors.As(err, &mbe) {
		return bodyReadError(err)
	}
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return badRequest{&experiment.Error{Code: experiment.Invalid, Message: "malformed CSV",
			Details: []experiment.Detail{{Field: where, Message: fmt.Sprintf("line %d: %v", pe.Line, pe.Err)}}}}
	}
	return badRequest{&experiment.Error{Code: experiment.Invalid, Message: "malformed CSV",
		Details: []experiment.Detail{{Field: where, Message: err.Error()}}}}
}

type covariatesRequest struct {
	Covariates []covariateJSON `json:"covariates"`
}

func (s *Server) recordCovariates(c echo.Context) error {
	var req covariatesRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	cs := make([]experiment.Covariate, len(req.Covariates))
	for i, cv := range req.Covariates {
		cs[i] = experiment.Covariate{CustomerID: cv.CustomerID, Outcome: cv.Outcome}
		if cv.Value == nil {
			cs[i].Problems = []experiment.Detail{{Field: "value", Message: "is required"}}
		} else {
			cs[i].Value = *cv.Value
		}
	}
	if err := s.svc.RecordCovariates(c.Request().Context(), param(c, "key"), cs); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]int{"stored": len(cs)})
}
