package api

import (
	"database/sql"
	"strconv"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are the Prometheus metrics of one API server.
type Metrics struct {
	registry    *prometheus.Registry
	requests    *prometheus.HistogramVec
	assignments *prometheus.CounterVec
	responses   *prometheus.CounterVec
	results     prometheus.Histogram
	groups      prometheus.Histogram
	// Each request observes its duration and each assignment counts, so their series are
	// looked up once each (requestSeries → prometheus.Observer, assignedSeries →
	// prometheus.Counter) rather than by their label values, hashed, every time.
	requestSeries, assignedSeries sync.Map
}

type requestSeries struct {
	route, method string
	status        int
}

type assignedSeries struct {
	experiment string
	new        bool
}

// NewMetrics registers the API's metrics, the Go runtime's and, when db is not nil, the
// connection pool's on a fresh registry.
func NewMetrics(db *sql.DB) *Metrics {
	m := &Metrics{registry: prometheus.NewRegistry()}
	m.requests = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "http_request_duration_seconds",
		Help:    "Duration of HTTP requests by route, method and status.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
	}, []string{"route", "method", "status"})
	m.assignments = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "krslab_assignments_total",
		Help: "Assignments answered, by experiment and whether the customer was new.",
	}, []string{"experiment", "new"})
	m.responses = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "krslab_responses_total",
		Help: "Survey responses accepted, by experiment and outcome (created or replayed).",
	}, []string{"experiment", "status"})
	m.results = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "krslab_results_duration_seconds",
		Help:    "Time to compute an experiment's results.",
		Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
	})
	m.groups = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "krslab_assignment_group_commit_size",
		Help:    "New assignments stored together in one group commit.",
		Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1000},
	})
	m.registry.MustRegister(m.requests, m.assignments, m.responses, m.results, m.groups,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if db != nil {
		m.registry.MustRegister(collectors.NewDBStatsCollector(db, "krslab"))
	}
	return m
}

// GroupCommit records the size of one group commit of new assignments.
func (m *Metrics) GroupCommit(size int) { m.groups.Observe(float64(size)) }

// Register adds another collector (for example the group commit's batch sizes).
func (m *Metrics) Register(c prometheus.Collector) { m.registry.MustRegister(c) }

func (m *Metrics) handler() echo.HandlerFunc {
	return echo.WrapHandler(promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{}))
}

func (m *Metrics) observeRequest(route, method string, status int, took time.Duration) {
	if route == "" {
		route = "unmatched"
	}
	k := requestSeries{route, method, status}
	o, ok := m.requestSeries.Load(k)
	if !ok {
		o, _ = m.requestSeries.LoadOrStore(k, m.requests.WithLabelValues(route, method, strconv.Itoa(status)))
	}
	o.(prometheus.Observer).Observe(took.Seconds())
}

func (m *Metrics) assigned(experiment string, isNew bool) {
	k := assignedSeries{experiment, isNew}
	c, ok := m.assignedSeries.Load(k)
	if !ok {
		c, _ = m.assignedSeries.LoadOrStore(k, m.assignments.WithLabelValues(experiment, strconv.FormatBool(isNew)))
	}
	c.(prometheus.Counter).Inc()
}

func (m *Metrics) recorded(experiment string, created, replayed int) {
	if created > 0 {
		m.responses.WithLabelValues(experiment, "created").Add(float64(created))
	}
	if replayed > 0 {
		m.responses.WithLabelValues(experiment, "replayed").Add(float64(replayed))
	}
}
