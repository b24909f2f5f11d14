package api

import (
	"context"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/krslab/krslab/experiment"
)

// keyContext is the request context's key of the caller's API key (or the console
// session's).
type keyContext struct{}

// authenticated is the API key a request was authenticated with, if it was.
func authenticated(c echo.Context) (experiment.APIKey, bool) {
	k, ok := c.Request().Context().Value(keyContext{}).(*experiment.APIKey)
	if !ok {
		return experiment.APIKey{}, false
	}
	return *k, true
}

// withKey carries the key, and its name as the actor, in the request's context.
func withKey(c echo.Context, key *experiment.APIKey, actor string) {
	req := c.Request()
	ctx := context.WithValue(experiment.WithActor(req.Context(), actor), keyContext{}, key)
	c.SetRequest(req.WithContext(ctx))
}

// SessionCookie holds a console session's token. The console sets it; the API accepts it
// on GET and HEAD only, so that the console's downloads (CSV, report, plots) work with the
// session, while every change through the API still needs a key in the Authorization
// header, which no other site can make a browser send.
const SessionCookie = "krslab_session"

// authenticate requires a valid Bearer key on every /v1 route (or a console session for
// reads).
func (s *Server) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Request().Header.Get(echo.HeaderAuthorization)
		if m := c.Request().Method; h == "" && (m == http.MethodGet || m == http.MethodHead) {
			if ck, err := c.Cookie(SessionCookie); err == nil && ck.Value != "" {
				sess, err := s.svc.Session(c.Request().Context(), ck.Value)
				if err != nil {
					return err
				}
				withKey(c, &sess.Key, sess.Actor())
				return next(c)
			}
		}
		scheme, secret, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(secret) == "" {
			c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Bearer realm="krslab"`)
			return experiment.Errorf(experiment.Unauthorized, "missing API key: send Authorization: Bearer <key>")
		}
		key, err := s.svc.Authenticate(c.Request().Context(), strings.TrimSpace(secret))
		if err != nil {
			if experiment.ErrorCode(err) == experiment.Unauthorized {
				c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Bearer realm="krslab", error="invalid_token"`)
			}
			return err
		}
		withKey(c, &key, key.Name)
		return next(c)
	}
}

// allow restricts a route to the roles with permission p: others get 403.
func (s *Server) allow(p experiment.Permission) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			key, _ := authenticated(c)
			if !key.Role.May(p) {
				return experiment.Errorf(experiment.Forbidden, "an API key with role %s may not do this", key.Role)
			}
			return next(c)
		}
	}
}
