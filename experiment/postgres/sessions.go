package postgres

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/krslab/krslab/experiment"
)

// Console sessions and one-time sign-in links (migration 00015), by token hash.

var _ experiment.SessionStore = (*Store)(nil)

type sessionRow struct {
	ID        int64        `db:"id"`
	KeyID     int64        `db:"key_id"`
	Person    string       `db:"person"`
	Lang      string       `db:"lang"`
	CreatedAt time.Time    `db:"created_at"`
	SeenAt    time.Time    `db:"seen_at"`
	EndedAt   sql.NullTime `db:"ended_at"`
}

// CreateSession stores a session and its audit entry.
func (s *Store) CreateSession(ctx context.Context, sess *experiment.Session, hash [32]byte, audit experiment.AuditEntry) error {
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		if err := tx.GetContext(ctx, &sess.ID, `INSERT INTO console_sessions (token_hash, key_id, person, lang, created_at, seen_at)
			VALUES ($1, $2, $3, $4, $5, $5) RETURNING id`, hash[:], sess.KeyID, sess.Person, sess.Lang, sess.CreatedAt); err != nil {
			return err
		}
		return writeAudit(ctx, tx, audit)
	})
}

// SessionByToken returns the session of a token hash.
func (s *Store) SessionByToken(ctx context.Context, hash [32]byte) (experiment.Session, error) {
	var r sessionRow
	err := s.db.GetContext(ctx, &r, `SELECT id, key_id, person, lang, created_at, seen_at, ended_at
		FROM console_sessions WHERE token_hash = $1`, hash[:])
	if errors.Is(err, sql.ErrNoRows) {
		return experiment.Session{}, experiment.Errorf(experiment.NotFound, "no such session")
	}
	if err != nil {
		return experiment.Session{}, mapErr(err)
	}
	return experiment.Session{ID: r.ID, KeyID: r.KeyID, Person: r.Person, Lang: r.Lang,
		CreatedAt: r.CreatedAt.UTC(), SeenAt: r.SeenAt.UTC(), EndedAt: nullTime(r.EndedAt)}, nil
}

// TouchSession moves seen_at forward (never back) and sets the language when given.
func (s *Store) TouchSession(ctx context.Context, id int64, at time.Time, lang string) error {
	_, err := s.db.ExecContext(ctx, `UPDATE console_sessions
		SET seen_at = greatest(seen_at, $2), lang = coalesce(nullif($3, ''), lang)
		WHERE id = $1`, id, at, lang)
	return mapErr(err)
}

// EndSession ends a session; ending an ended one changes nothing.
func (s *Store) EndSession(ctx context.Context, id int64, at time.Time) error {
	_, err := s.db.ExecContext(ctx, `UPDATE console_sessions SET ended_at = coalesce(ended_at, $2) WHERE id = $1`, id, at)
	return mapErr(err)
}

// CreateSignInLink stores a one-time link and its audit entry.
func (s *Store) CreateSignInLink(ctx context.Context, hash [32]byte, keyID int64, created, expires time.Time, audit experiment.AuditEntry) error {
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO sign_in_links (token_hash, key_id, created_at, expires_at)
			VALUES ($1, $2, $3, $4)`, hash[:], keyID, created, expires); err != nil {
			return err
		}
		return writeAudit(ctx, tx, audit)
	})
}

// usableLink is the condition on sign_in_links l (token hash $1, now $2) of a link that can
// still sign in: unused, not expired, and of a key not revoked (so that such a link is not
// used up for nothing).
const usableLink = `l.token_hash = $1 AND l.used_at IS NULL AND l.expires_at > $2
	AND EXISTS (SELECT 1 FROM api_keys k WHERE k.id = l.key_id AND k.revoked_at IS NULL)`

// SignInLinkUsable says whether UseSignInLink at at would find the link.
func (s *Store) SignInLinkUsable(ctx context.Context, hash [32]byte, at time.Time) (bool, error) {
	var ok bool
	err := s.db.GetContext(ctx, &ok, `SELECT EXISTS (SELECT 1 FROM sign_in_links l WHERE `+usableLink+`)`, hash[:], at)
	return ok, mapErr(err)
}

// UseSignInLink uses a link up and returns its key's id.
func (s *Store) UseSignInLink(ctx context.Context, hash [32]byte, at time.Time) (int64, error) {
	var id int64
	err := s.db.GetContext(ctx, &id, `UPDATE sign_in_links l SET used_at = $2 WHERE `+usableLink+` RETURNING key_id`, hash[:], at)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, experiment.Errorf(experiment.NotFound, "no such sign-in link")
	}
	return id, mapErr(err)
}
