package api

import (
	"github.com/labstack/echo/v4"

	"github.com/krslab/krslab/api/report"
	"github.com/krslab/krslab/experiment"
	"github.com/krslab/krslab/stats/i18n"
	"github.com/krslab/krslab/stats/plot"
)

// waveTimelinePlot serves plots/timeline.png|svg?wave=KEY (file): the cumulative primary
// comparison of one survey wave day by day (Service.WaveTimeline), titled with the wave.
func (s *Server) waveTimelinePlot(c echo.Context, key, wave, file, format string, opt plot.Options, lang string) error {
	res, points, err := s.svc.WaveTimeline(c.Request().Context(), key, wave)
	if err != nil {
		return err
	}
	in := report.TimelineOf(res, points, lang)
	in.Title = ofWave(in.Title, res.Wave, lang)
	return s.figure(c, format, key+`-`+file, func() ([]byte, error) { return plot.Timeline(in, opt) })
}

// ofWave is a figure's title when it shows the wave w: the title, then the wave's name; w
// nil (every answer) leaves it as it is.
func ofWave(title string, w *experiment.Wave, lang string) string {
	if w == nil {
		return title
	}
	return title + ", " + waveName(*w, lang)
}

// waveName is how a figure names a survey wave in lang: its label with the days it covers,
// as the persistence figure labels its waves ("After a month (days 28–35)").
func waveName(w experiment.Wave, lang string) string {
	return w.Name(lang) + " (" + i18n.T(lang, "plot.persistence.days", w.FromDay, w.ToDay) + ")"
}
