package api

import (
	"bytes"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/krslab/krslab/api/report"
	"github.com/krslab/krslab/experiment"
	"github.com/krslab/krslab/stats/plot"
)

// resultsCSV serves one row per (outcome, arm) with the numbers of /results.
func (s *Server) resultsCSV(c echo.Context) error {
	key, wave := param(c, "key"), c.QueryParam("wave")
	res, err := s.svc.WaveResults(c.Request().Context(), key, wave)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := report.WriteCSV(&buf, res); err != nil {
		return err
	}
	name := key
	if wave != "" {
		name += "-" + wave
	}
	c.Response().Header().Set(echo.HeaderContentDisposition, `attachment; filename="`+name+`-results.csv"`)
	return c.Blob(http.StatusOK, "text/csv; charset=utf-8", buf.Bytes())
}

// plotFile serves plots/{effects|timeline|<outcome>}.{png|svg}.
func (s *Server) plotFile(c echo.Context) error {
	file := param(c, "file")
	name, format, ok := strings.Cut(file, ".")
	if !ok || (format != plot.PNG && format != plot.SVG) {
		return &experiment.Error{Code: experiment.NotFound, Message: "no such plot",
			Details: []experiment.Detail{{Field: "file", Message: "use effects, timeline or an outcome key, with .png or .svg"}}}
	}
	opt, lang, err := plotOptions(c, format)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	key, wave := param(c, "key"), c.QueryParam("wave")
	if name == "timeline" && wave != "" {
		return s.waveTimelinePlot(c, key, wave, file, format, opt, lang)
	}
	var res experiment.Results
	var points []experiment.TimelinePoint
	if name == "timeline" {
		// The timeline's statistics are read beside the analysis, not after it.
		res, points, err = s.svc.ResultsWithTimeline(ctx, key)
	} else {
		res, err = s.svc.WaveResults(ctx, key, wave)
	}
	if err != nil {
		return err
	}
	var draw func() ([]byte, error)
	switch name {
	case "effects":
		in := report.EffectsOf(res, lang)
		in.Title = ofWave(in.Title, res.Wave, lang)
		draw = func() ([]byte, error) { return plot.Effects(in, opt) }
	case "timeline":
		in := report.TimelineOf(res, points, lang)
		draw = func() ([]byte, error) { return plot.Timeline(in, opt) }
	default:
		in, err := report.DistributionOf(res, name, lang)
		if err != nil {
			return err
		}
		in.Title = ofWave(in.Title, res.Wave, lang)
		draw = func() ([]byte, error) { return plot.Distribution(in, opt) }
	}
	return s.figure(c, format, key+`-`+file, draw)
}

// plotOptionsBeside is plotOptions for a figure that takes parameters of its own (own),
// which are left out of the options' check.
func plotOptionsBeside(c echo.Context, format string, own ...string) (plot.Options, string, error) {
	vals := c.Request().URL.Query()
	for _, name := range own {
		vals.Del(name)
	}
	req := c.Request().Clone(c.Request().Context())
	req.URL.RawQuery = vals.Encode()
	return plotOptions(c.Echo().NewContext(req, nil), format)
}

// plotOptions reads width, height, scale and lang, reporting every bad one.
func plotOptions(c echo.Context, format string) (plot.Options, string, error) {
	opt := plot.Options{Format: format, Width: plot.DefaultWidth, Height: plot.DefaultHeight, Lang: plot.English}
	var p experiment.Problems
	checkQuery(c, &p, "width", "height", "scale", "lang", "wave")
	for _, q := range []struct {
		name string
		dst  *int
	}{{"width", &opt.Width}, {"height", &opt.Height}, {"scale", &opt.Scale}} {
		if v := c.QueryParam(q.name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				p.Field(q.name, "must be an integer")
				continue
			}
			*q.dst = n
		}
	}
	if l := c.QueryParam("lang"); l != "" {
		opt.Lang = l
	}
	if p.Len() == 0 {
		var oe plot.OptionsError
		if err := opt.Validate(); errors.As(err, &oe) {
			for _, fe := range oe {
				p.Field(fe.Field, "%s", fe.Message)
			}
		} else if err != nil {
			return opt, "", err
		}
	}
	return opt, opt.Lang, p.Err("invalid plot options")
}

// reportHTML serves the self-contained report a product owner reads.
func (s *Server) reportHTML(c echo.Context) error {
	lang, err := langParam(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	key := param(c, "key")
	res, points, err := s.svc.ResultsWithTimeline(ctx, key)
	if err != nil {
		return err
	}
	var persistence *experiment.PersistenceResults
	if len(res.Experiment.Waves) > 0 {
		p, err := s.svc.Persistence(ctx, key)
		if err != nil {
			return err
		}
		persistence = &p
	}
	// Two figures at a time when a second slot is free: the page's dozen figures are most
	// of its time after the analysis.
	page, err := s.renderIn(c, 2, func(slots int) ([]byte, error) {
		var buf bytes.Buffer
		err := report.HTMLInSlots(&buf, res, points, persistence, lang, slots)
		return buf.Bytes(), err
	})
	if err != nil {
		return err
	}
	return c.HTMLBlob(http.StatusOK, page)
}

// langParam reads ?lang= (en, the default, or nl).
func langParam(c echo.Context) (string, error) {
	switch lang := c.QueryParam("lang"); lang {
	case "":
		return plot.English, nil
	case plot.English, plot.Dutch:
		return lang, nil
	}
	return "", &experiment.Error{Code: experiment.Invalid, Message: "invalid query",
		Details: []experiment.Detail{{Field: "lang", Message: "must be en or nl"}}}
}
