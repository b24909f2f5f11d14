package postgres

import (
	"context"

	"github.com/lib/pq"
)

// CustomerAttributes returns the named attributes of customers (for eligibility rules).
func (s *Store) CustomerAttributes(ctx context.Context, customerIDs, names []string) (map[string]map[string]string, error) {
	var rows []struct {
		CustomerID string `db:"customer_id"`
		Name       string `db:"name"`
		Value      string `db:"value"`
	}
	stmt, err := s.prepared(ctx, `SELECT customer_id, name, value FROM customer_attributes
		WHERE customer_id = ANY($1) AND name = ANY($2)`)
	if err != nil {
		return nil, err
	}
	if err := stmt.SelectContext(ctx, &rows, pq.StringArray(customerIDs), pq.StringArray(names)); err != nil {
		return nil, mapErr(err)
	}
	out := make(map[string]map[string]string, len(customerIDs))
	for _, r := range rows {
		if out[r.CustomerID] == nil {
			out[r.CustomerID] = map[string]string{}
		}
		out[r.CustomerID][r.Name] = r.Value
	}
	return out, nil
}
