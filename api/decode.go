package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net"
	"net/http"
	"os"
	"reflect"
	"strconv"
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
		return jsonError(err, body)
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

// jsonError names the field of a decoding error where encoding/json tells it, as the
// domain names fields (arms[1].weight), from where in body the decoder stopped.
func jsonError(err error, body []byte) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return invalidBody("body", fmt.Sprintf("invalid JSON at byte %d: %v", syn.Offset, syn))
	case errors.As(err, &typ):
		field := jsonPathAt(body, typ.Offset)
		if field == "" {
			field = typ.Field
		}
		if field == "" {
			field = "body"
		}
		return invalidBody(field, typeMismatch(typ))
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

// typeMismatch says what a field must be and what it got: a number out of the range of
// its field, a fraction where a whole number belongs, or a value of another type.
func typeMismatch(typ *json.UnmarshalTypeError) string {
	want := jsonTypeName(typ.Type.String())
	literal, isNumber := strings.CutPrefix(typ.Value, "number ")
	if isNumber && want == "a number" {
		integer := typ.Type.Kind() >= reflect.Int && typ.Type.Kind() <= reflect.Uint64
		if f, err := strconv.ParseFloat(literal, 64); integer && err == nil && math.Trunc(f) != f {
			return fmt.Sprintf("must be a whole number, not %s", literal)
		}
		return fmt.Sprintf("is out of range: %s", literal)
	}
	got := typ.Value
	switch {
	case isNumber:
		got = "the number " + literal
	case got == "number" || got == "string":
		got = "a " + got
	case got == "array" || got == "object":
		got = "an " + got
	case got == "bool":
		got = "true or false"
	}
	return fmt.Sprintf("must be %s, not %s", want, got)
}

// jsonPathAt is the path (arms[1].weight; "" for the whole body) of the value of body that
// ends at offset, or, for an object or array, whose opening bracket does: where
// encoding/json reports a value of the wrong type. "" when body has none there.
func jsonPathAt(body []byte, offset int64) string {
	type frame struct {
		array bool
		n     int    // in an array, the index of the next value
		key   string // in an object, the key of the next value
	}
	var stack []frame
	path := func() string {
		var b strings.Builder
		for _, f := range stack {
			if f.array {
				fmt.Fprintf(&b, "[%d]", f.n)
			} else {
				if b.Len() > 0 {
					b.WriteByte('.')
				}
				b.WriteString(f.key)
			}
		}
		return b.String()
	}
	// expectKey: the next string of the object on top is a key.
	expectKey := false
	next := func() { // a value of the container on top ended
		if len(stack) > 0 {
			top := &stack[len(stack)-1]
			top.n++
			expectKey = !top.array
		}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber() // a number out of float64's range is a token too
	for {
		tok, err := dec.Token()
		if err != nil {
			return ""
		}
		at := dec.InputOffset()
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{', '[':
				if at == offset {
					return path()
				}
				stack = append(stack, frame{array: t == '['})
				expectKey = t == '{'
			default:
				stack = stack[:len(stack)-1]
				next()
			}
		default:
			if key, ok := t.(string); ok && expectKey {
				stack[len(stack)-1].key = key
				expectKey = false
				continue
			}
			if at == offset {
				return path()
			}
			next()
		}
		if at > offset {
			return ""
		}
	}
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
