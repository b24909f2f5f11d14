package api

import (
	"slices"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/krslab/krslab/experiment"
)

const keyContext = "krslab.apikey"

// authenticate requires a valid Bearer key on every /v1 route.
func (s *Server) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Request().Header.Get(echo.HeaderAuthorization)
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

// allow restricts a route to some roles: others get 403.
func (s *Server) allow(roles ...experiment.Role) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			key, _ := c.Get(keyContext).(experiment.APIKey)
			if !slices.Contains(roles, key.Role) {
				return experiment.Errorf(experiment.Forbidden, "an API key with role %s may not do this", key.Role)
			}
			return next(c)
		}
	}
}
