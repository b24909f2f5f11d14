package api

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/krslab/krslab/experiment"
)

// errorBody is the one error shape of the API.
type errorBody struct {
	Error errorPayload `json:"error"`
}

type errorPayload struct {
	Code    experiment.Code     `json:"code"`
	Message string              `json:"message"`
	Details []experiment.Detail `json:"details"`
}

var statusOf = map[experiment.Code]int{
	experiment.Invalid:            http.StatusUnprocessableEntity,
	experiment.Unauthorized:       http.StatusUnauthorized,
	experiment.Forbidden:          http.StatusForbidden,
	experiment.NotFound:           http.StatusNotFound,
	experiment.Conflict:           http.StatusConflict,
	experiment.PreconditionFailed: http.StatusPreconditionFailed,
	experiment.PayloadTooLarge:    http.StatusRequestEntityTooLarge,
	experiment.Unavailable:        http.StatusServiceUnavailable,
	experiment.DatabaseTimeout:    http.StatusGatewayTimeout,
	experiment.Internal:           http.StatusInternalServerError,
	experiment.Timeout:            http.StatusRequestTimeout,
	experiment.Canceled:           statusClientClosed,
}

// statusClientClosed is nginx's 499, "client closed request", for the logs and metrics of
// requests whose client went away: no client reads it.
const statusClientClosed = 499

// badRequest marks errors about the request's syntax (400) rather than its meaning (422).
type badRequest struct{ err *experiment.Error }

func (b badRequest) Error() string { return b.err.Error() }

// toError maps any error of a handler, Echo's own included, to a domain error and status.
func toError(err error) (*experiment.Error, int) {
	var br badRequest
	if errors.As(err, &br) {
		return br.err, http.StatusBadRequest
	}
	var de *experiment.Error
	if errors.As(err, &de) {
		return de, statusOf[de.Code]
	}
	var he *echo.HTTPError
	if errors.As(err, &he) {
		switch he.Code {
		case http.StatusNotFound:
			return experiment.Errorf(experiment.NotFound, "no such route"), he.Code
		case http.StatusMethodNotAllowed:
			return &experiment.Error{Code: experiment.Invalid, Message: "method not allowed on this route"}, he.Code
		case http.StatusRequestEntityTooLarge:
			return experiment.Errorf(experiment.PayloadTooLarge, "request body is too large"), he.Code
		case http.StatusUnauthorized:
			return experiment.Errorf(experiment.Unauthorized, "missing or invalid API key"), he.Code
		case http.StatusForbidden:
			return experiment.Errorf(experiment.Forbidden, "forbidden"), he.Code
		}
		if he.Code >= 400 && he.Code < 500 {
			return &experiment.Error{Code: experiment.Invalid, Message: http.StatusText(he.Code)}, he.Code
		}
	}
	return &experiment.Error{Code: experiment.Internal, Message: "internal error", Cause: err}, http.StatusInternalServerError
}

// ErrorOf is the domain error and HTTP status of any error of a handler, for the console's
// pages, which show errors as HTML where the API answers JSON.
func ErrorOf(err error) (*experiment.Error, int) { return toError(err) }

func (s *Server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	de, status := toError(err)
	// A client that goes away ends the request's context and with it the statement the
	// request waits for: what fails then is no outage, no timeout and no bug of ours.
	if c.Request().Context().Err() != nil &&
		(de.Code == experiment.Unavailable || de.Code == experiment.DatabaseTimeout || de.Code == experiment.Internal) {
		de = &experiment.Error{Code: experiment.Canceled, Message: "the client went away before the answer", Cause: err}
		status = statusOf[de.Code]
	}
	payload := errorPayload{Code: de.Code, Message: de.Message, Details: de.Details}
	if payload.Details == nil {
		payload.Details = []experiment.Detail{}
	}
	if de.Code == experiment.Internal {
		payload.Message = "internal error" // never leak internals
	}
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(status)
		return
	}
	_ = c.JSON(status, errorBody{Error: payload})
}
