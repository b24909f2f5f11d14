// Package console is krslab's web console: server-rendered pages (html/template, embedded
// in the binary, with a little vendored JavaScript) where product owners read a
// recommendation and decide, analysts read and download results, and CX teams define
// experiments and outcomes. It works through the same experiment.Service as the JSON API
// and holds no business rule of its own: validation, permissions, labels and number
// formats come from the domain, the experiment package and stats/i18n.
//
// People sign in with an API key, or a one-time link made for one, and get a session
// cookie (HttpOnly, SameSite=Strict, Secure over TLS); the session's role is its key's.
// Every form carries a CSRF token derived from the session (or, before sign-in, a cookie of
// its own), and every POST checks it and the role again, whatever the page showed.
package console

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/krslab/krslab/api"
	"github.com/krslab/krslab/experiment"
	"github.com/krslab/krslab/stats/i18n"
)

//go:embed templates/*.tmpl
var templateFiles embed.FS

//go:embed static
var staticFiles embed.FS

// Config configures the console.
type Config struct {
	Logger *slog.Logger
	// Renders is the API's render limit, shared so that the console's figures and the
	// API's plots queue for the same slots; nil is api.NewRenderLimit(0, 0).
	Renders *api.RenderLimit
	// LinkBase is where sign-in links point (e.g. https://krslab.example.com); "" is the
	// request's own host.
	LinkBase string
}

// Console serves the pages.
type Console struct {
	svc   *experiment.Service
	cfg   Config
	log   *slog.Logger
	pages map[string]*template.Template
}

// Cookie names. The session cookie is the API's, which accepts it for reads (downloads).
const (
	sessionCookie = api.SessionCookie
	csrfCookie    = "krslab_csrf" // before sign-in: the sign-in forms' token
	langCookie    = "krslab_lang" // before sign-in: the chosen language
	csrfField     = "csrf"
)

// Mount adds the console's routes to the API's Echo application.
func Mount(e *echo.Echo, svc *experiment.Service, cfg Config) *Console {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Renders == nil {
		cfg.Renders = api.NewRenderLimit(0, 0)
	}
	c := &Console{svc: svc, cfg: cfg, log: cfg.Logger, pages: parsePages()}
	static, _ := fs.Sub(staticFiles, "static")
	e.GET("/static/*", echo.WrapHandler(http.StripPrefix("/static/", staticHandler(static))))
	e.GET("/", func(ec echo.Context) error { return ec.Redirect(http.StatusSeeOther, "/experiments") })

	anon := func(h handler) echo.HandlerFunc { return c.handle(h, access{}) }
	signedIn := func(h handler) echo.HandlerFunc { return c.handle(h, access{session: true}) }
	may := func(p experiment.Permission, h handler) echo.HandlerFunc {
		return c.handle(h, access{session: true, perm: &p})
	}
	e.GET("/sign-in", anon(c.signInPage))
	e.POST("/sign-in", anon(c.signIn))
	e.GET("/sign-in/link", anon(c.linkPage))
	e.POST("/sign-in/link", anon(c.signInWithLink))
	e.POST("/sign-out", signedIn(c.signOut))
	e.POST("/language", anon(c.setLanguage))

	e.GET("/experiments", may(experiment.PermRead, c.listPage))
	e.GET("/experiments/new", may(experiment.PermEdit, c.newExperimentPage))
	e.POST("/experiments/new", may(experiment.PermEdit, c.createExperiment))
	e.GET("/experiments/:key", may(experiment.PermRead, c.experimentPage))
	e.POST("/experiments/:key/start", may(experiment.PermEdit, c.start))
	e.POST("/experiments/:key/stop", may(experiment.PermEdit, c.stop))
	e.POST("/experiments/:key/decision", may(experiment.PermEdit, c.decide))
	e.POST("/alerts/:id/resolve", may(experiment.PermEdit, c.resolveAlert))
	e.GET("/outcomes", may(experiment.PermRead, c.outcomesPage))
	e.GET("/outcomes/new", may(experiment.PermEdit, c.newOutcomePage))
	e.POST("/outcomes/new", may(experiment.PermEdit, c.createOutcome))
	e.GET("/power", may(experiment.PermResults, c.powerPage))
	return c
}

// request is what a page handler knows about the request beside Echo's context.
type request struct {
	echo.Context
	Session *experiment.Session // nil before sign-in
	Lang    string
	CSRF    string
}

// Ctx is the request's context, naming the signed-in person as the actor of changes.
func (r *request) Ctx() context.Context { return r.Request().Context() }

type handler func(r *request) error

type access struct {
	session bool
	perm    *experiment.Permission
}

// handle wraps a page: it finds the session, the language and the CSRF token; refuses a
// POST whose token is missing or wrong and a page or form the key's role may not use; and
// shows errors as a page.
func (c *Console) handle(h handler, a access) echo.HandlerFunc {
	return func(ec echo.Context) error {
		r := &request{Context: ec, Lang: "en"}
		ec.Response().Header().Set("Cache-Control", "no-store")
		ec.Response().Header().Set("X-Frame-Options", "DENY")
		ec.Response().Header().Set("Content-Security-Policy",
			"default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		ec.Response().Header().Set("Referrer-Policy", "same-origin")
		if ck, err := ec.Cookie(sessionCookie); err == nil && ck.Value != "" {
			sess, err := c.svc.Session(ec.Request().Context(), ck.Value)
			switch {
			case err == nil:
				r.Session, r.Lang, r.CSRF = &sess, sess.Lang, csrfOf(ck.Value)
				req := ec.Request()
				ec.SetRequest(req.WithContext(experiment.WithActor(req.Context(), sess.Actor())))
			case experiment.ErrorCode(err) == experiment.Unauthorized:
				c.clearCookie(ec, sessionCookie) // signed out, expired or revoked
			default:
				return c.fail(r, err)
			}
		}
		if r.Session == nil {
			if ck, err := ec.Cookie(langCookie); err == nil && ck.Value == "nl" {
				r.Lang = "nl"
			}
			r.CSRF = c.anonCSRF(ec)
		}
		if l := ec.QueryParam("lang"); ec.Request().Method == http.MethodGet && (l == "en" || l == "nl") {
			r.Lang = l
		}
		if ec.Request().Method == http.MethodPost {
			if !sameOrigin(ec.Request()) || !validCSRF(ec.FormValue(csrfField), r.CSRF) {
				return c.fail(r, experiment.Errorf(experiment.Forbidden, "%s", r.T("refused.csrf")))
			}
		}
		if a.session && r.Session == nil {
			if ec.Request().Method == http.MethodGet {
				return ec.Redirect(http.StatusSeeOther, "/sign-in?next="+url.QueryEscape(ec.Request().URL.RequestURI()))
			}
			return c.fail(r, experiment.Errorf(experiment.Unauthorized, "%s", r.T("refused.signed_out")))
		}
		if a.perm != nil && !r.Session.Key.Role.May(*a.perm) {
			return c.fail(r, experiment.Errorf(experiment.Forbidden, "%s", r.T("refused.role", r.T("role."+string(r.Session.Key.Role)))))
		}
		if err := h(r); err != nil {
			return c.fail(r, err)
		}
		return nil
	}
}

// fail shows an error as a page with the status the API would answer.
func (c *Console) fail(r *request, err error) error {
	de, status := api.ErrorOf(err)
	if status >= 500 {
		c.log.Error("console", "path", r.Request().URL.Path, "err", err)
	}
	msg := r.say(de.Text())
	if de.Code == experiment.Internal {
		msg = r.T("error_internal")
	}
	return c.render(r, status, "error", map[string]any{"Status": status, "Message": msg, "Details": r.said(de.Details)})
}

// render executes a page template.
func (c *Console) render(r *request, status int, name string, data any) error {
	t, ok := c.pages[name]
	if !ok {
		return errors.New("console: no page " + name)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", view{request: r, Page: name, Data: data}); err != nil {
		return err
	}
	return r.HTMLBlob(status, buf.Bytes())
}

// view is what every template gets: the request (session, language, token) and the page's
// own data.
type view struct {
	*request
	Page string
	Data any
}

// T is a label or sentence of the console in the page's language.
func (r *request) T(id string, args ...any) string { return text(r.Lang, id, args...) }

// say is what the service said (a refusal's message or a detail's) in the page's language.
func (r *request) say(t experiment.Text) string {
	format, args := t.Parts()
	return i18n.Problem(r.Lang, format, args...)
}

// said are details with their messages in the page's language.
func (r *request) said(details []experiment.Detail) []experiment.Detail {
	out := make([]experiment.Detail, len(details))
	for i, d := range details {
		out[i] = experiment.Detail{Field: d.Field, Row: d.Row, Message: r.say(d.Text())}
	}
	return out
}

// May reports whether the signed-in key may use a permission, for what a page shows; the
// routes check again.
func (r *request) May(p string) bool {
	if r.Session == nil {
		return false
	}
	return r.Session.Key.Role.May(map[string]experiment.Permission{
		"read": experiment.PermRead, "edit": experiment.PermEdit, "results": experiment.PermResults, "admin": experiment.PermAdmin,
	}[p])
}

// Other is the other language, for the switch.
func (r *request) Other() string {
	if r.Lang == "nl" {
		return "en"
	}
	return "nl"
}

// Path is the request's path and query, for forms that return to where they were sent.
func (r *request) Path() string { return r.Request().URL.RequestURI() }

// secure reports whether the browser reached us over TLS, directly or through a proxy.
func secure(req *http.Request) bool {
	return req.TLS != nil || strings.EqualFold(req.Header.Get("X-Forwarded-Proto"), "https")
}

func (c *Console) setCookie(ec echo.Context, name, value string, maxAge time.Duration) {
	ck := &http.Cookie{Name: name, Value: value, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: secure(ec.Request())}
	if maxAge > 0 {
		ck.MaxAge = int(maxAge.Seconds())
	}
	ec.SetCookie(ck)
}

func (c *Console) clearCookie(ec echo.Context, name string) {
	ec.SetCookie(&http.Cookie{Name: name, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: secure(ec.Request())})
}

// csrfOf derives a session's form token from its secret token: the server keeps nothing
// more, and a page of another site can read neither.
func csrfOf(sessionToken string) string {
	h := sha256.Sum256([]byte("krslab console form\x00" + sessionToken))
	return base64.RawURLEncoding.EncodeToString(h[:])
}

// anonCSRF is the token of the sign-in forms: a random cookie the form repeats.
func (c *Console) anonCSRF(ec echo.Context) string {
	if ck, err := ec.Cookie(csrfCookie); err == nil && len(ck.Value) >= 32 {
		return ck.Value
	}
	var b [32]byte
	_, _ = rand.Read(b[:])
	v := base64.RawURLEncoding.EncodeToString(b[:])
	c.setCookie(ec, csrfCookie, v, 0)
	return v
}

func validCSRF(got, want string) bool {
	return got != "" && want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// sameOrigin refuses a POST whose Origin (sent by every current browser on POST) names
// another site; SameSite=Strict and the token already stop those, this says so early.
func sameOrigin(req *http.Request) bool {
	o := req.Header.Get("Origin")
	if o == "" || o == "null" {
		return o == ""
	}
	u, err := url.Parse(o)
	return err == nil && strings.EqualFold(u.Host, req.Host)
}

// safeNext keeps a post-sign-in redirect on this console.
func safeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.Contains(next, "\\") {
		return "/experiments"
	}
	return next
}

func staticHandler(root fs.FS) http.Handler {
	files := http.FileServer(http.FS(root))
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		files.ServeHTTP(w, req)
	})
}
