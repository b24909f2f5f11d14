package api

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/krslab/krslab/experiment"
)

const keyContext = "krslab.apikey"

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
				c.Set(keyContext, sess.Key)
				req := c.Request()
				c.SetRequest(req.WithContext(experiment.WithActor(req.Context(), sess.Actor())))
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
		c.Set(keyContext, key)
		req := c.Request()
		c.SetRequest(req.WithContext(experiment.WithActor(req.Context(), key.Name)))
		return next(c)
	}
}

// allow restricts a route to the roles with permission p: others get 403.
func (s *Server) allow(p experiment.Permission) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			key, _ := c.Get(keyContext).(experiment.APIKey)
			if !key.Role.May(p) {
				return experiment.Errorf(experiment.Forbidden, "an API key with role %s may not do this", key.Role)
			}
			return next(c)
		}
	}
}
