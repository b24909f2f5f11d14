package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"os"
	"strings"
	"syscall"

	"github.com/labstack/echo/v4"

	"github.com/krslab/krslab/experiment"
)

// decodeJSON reads the body into v strictly: one JSON value, no unknown fields, types as
// declared. Errors name the offending field.
func decodeJSON(c echo.Context, v any) error {
	body, err := readJSON(c)
	if err != nil {
		return err
	}
	return unmarshalStrict(body, v)
}

// readJSON reads a body declared JSON (or not declared at all), whole.
func readJSON(c echo.Context) ([]byte, error) {
	if ct := c.Request().Header.Get(echo.HeaderContentType); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != echo.MIMEApplicationJSON && !strings.HasSuffix(mt, "+json")) {
			return nil, badRequest{&experiment.Error{Code: experiment.Invalid, Message: "unsupported content type",
				Details: []experiment.Detail{{Field: "Content-Type", Message: "must be application/json"}}}}
		}
	}
	body, err := io.ReadAll(c.Request().Body)
	if err != nil {
		return nil, bodyReadError(err)
	}
	return body, nil
}

func bodyReadError(err error) error {
	var he *echo.HTTPError
	if errors.As(err, &he) && he.Code == http.StatusRequestEntityTooLarge {
		return experiment.Errorf(experiment.PayloadTooLarge, "request body is too large")
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return experiment.Errorf(experiment.PayloadTooLarge, "request body is too large")
	}
	// A body cut off by the read deadline or by the client leaving is no bad input.
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return &experiment.Error{Code: experiment.Timeout, Message: "the request body did not arrive in time: the upload was too slow or stalled", Cause: err}
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, net.ErrClosed) {
		return &experiment.Error{Code: experiment.Canceled, Message: "the client closed the connection before the request body was complete", Cause: err}
	}
	return badRequest{experiment.Errorf(experiment.Invalid, "could not read the request body")}
}

func unmarshalStrict(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return invalidBody("body", "a JSON object is required")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if dec.More() {
		return invalidBody("body", "unexpected data after the JSON object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return invalidBody("body", "unexpected data after the JSON object")
	}
	if d := textProblems(body); len(d) > 0 {
		return &experiment.Error{Code: experiment.Invalid, Message: "the request body holds text that is not valid UTF-8", Details: d}
	}
	return nil
}

func invalidBody(field, msg string) error {
	return badRequest{&experiment.Error{Code: experiment.Invalid, Message: "malformed request body",
		Details: []experiment.Detail{{Field: field, Message: msg}}}}
}

// jsonError names the field of a decoding error where encoding/json tells it.
func jsonError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return invalidBody("body", fmt.Sprintf("invalid JSON at byte %d: %v", syn.Offset, syn))
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "body"
		}
		return invalidBody(field, fmt.Sprintf("must be %s, not %s", jsonTypeName(typ.Type.String()), typ.Value))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return invalidBody("body", "truncated JSON")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return invalidBody(name, "unknown field")
	}
	var he *echo.HTTPError
	var mbe *http.MaxBytesError
	if errors.As(err, &he) || errors.As(err, &mbe) {
		return bodyReadError(err)
	}
	return invalidBody("body", err.Error())
}

func jsonTypeName(goType string) string {
	switch {
	case strings.HasPrefix(goType, "float"), strings.HasPrefix(goType, "int"), strings.HasPrefix(goType, "uint"):
		return "a number"
	case goType == "string":
		return "a string"
	case goType == "bool":
		return "true or false"
	case strings.HasPrefix(goType, "[]"):
		return "an array"
	}
	return "an object"
}

// parseAnswer reads one answer: a JSON number, or true/false (boolean) for binary
// outcomes, which the domain checks. ok is false for null, which means not answered.
func parseAnswer(raw json.RawMessage) (v float64, ok, boolean bool, msg string) {
	switch s := string(bytes.TrimSpace(raw)); s {
	case "null":
		return 0, false, false, ""
	case "true":
		return 1, true, true, ""
	case "false":
		return 0, true, true, ""
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return 0, false, false, "must be a number (or true/false for a binary outcome)"
	}
	return v, true, false, ""
}
