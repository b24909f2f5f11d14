package experiment

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Session is a person signed in to the console. Its role is its key's: the key is looked up
// in the key ring on every use, so a revoked key ends its sessions within the ring's MaxAge.
type Session struct {
	ID        int64
	KeyID     int64
	Key       APIKey // filled on sign-in and on every lookup
	Person    string // the display name asked at sign-in
	Lang      string // "en" or "nl", remembered for the session
	CreatedAt time.Time
	SeenAt    time.Time
	EndedAt   *time.Time
}

// Actor is how the audit log and a decision's decided_by name the person: their display
// name beside the key's name.
func (s Session) Actor() string { return s.Person + " (" + s.Key.Name + ")" }

// SessionStore keeps console sessions and one-time sign-in links, by the SHA-256 of their
// tokens only.
type SessionStore interface {
	// CreateSession stores a session with its audit entry and sets its ID.
	CreateSession(ctx context.Context, s *Session, hash [32]byte, audit AuditEntry) error
	// SessionByToken returns the session whose token hashes to hash (ended ones too); not
	// found when there is none.
	SessionByToken(ctx context.Context, hash [32]byte) (Session, error)
	// TouchSession moves seen_at (the idle clock) and, when lang is not "", the language.
	TouchSession(ctx context.Context, id int64, at time.Time, lang string) error
	// EndSession ends a session (sign out).
	EndSession(ctx context.Context, id int64, at time.Time) error
	// CreateSignInLink stores a one-time link for a key.
	CreateSignInLink(ctx context.Context, hash [32]byte, keyID int64, created, expires time.Time, audit AuditEntry) error
	// UseSignInLink marks the link used and returns its key's id, in one statement, so a
	// link signs in once however many browsers present it at the same moment; not found
	// when the link is unknown, used or expired, or its key revoked.
	UseSignInLink(ctx context.Context, hash [32]byte, at time.Time) (int64, error)
	// SignInLinkUsable says whether UseSignInLink at would find the link, writing nothing.
	SignInLinkUsable(ctx context.Context, hash [32]byte, at time.Time) (bool, error)
}

// Sessions defaults.
const (
	DefaultSessionIdle = 8 * time.Hour
	DefaultLinkTTL     = 24 * time.Hour
	// sessionTouch is how stale seen_at may get before a request moves it: the idle expiry
	// needs no more precision than that, and most page views then write nothing.
	sessionTouch = time.Minute
	// SessionPrefix and LinkPrefix start the tokens, so that a leaked one is recognisable.
	SessionPrefix = "krss_"
	LinkPrefix    = "krsl_"
	maxPersonName = 100
)

func (s *Service) sessionStore() (SessionStore, error) {
	ss, ok := s.Store.(SessionStore)
	if !ok {
		return nil, &Error{Code: Internal, Message: "internal error", Cause: fmt.Errorf("store %T keeps no sessions", s.Store)}
	}
	return ss, nil
}

func (s *Service) sessionIdle() time.Duration {
	if s.SessionIdle > 0 {
		return s.SessionIdle
	}
	return DefaultSessionIdle
}

// SignIn starts a session for the holder of an API key. It returns the session token, which
// only the browser keeps.
func (s *Service) SignIn(ctx context.Context, secret, person, lang string) (string, Session, error) {
	person, err := checkPerson(person, strings.TrimSpace(secret) == "")
	if err != nil {
		return "", Session{}, err
	}
	k, err := s.Keys.Authenticate(ctx, strings.TrimSpace(secret))
	if err != nil {
		return "", Session{}, &Error{Code: Unauthorized, Message: "unknown or revoked API key",
			Details: []Detail{{Field: "key", Message: "is not an active API key"}}}
	}
	return s.startSession(ctx, k, person, lang, "key")
}

// ErrDeadLink refuses a sign-in link that is unknown, used or expired, or whose key was
// revoked. The console says so in the reader's language (console.link.dead).
var ErrDeadLink = Errorf(Unauthorized, "this sign-in link is unknown, used, expired or of a revoked key; ask for a new one or sign in with an API key")

// CheckSignInLink refuses, as SignInWithLink would, a link that cannot sign in any more,
// without using it up: the link's page says so before anyone types a name.
func (s *Service) CheckSignInLink(ctx context.Context, link string) error {
	ss, err := s.sessionStore()
	if err != nil {
		return err
	}
	ok, err := ss.SignInLinkUsable(ctx, HashSecret(link), s.Now())
	if err != nil {
		return err
	}
	if !ok {
		return ErrDeadLink
	}
	return nil
}

// SignInWithLink starts a session with a one-time link made by CreateSignInLink; the link
// is used up, whether or not the person then signs out.
func (s *Service) SignInWithLink(ctx context.Context, link, person, lang string) (string, Session, error) {
	person, err := checkPerson(person, false)
	if err != nil {
		return "", Session{}, err
	}
	ss, err := s.sessionStore()
	if err != nil {
		return "", Session{}, err
	}
	id, err := ss.UseSignInLink(ctx, HashSecret(link), s.Now())
	if ErrorCode(err) == NotFound {
		return "", Session{}, ErrDeadLink
	}
	if err != nil {
		return "", Session{}, err
	}
	k, err := s.Keys.ByID(ctx, id)
	if err != nil {
		return "", Session{}, err
	}
	return s.startSession(ctx, k, person, lang, "link")
}

func (s *Service) startSession(ctx context.Context, k APIKey, person, lang, how string) (string, Session, error) {
	if k.Role == RoleIngest {
		return "", Session{}, &Error{Code: Forbidden, Message: "an ingest key cannot sign in to the console",
			Details: []Detail{{Field: "key", Message: "has role ingest; use an admin, editor or analyst key"}}}
	}
	ss, err := s.sessionStore()
	if err != nil {
		return "", Session{}, err
	}
	token, hash, err := newToken(SessionPrefix)
	if err != nil {
		return "", Session{}, err
	}
	now := s.Now()
	sess := Session{KeyID: k.ID, Key: k, Person: person, Lang: normalLang(lang), CreatedAt: now, SeenAt: now}
	audit := AuditEntry{At: now, Actor: sess.Actor(), Action: "session.sign_in", Subject: k.Name,
		Diff: map[string]any{"person": person, "key": k.Name, "role": k.Role, "with": how}}
	if err := ss.CreateSession(ctx, &sess, hash, audit); err != nil {
		return "", Session{}, err
	}
	return token, sess, nil
}

// Session returns the live session of a token: unknown, ended, idle for longer than
// SessionIdle, or of a revoked key is unauthorized.
func (s *Service) Session(ctx context.Context, token string) (Session, error) {
	ss, err := s.sessionStore()
	if err != nil {
		return Session{}, err
	}
	if !strings.HasPrefix(token, SessionPrefix) {
		return Session{}, Errorf(Unauthorized, "not signed in")
	}
	sess, err := ss.SessionByToken(ctx, HashSecret(token))
	if ErrorCode(err) == NotFound {
		return Session{}, Errorf(Unauthorized, "not signed in")
	}
	if err != nil {
		return Session{}, err
	}
	now := s.Now()
	if sess.EndedAt != nil {
		return Session{}, Errorf(Unauthorized, "signed out")
	}
	if now.Sub(sess.SeenAt) > s.sessionIdle() {
		return Session{}, Errorf(Unauthorized, "the session expired after %s without use; sign in again", s.sessionIdle())
	}
	if sess.Key, err = s.Keys.ByID(ctx, sess.KeyID); err != nil {
		return Session{}, err
	}
	if now.Sub(sess.SeenAt) > sessionTouch {
		if err := ss.TouchSession(ctx, sess.ID, now, ""); err != nil {
			return Session{}, err
		}
		sess.SeenAt = now
	}
	return sess, nil
}

// SetSessionLanguage remembers the console's language for the session.
func (s *Service) SetSessionLanguage(ctx context.Context, sess Session, lang string) error {
	ss, err := s.sessionStore()
	if err != nil {
		return err
	}
	return ss.TouchSession(ctx, sess.ID, s.Now(), normalLang(lang))
}

// SignOut ends the session.
func (s *Service) SignOut(ctx context.Context, sess Session) error {
	ss, err := s.sessionStore()
	if err != nil {
		return err
	}
	return ss.EndSession(ctx, sess.ID, s.Now())
}

// CreateSignInLink makes a one-time sign-in link token for a key, valid for ttl (default
// DefaultLinkTTL).
func (s *Service) CreateSignInLink(ctx context.Context, k APIKey, ttl time.Duration) (string, error) {
	if ttl <= 0 {
		ttl = DefaultLinkTTL
	}
	if k.Role == RoleIngest {
		return "", Errorf(Invalid, "an ingest key cannot sign in to the console; make the link for an admin, editor or analyst key")
	}
	ss, err := s.sessionStore()
	if err != nil {
		return "", err
	}
	token, hash, err := newToken(LinkPrefix)
	if err != nil {
		return "", err
	}
	now := s.Now()
	audit := s.audit(ctx, "session.link", 0, k.Name, map[string]any{"key": k.Name, "expires_at": now.Add(ttl)})
	if err := ss.CreateSignInLink(ctx, hash, k.ID, now, now.Add(ttl), audit); err != nil {
		return "", err
	}
	return token, nil
}

// checkPerson validates the display name asked at sign-in.
func checkPerson(person string, keyMissing bool) (string, error) {
	var p Problems
	if keyMissing {
		p.Field("key", "is required")
	}
	person = strings.TrimSpace(person)
	switch {
	case person == "":
		p.Field("name", "is required: the audit log and decisions record who you are")
	case utf8.RuneCountInString(person) > maxPersonName:
		p.Field("name", "must be at most %d characters", maxPersonName)
	default:
		if msg := CheckText(person, 4*maxPersonName); !msg.IsZero() {
			p.Field("name", "%s", msg)
		} else if strings.ContainsFunc(person, func(r rune) bool { return r < ' ' || r == 0x7f }) {
			p.Field("name", "must not contain control characters")
		}
	}
	return person, p.Err("invalid sign-in")
}

func normalLang(lang string) string {
	if lang == "nl" {
		return "nl"
	}
	return "en"
}

// newToken returns a fresh random token with prefix, and its hash.
func newToken(prefix string) (string, [32]byte, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", [32]byte{}, err
	}
	t := prefix + base64.RawURLEncoding.EncodeToString(b[:])
	return t, HashSecret(t), nil
}
