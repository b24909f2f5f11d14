// Package api is the HTTP face of krslab: Echo handlers that translate between JSON or CSV
// and the experiment domain, API-key authentication with roles, and one error handler that
// gives every failure the shape of API.md.
package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/krslab/krslab/experiment"
)

// Checker reports whether the database is reachable and its schema current (for /readyz).
type Checker interface {
	Ping(ctx context.Context) error
	SchemaCurrent(ctx context.Context) (bool, error)
}

// Config configures the HTTP server.
type Config struct {
	BodyLimit int64 // bytes; default 16 MiB
	// ImportLimit bounds the body of a CSV import (…:import routes), which is streamed
	// rather than held in memory; default 1 GiB.
	ImportLimit int64
	Logger      *slog.Logger
	Ready       Checker
	Metrics     *Metrics // nil: a registry of its own without database pool metrics
	// ImportTimeout bounds the upload of an :import body in place of the server's read
	// timeout, which is too short for a large file; default 30 minutes.
	ImportTimeout time.Duration
	// SpoolDir is where :import bodies are copied while they are imported (unlinked, see
	// experiment.NewSpool); "" is os.TempDir().
	SpoolDir string
	// Renders bounds the figures drawn at once by the plot routes and report.html; nil is
	// NewRenderLimit(0, 0): GOMAXPROCS at once, waiting up to DefaultRenderWait.
	Renders *RenderLimit
}

// Server holds the dependencies of the handlers.
type Server struct {
	svc     *experiment.Service
	cfg     Config
	log     *slog.Logger
	metrics *Metrics
}

// New builds the Echo application with every route of API.md.
func New(svc *experiment.Service, cfg Config) *echo.Echo {
	if cfg.BodyLimit <= 0 {
		cfg.BodyLimit = 16 << 20
	}
	if cfg.ImportLimit <= 0 {
		cfg.ImportLimit = 1 << 30
	}
	if cfg.ImportTimeout <= 0 {
		cfg.ImportTimeout = DefaultImportTimeout
	}
	if cfg.Renders == nil {
		cfg.Renders = NewRenderLimit(0, 0)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	if cfg.Metrics == nil {
		cfg.Metrics = NewMetrics(nil)
	}
	s := &Server{svc: svc, cfg: cfg, log: cfg.Logger, metrics: cfg.Metrics}
	svc.ObserveGroupCommits(cfg.Metrics.GroupCommit)
	e.HTTPErrorHandler = s.handleError
	e.JSONSerializer = jsonSerializer{}
	e.Use(middleware.RequestIDWithConfig(middleware.RequestIDConfig{Generator: requestIDs()}))
	e.Use(s.logRequests, noSniff)
	e.Use(middleware.Recover())
	// Imports stream their body and have a limit of their own.
	isImport := func(c echo.Context) bool { return strings.HasSuffix(c.Path(), ":import") }
	e.Use(middleware.BodyLimitWithConfig(middleware.BodyLimitConfig{Skipper: isImport,
		Limit: strconv.FormatInt(cfg.BodyLimit, 10) + "B"}))
	importLimit := middleware.BodyLimit(strconv.FormatInt(cfg.ImportLimit, 10) + "B")

	e.GET("/healthz", func(c echo.Context) error { return c.JSON(http.StatusOK, map[string]string{"status": "ok"}) })
	e.GET("/readyz", s.readyz)
	e.GET("/openapi.yaml", s.openAPI)
	e.GET("/metrics", s.metrics.handler())

	v1 := e.Group("/v1", s.authenticate, checkParams)
	read := s.allow(experiment.PermRead)
	edit := s.allow(experiment.PermEdit)
	ingest := s.allow(experiment.PermIngest)
	readAssign := s.allow(experiment.PermAssignments)
	results := s.allow(experiment.PermResults)

	v1.GET("/outcomes", s.listOutcomes, read, query())
	v1.GET("/outcomes/:outcome", s.getOutcome, read, query())
	v1.POST("/outcomes", s.createOutcome, edit)

	v1.POST("/experiments", s.createExperiment, edit)
	v1.GET("/experiments", s.listExperiments, read, query("status"))
	v1.GET("/experiments/:key", s.getExperiment, read, query())
	v1.PATCH("/experiments/:key", s.patchExperiment, edit)
	v1.POST("/experiments/:key/start", s.startExperiment, edit)
	v1.POST("/experiments/:key/stop", s.stopExperiment, edit)
	v1.POST("/experiments/:key/decision", s.decideExperiment, edit)

	v1.POST("/experiments/:key/assignments", s.assign, ingest)
	v1.POST(`/experiments/:key/assignments\:batch`, s.assignBatch, ingest)
	v1.GET("/experiments/:key/assignments.csv", s.assignmentsCSV, readAssign, query())
	v1.GET("/experiments/:key/assignments/:customer", s.getAssignment, readAssign, query())

	v1.POST("/experiments/:key/responses", s.recordResponse, ingest)
	v1.POST(`/experiments/:key/responses\:batch`, s.recordResponses, ingest)
	v1.POST(`/experiments/:key/covariates\:batch`, s.recordCovariates, ingest)
	v1.POST(`/experiments/:key/responses\:import`, s.importCSV("responses"), ingest, importLimit)
	v1.POST(`/experiments/:key/assignments\:import`, s.importCSV("assignments"), ingest, importLimit)
	v1.POST(`/experiments/:key/covariates\:import`, s.importCSV("covariates"), ingest, importLimit)

	v1.GET("/experiments/:key/results", s.results, results, query("lang", "segment", "wave"))
	v1.GET("/experiments/:key/results.csv", s.resultsCSV, results, query("segment", "wave"), s.segmentedCSV)
	v1.GET("/experiments/:key/plots/:file", s.plotFile, results)
	v1.GET("/experiments/:key/plots/segments.png", s.segmentPlot("png"), results)
	v1.GET("/experiments/:key/plots/segments.svg", s.segmentPlot("svg"), results)
	v1.GET("/experiments/:key/drivers", s.drivers, results)
	v1.GET("/experiments/:key/persistence", s.persistence, results, query())
	v1.GET("/experiments/:key/plots/persistence.png", s.persistencePlot("png"), results)
	v1.GET("/experiments/:key/plots/persistence.svg", s.persistencePlot("svg"), results)
	v1.GET("/experiments/:key/plots/drivers.png", s.driversPlot("png"), results)
	v1.GET("/experiments/:key/plots/drivers.svg", s.driversPlot("svg"), results)
	v1.GET("/experiments/:key/report.html", s.reportHTML, results, query("lang"))
	v1.POST("/power", s.power, results)
	v1.GET("/experiments/:key/alert-rules", s.getAlertRules, read, query())
	v1.PUT("/experiments/:key/alert-rules", s.putAlertRules, edit)
	v1.GET("/alerts", s.listAlerts, read)
	v1.GET("/alerts/:id", s.getAlert, read)
	v1.POST("/alerts/:id/resolve", s.resolveAlert, edit)
	v1.GET("/audit", s.audit, s.allow(experiment.PermAdmin))
	v1.POST(`/customers\:batch`, s.recordAttributes, ingest)
	v1.DELETE("/customers/:customer", s.eraseCustomer, s.allow(experiment.PermAdmin))
	return e
}

// query refuses query parameters other than the allowed ones, naming each: a misspelt
// parameter must not silently give another answer than the caller asked for.
func query(allowed ...string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			var p experiment.Problems
			checkQuery(c, &p, allowed...)
			if err := p.Err("invalid query"); err != nil {
				return err
			}
			return next(c)
		}
	}
}

// limitQuery reads the query parameter limit, def when absent; a value that is not an
// integer is recorded in p. The range is the service's to check.
func limitQuery(c echo.Context, p *experiment.Problems, def int) int {
	v := c.QueryParam("limit")
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		p.Field("limit", "must be an integer")
	}
	return n
}

// checkQuery records every query parameter that is not allowed, for handlers that report
// them together with their own checks of the parameters.
func checkQuery(c echo.Context, p *experiment.Problems, allowed ...string) {
	for name := range c.QueryParams() {
		if slices.Contains(allowed, name) {
			continue
		}
		if len(allowed) == 0 {
			p.Field(name, "unknown query parameter; this route takes none")
		} else {
			p.Field(name, "unknown query parameter; use %s", strings.Join(allowed, ", "))
		}
	}
}

// param returns a path parameter, unescaped: Echo leaves it escaped when the request path
// needed its raw form (for example a customer id with an encoded '/').
func param(c echo.Context, name string) string {
	v := c.Param(name)
	if c.Request().URL.RawPath != "" {
		if u, err := url.PathUnescape(v); err == nil {
			return u
		}
	}
	return v
}

func (s *Server) readyz(c echo.Context) error {
	if s.cfg.Ready == nil {
		return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
	}
	ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
	defer cancel()
	if err := s.cfg.Ready.Ping(ctx); err != nil {
		return &experiment.Error{Code: experiment.Unavailable, Message: "database unreachable", Cause: err}
	}
	current, err := s.cfg.Ready.SchemaCurrent(ctx)
	if err != nil {
		return &experiment.Error{Code: experiment.Unavailable, Message: "database unreachable", Cause: err}
	}
	if !current {
		return experiment.Errorf(experiment.Unavailable, "database schema is not current; run krslab migrate")
	}
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

// logRequests writes one structured line per request: never the key, never a customer id.
// The line goes to the handler as a record made here, with typed attributes and without
// the caller's program counter (which would always be this function): it is written for
// every request.
func (s *Server) logRequests(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		if err != nil {
			c.Error(err)
		}
		status := c.Response().Status
		took := time.Since(start)
		s.metrics.observeRequest(c.Path(), c.Request().Method, status, took)
		level := slog.LevelInfo
		if status >= 500 {
			level = slog.LevelError
		}
		ctx := c.Request().Context()
		h := s.log.Handler()
		if !h.Enabled(ctx, level) {
			return nil
		}
		r := slog.NewRecord(time.Now(), level, "request", 0)
		r.AddAttrs(
			slog.String("request_id", c.Response().Header().Get(echo.HeaderXRequestID)),
			slog.String("method", c.Request().Method),
			slog.String("route", c.Path()),
			slog.Int("status", status),
			slog.Float64("latency_ms", float64(took.Microseconds())/1000),
		)
		if k, ok := authenticated(c); ok {
			r.AddAttrs(slog.String("key", k.Name))
		}
		if level == slog.LevelError {
			var de *experiment.Error
			if errors.As(err, &de) && de.Cause != nil {
				r.AddAttrs(slog.String("cause", de.Cause.Error()))
			} else if err != nil && !errors.As(err, &de) {
				r.AddAttrs(slog.String("cause", err.Error()))
			}
		}
		_ = h.Handle(ctx, r)
		return nil
	}
}
