package api

import (
	_ "embed"
	"net/http"

	"github.com/labstack/echo/v4"
)

// openAPISpec is the machine-readable contract of this API (OpenAPI 3).
//
//go:embed openapi.yaml
var openAPISpec []byte

// OpenAPI returns the OpenAPI 3 document served at /openapi.yaml.
func OpenAPI() []byte { return openAPISpec }

func (s *Server) openAPI(c echo.Context) error {
	return c.Blob(http.StatusOK, "application/yaml", openAPISpec)
}
