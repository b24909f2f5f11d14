package api

import (
	"context"
	"net/http"
	"runtime"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/krslab/krslab/experiment"
	"github.com/krslab/krslab/stats/plot"
)

// DefaultRenderWait is how long a request waits for a render slot before it is answered 503.
// A waiting request holds no drawing memory, so the wait can be long enough for a team of
// readers on a small machine (16 at once on 2 cores are all served) while a flood that
// would wait longer still is turned away.
const DefaultRenderWait = 30 * time.Second

// renderRetryAfter is the Retry-After of a request that found every render slot taken, in
// seconds: about the time a few figures take to draw.
const renderRetryAfter = 2

// RenderLimit bounds the figures drawn at once, by every route that draws (the plots, and
// report.html, which draws its figures in one slot, or two side by side when a second is
// free). A figure keeps a
// core busy and holds up to some 35 MB while it is drawn (plot.MaxPixels), so with the
// pixel budget this bounds the memory of drawing whatever the requests: a burst of plot
// requests queues for a slot instead of drawing side by side. A request that finds no
// slot within the wait is answered 503 with Retry-After.
type RenderLimit struct {
	slots chan struct{}
	wait  time.Duration
}

// NewRenderLimit allows n renders at once (GOMAXPROCS when n <= 0); a request waits up to
// wait for a slot (DefaultRenderWait when wait <= 0).
func NewRenderLimit(n int, wait time.Duration) *RenderLimit {
	if n <= 0 {
		n = runtime.GOMAXPROCS(0)
	}
	if wait <= 0 {
		wait = DefaultRenderWait
	}
	return &RenderLimit{slots: make(chan struct{}, n), wait: wait}
}

// Acquire takes a slot, waiting at most the limit's wait: an Unavailable error when none
// came free, a Canceled one when ctx ended first. release gives the slot back.
func (l *RenderLimit) Acquire(ctx context.Context) (release func(), err error) {
	select {
	case l.slots <- struct{}{}:
		return func() { <-l.slots }, nil
	default:
	}
	t := time.NewTimer(l.wait)
	defer t.Stop()
	select {
	case l.slots <- struct{}{}:
		return func() { <-l.slots }, nil
	case <-t.C:
		return nil, experiment.Errorf(experiment.Unavailable, "the server is drawing as many figures as it can at once; retry in a few seconds")
	case <-ctx.Done():
		return nil, &experiment.Error{Code: experiment.Canceled, Message: "the client went away while the figure waited to be drawn", Cause: ctx.Err()}
	}
}

// TryAcquire takes a slot if one is free now, without waiting: ok says whether it did.
func (l *RenderLimit) TryAcquire() (release func(), ok bool) {
	select {
	case l.slots <- struct{}{}:
		return func() { <-l.slots }, true
	default:
		return nil, false
	}
}

// figure answers with the figure draw draws in a render slot (render), in format (plot.PNG
// or plot.SVG), shown inline under the file name file.
func (s *Server) figure(c echo.Context, format, file string, draw func() ([]byte, error)) error {
	img, err := s.render(c, draw)
	if err != nil {
		return err
	}
	ct := "image/png"
	if format == plot.SVG {
		ct = "image/svg+xml"
	}
	c.Response().Header().Set(echo.HeaderContentDisposition, `inline; filename="`+file+`"`)
	return c.Blob(http.StatusOK, ct, img)
}

// render runs draw in a render slot; a request that gets none is answered 503 with
// Retry-After.
func (s *Server) render(c echo.Context, draw func() ([]byte, error)) ([]byte, error) {
	return s.renderIn(c, 1, func(int) ([]byte, error) { return draw() })
}

// renderIn is render for a draw of several figures that may draw up to most of them at
// once: it waits for one slot as render does, takes up to most-1 more of those free now
// (none when the others are busy), and tells draw how many it holds.
func (s *Server) renderIn(c echo.Context, most int, draw func(slots int) ([]byte, error)) ([]byte, error) {
	release, err := s.cfg.Renders.Acquire(c.Request().Context())
	if err != nil {
		if experiment.ErrorCode(err) == experiment.Unavailable {
			c.Response().Header().Set("Retry-After", strconv.Itoa(renderRetryAfter))
		}
		return nil, err
	}
	defer release()
	slots := 1
	for ; slots < most; slots++ {
		more, ok := s.cfg.Renders.TryAcquire()
		if !ok {
			break
		}
		defer more()
	}
	return draw(slots)
}
