package console

import (
	"errors"
	"net/http"
	"time"

	"github.com/krslab/krslab/experiment"
)

type signInData struct {
	Next, Name, Token string
	Problem           *problem
	// DeadLink: the link cannot sign in any more, so its page asks for no name.
	DeadLink bool
}

func (c *Console) signInPage(r *request) error {
	next := safeNext(r.QueryParam("next"))
	if r.Session != nil {
		return r.Redirect(http.StatusSeeOther, next)
	}
	return c.render(r, http.StatusOK, "signin", signInData{Next: next})
}

func (c *Console) signIn(r *request) error {
	d := signInData{Next: safeNext(r.FormValue("next")), Name: r.FormValue("name")}
	token, sess, err := c.svc.SignIn(r.Ctx(), r.FormValue("key"), d.Name, r.Lang)
	if err != nil {
		return c.refuse(r, "signin", &d, &d.Problem, err)
	}
	return c.signedIn(r, token, sess, d.Next)
}

// linkPage asks the person's name for a one-time link; only the POST uses the link up, so
// that a link preview (a chat app fetching it) signs nobody in.
func (c *Console) linkPage(r *request) error {
	if r.Session != nil {
		return r.Redirect(http.StatusSeeOther, "/experiments")
	}
	d := signInData{Token: r.QueryParam("token"), Next: "/experiments"}
	if err := c.svc.CheckSignInLink(r.Ctx(), d.Token); err != nil {
		return c.refuseLink(r, &d, err)
	}
	return c.render(r, http.StatusOK, "link", d)
}

// refuseLink shows the link's page with the service's refusal: a link that cannot sign in
// any more is said to be so, in the reader's language, and the page asks for no name.
func (c *Console) refuseLink(r *request, d *signInData, err error) error {
	if !errors.Is(err, experiment.ErrDeadLink) {
		return c.refuse(r, "link", d, &d.Problem, err)
	}
	d.DeadLink, d.Problem = true, &problem{Message: r.T("link.dead"), Fields: map[string]string{}}
	return c.render(r, http.StatusUnauthorized, "link", d)
}

func (c *Console) signInWithLink(r *request) error {
	d := signInData{Token: r.FormValue("token"), Name: r.FormValue("name"), Next: "/experiments"}
	token, sess, err := c.svc.SignInWithLink(r.Ctx(), d.Token, d.Name, r.Lang)
	if err != nil {
		return c.refuseLink(r, &d, err)
	}
	return c.signedIn(r, token, sess, d.Next)
}

func (c *Console) signedIn(r *request, token string, sess experiment.Session, next string) error {
	c.setCookie(r.Context, sessionCookie, token, 0)
	c.clearCookie(r.Context, csrfCookie)
	c.log.Info("console sign-in", "key", sess.Key.Name, "role", sess.Key.Role)
	return r.Redirect(http.StatusSeeOther, next)
}

func (c *Console) signOut(r *request) error {
	if err := c.svc.SignOut(r.Ctx(), *r.Session); err != nil {
		return err
	}
	c.clearCookie(r.Context, sessionCookie)
	return r.Redirect(http.StatusSeeOther, "/sign-in")
}

func (c *Console) setLanguage(r *request) error {
	lang := r.FormValue("lang")
	if lang != "nl" {
		lang = "en"
	}
	if r.Session != nil {
		if err := c.svc.SetSessionLanguage(r.Ctx(), *r.Session, lang); err != nil {
			return err
		}
	} else {
		c.setCookie(r.Context, langCookie, lang, 365*24*time.Hour)
	}
	return r.Redirect(http.StatusSeeOther, safeNext(r.FormValue("next")))
}
