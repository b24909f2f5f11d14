package api

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/labstack/echo/v4"

	"github.com/krslab/krslab/experiment"
)

// TestErrorCodesAreDocumented keeps the code list of openapi.yaml (the ErrorCode enum and
// the errors paragraph of the description) true to the one mapping of codes to statuses.
func TestErrorCodesAreDocumented(t *testing.T) {
	doc, err := openapi3.NewLoader().LoadFromData(OpenAPI())
	if err != nil {
		t.Fatal(err)
	}
	ref := doc.Components.Schemas["ErrorCode"]
	if ref == nil || ref.Value == nil {
		t.Fatal("no ErrorCode schema")
	}
	var enum []string
	for _, v := range ref.Value.Enum {
		enum = append(enum, v.(string))
	}
	for code, status := range statusOf {
		if !slices.Contains(enum, string(code)) {
			t.Errorf("code %s is not in the ErrorCode enum %v", code, enum)
		}
		// "`code` (..., status, ...)" or "status `code`"
		named := regexp.MustCompile("`" + string(code) + "` \\([^)]*\\b" + strconv.Itoa(status) + "\\b|\\b" +
			strconv.Itoa(status) + " `" + string(code) + "`")
		for where, text := range map[string]string{"the description's errors": doc.Info.Description, "ErrorCode": ref.Value.Description} {
			if !named.MatchString(text) {
				t.Errorf("%s do not give code %s its status %d", where, code, status)
			}
		}
	}
	for _, code := range enum {
		if _, ok := statusOf[experiment.Code(code)]; !ok {
			t.Errorf("the ErrorCode enum lists %s, which no error has", code)
		}
	}
}

// TestClientGoneIsNoOutage: whatever fails after the request's client went away (its
// context ended) is answered and logged as the client's leaving, not as an outage, a
// timeout or a bug; a statement timeout while the client waits is database_timeout.
func TestClientGoneIsNoOutage(t *testing.T) {
	s := &Server{}
	for _, c := range []struct {
		err  error
		gone bool
		want experiment.Code
	}{
		{&experiment.Error{Code: experiment.DatabaseTimeout, Message: "slow"}, false, experiment.DatabaseTimeout},
		{&experiment.Error{Code: experiment.DatabaseTimeout, Message: "slow"}, true, experiment.Canceled},
		{&experiment.Error{Code: experiment.Unavailable, Message: "down"}, true, experiment.Canceled},
		{context.Canceled, true, experiment.Canceled},
		{errors.New("pq: canceling statement due to user request"), true, experiment.Canceled},
		{&experiment.Error{Code: experiment.Invalid, Message: "bad"}, true, experiment.Invalid},
	} {
		req := httptest.NewRequest("GET", "/v1/experiments/x", nil)
		if c.gone {
			ctx, cancel := context.WithCancel(req.Context())
			cancel()
			req = req.WithContext(ctx)
		}
		rec := httptest.NewRecorder()
		s.handleError(c.err, echo.New().NewContext(req, rec))
		if rec.Code != statusOf[c.want] {
			t.Errorf("%v (client gone %v): %d, want %d (%s)", c.err, c.gone, rec.Code, statusOf[c.want], c.want)
		}
	}
	if statusOf[experiment.DatabaseTimeout] != http.StatusGatewayTimeout {
		t.Errorf("database_timeout is %d", statusOf[experiment.DatabaseTimeout])
	}
}
