package api

import (
	"bytes"
	"encoding/json"
	"io"

	"github.com/labstack/echo/v4"
)

// The API's JSON is read by programs and by people at a terminal, never placed in a page:
// it is written without encoding/json's HTML escapes ("must be > 0", not "must be \u003e 0"),
// and every response carries X-Content-Type-Options: nosniff so that no browser reads it as
// anything but its content type. marshalJSON is that encoding; jsonSerializer gives it to
// Echo's c.JSON, and appendJSONString falls back to it.

// newJSONEncoder writes the API's JSON to w, indented by indent when it is not "".
func newJSONEncoder(w io.Writer, indent string) *json.Encoder {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	if indent != "" {
		enc.SetIndent("", indent)
	}
	return enc
}

// marshalJSON is json.Marshal without HTML escapes.
func marshalJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	if err := newJSONEncoder(&buf, "").Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// jsonSerializer is Echo's JSON serializer without HTML escapes.
type jsonSerializer struct{ echo.DefaultJSONSerializer }

func (jsonSerializer) Serialize(c echo.Context, i any, indent string) error {
	return newJSONEncoder(c.Response(), indent).Encode(i)
}

// nosniff is the one value of the header, shared by every response (never appended to).
var nosniff = []string{"nosniff"}

// noSniff sets X-Content-Type-Options: nosniff on every response.
func noSniff(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		c.Response().Header()["X-Content-Type-Options"] = nosniff
		return next(c)
	}
}
