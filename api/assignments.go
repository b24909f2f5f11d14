package api

import (
	"bufio"
	"bytes"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/krslab/krslab/experiment"
)

type assignRequest struct {
	CustomerID string            `json:"customer_id"`
	Attributes map[string]string `json:"attributes"`
}

// assign is the route called most: it reads the usual body and writes its answer
// without reflection (plainAssignRequest, assignmentJSON.appendJSON), to the same effect
// and the same bytes as decodeJSON and c.JSON.
func (s *Server) assign(c echo.Context) error {
	body, err := readJSON(c)
	if err != nil {
		return err
	}
	req, ok := plainAssignRequest(body)
	if !ok {
		if err := unmarshalStrict(body, &req); err != nil {
			return err
		}
	}
	key := param(c, "key")
	a, err := s.svc.Assign(c.Request().Context(), key, req.CustomerID, req.Attributes)
	if err != nil {
		return err
	}
	if a.Arm != "" {
		s.metrics.assigned(key, a.New)
	}
	return answerJSON(c, http.StatusOK, toAssignmentJSON(key, a))
}

// plainAssignRequest reads the body nearly every assignment has, {"customer_id":"…"} with
// an id of printable ASCII without escapes (then trailing white space), without
// reflection. Any other body is unmarshalStrict's to read: FuzzPlainAssignRequestAsStrict
// holds the two to one reading.
func plainAssignRequest(body []byte) (assignRequest, bool) {
	const open, end = `{"customer_id":"`, `"}`
	b := bytes.TrimRight(body, " \t\r\n")
	if len(b) < len(open)+len(end) || !bytes.HasPrefix(b, []byte(open)) || !bytes.HasSuffix(b, []byte(end)) {
		return assignRequest{}, false
	}
	id := b[len(open) : len(b)-len(end)]
	for _, c := range id {
		if c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			return assignRequest{}, false
		}
	}
	return assignRequest{CustomerID: string(id)}, true
}

// answerJSON answers v as c.JSON does (the same bytes, pretty when asked), from v's own
// encoder.
func answerJSON(c echo.Context, code int, v interface{ appendJSON([]byte) ([]byte, error) }) error {
	if _, pretty := c.QueryParams()["pretty"]; pretty || c.Echo().Debug {
		return c.JSON(code, v)
	}
	b, err := v.appendJSON(make([]byte, 0, 256))
	if err != nil {
		return err
	}
	return c.JSONBlob(code, append(b, '\n'))
}

type assignBatchRequest struct {
	CustomerIDs []string `json:"customer_ids"`
}

func (s *Server) assignBatch(c echo.Context) error {
	var req assignBatchRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	key := param(c, "key")
	list, err := s.svc.AssignBatch(c.Request().Context(), key, req.CustomerIDs)
	if err != nil {
		return err
	}
	out := make([]assignmentJSON, len(list))
	for i, a := range list {
		if a.Arm != "" {
			s.metrics.assigned(key, a.New)
		}
		out[i] = toAssignmentJSON("", a)
	}
	return c.JSON(http.StatusOK, map[string]any{"assignments": out})
}

func (s *Server) getAssignment(c echo.Context) error {
	key := param(c, "key")
	a, err := s.svc.Assignment(c.Request().Context(), key, param(c, "customer"))
	if err != nil {
		return err
	}
	return answerJSON(c, http.StatusOK, toAssignmentJSON(key, a))
}

// assignmentsCSV streams every assignment; memory stays flat in the number of customers.
func (s *Server) assignmentsCSV(c echo.Context) error {
	key := param(c, "key")
	ctx := c.Request().Context()
	if _, err := s.svc.Experiment(ctx, key); err != nil {
		return err
	}
	res := c.Response()
	res.Header().Set(echo.HeaderContentType, "text/csv; charset=utf-8")
	res.Header().Set(echo.HeaderContentDisposition, `attachment; filename="`+key+`-assignments.csv"`)
	buf := bufio.NewWriterSize(res, 64<<10)
	w := experiment.NewCSVWriter(buf)
	started := false
	err := s.svc.EachAssignment(ctx, key, func(a experiment.Assignment) error {
		if !started {
			res.WriteHeader(http.StatusOK)
			started = true
			if err := w.Write([]string{"customer_id", "arm", "assigned_at"}); err != nil {
				return err
			}
		}
		return w.Write([]string{a.CustomerID, a.Arm, a.AssignedAt.Format(time.RFC3339Nano)})
	})
	if err != nil && !started {
		return err
	}
	if !started {
		res.WriteHeader(http.StatusOK)
		_ = w.Write([]string{"customer_id", "arm", "assigned_at"})
	}
	w.Flush()
	if ferr := buf.Flush(); err == nil {
		err = ferr
	}
	if err != nil {
		// Headers are gone: the truncated body is all a client can see; log it.
		s.log.ErrorContext(ctx, "assignments export interrupted", "err", err)
	}
	return nil
}
