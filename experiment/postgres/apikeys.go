package postgres

import (
	"context"
	"database/sql"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/krslab/krslab/experiment"
)

type apiKeyRow struct {
	ID        int64        `db:"id"`
	Name      string       `db:"name"`
	Role      string       `db:"role"`
	Hash      []byte       `db:"hash"`
	Prefix    string       `db:"prefix"`
	CreatedAt time.Time    `db:"created_at"`
	RevokedAt sql.NullTime `db:"revoked_at"`
}

func (r apiKeyRow) domain() experiment.APIKey {
	k := experiment.APIKey{ID: r.ID, Name: r.Name, Role: experiment.Role(r.Role), Prefix: r.Prefix,
		CreatedAt: r.CreatedAt.UTC(), RevokedAt: nullTime(r.RevokedAt)}
	copy(k.Hash[:], r.Hash)
	return k
}

// CreateAPIKey stores a key's hash and sets its ID.
func (s *Store) CreateAPIKey(ctx context.Context, k *experiment.APIKey, audit experiment.AuditEntry) error {
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		if err := tx.GetContext(ctx, &k.ID, `INSERT INTO api_keys (name, role, hash, prefix, created_at)
			VALUES ($1, $2, $3, $4, $5) RETURNING id`, k.Name, k.Role, k.Hash[:], k.Prefix, k.CreatedAt); err != nil {
			return err
		}
		return writeAudit(ctx, tx, audit)
	})
	if experiment.ErrorCode(err) == experiment.Conflict {
		return experiment.Errorf(experiment.Conflict, "an API key named %q exists", k.Name)
	}
	return err
}

// APIKeys lists every key (hashes only), oldest first.
func (s *Store) APIKeys(ctx context.Context) ([]experiment.APIKey, error) {
	var rows []apiKeyRow
	if err := s.db.SelectContext(ctx, &rows, `SELECT id, name, role, hash, prefix, created_at, revoked_at
		FROM api_keys ORDER BY id`); err != nil {
		return nil, mapErr(err)
	}
	out := make([]experiment.APIKey, len(rows))
	for i, r := range rows {
		out[i] = r.domain()
	}
	return out, nil
}

// RevokeAPIKey revokes the key with the given name.
func (s *Store) RevokeAPIKey(ctx context.Context, name string, audit experiment.AuditEntry) error {
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE api_keys SET revoked_at = now() WHERE name = $1 AND revoked_at IS NULL`, name)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return experiment.Errorf(experiment.NotFound, "no active API key named %q", name)
		}
		return writeAudit(ctx, tx, audit)
	})
}
