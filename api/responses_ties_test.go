package api_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestTiesInABatchFollowItsOrder: two responses of a customer with the same answered_at in
// one request are ranked by arrival (DOMAIN.md), which in a batch is its order, as in an
// imported file it is the order of the lines: the later one counts, whichever response id
// sorts first. The same responses go in as a JSON batch, as a CSV batch and as an import,
// and each time the whole experiment's results and a wave's count the later answers only.
func TestTiesInABatchFollowItsOrder(t *testing.T) {
	e := newEnv(t)
	at := time.Now().UTC().Add(time.Minute).Truncate(time.Second).Format(time.RFC3339)
	for _, way := range []string{"json", "csv", "import"} {
		t.Run(way, func(t *testing.T) {
			sub := *e
			sub.t = t
			key := "ties-in-order-" + way
			sub.createRunning(key, map[string]any{"arms": []map[string]any{{"key": "control", "weight": 1, "control": true}, {"key": "callback", "weight": 1}},
				"outcomes": []string{"trust"}, "primary_outcome": "trust", "waves": []map[string]any{{"key": "first", "from_day": 0, "to_day": 10}}})
			var ids []string
			for i := range 24 {
				ids = append(ids, fmt.Sprintf("tie-%s-%02d", way, i))
			}
			arms := assign(t, &sub, key, ids...)
			n := map[string]float64{}
			var rows [][3]any // response_id, customer_id, trust; in arrival order
			for i, id := range ids {
				n[arms[id]]++
				// The later response counts (trust 6); its id sorts before the earlier one's
				// for every other customer.
				first, later := id+"-a", id+"-b"
				if i%2 == 0 {
					first, later = id+"-b", id+"-a"
				}
				rows = append(rows, [3]any{first, id, 2}, [3]any{later, id, 6})
			}
			base := "/v1/experiments/" + key
			switch way {
			case "json":
				var rs []map[string]any
				for _, r := range rows {
					rs = append(rs, map[string]any{"response_id": r[0], "customer_id": r[1], "answered_at": at, "answers": map[string]any{"trust": r[2]}})
				}
				sub.must(http.StatusCreated, ingest, "POST", base+"/responses:batch", map[string]any{"responses": rs})
			default:
				var csv strings.Builder
				csv.WriteString("response_id,customer_id,answered_at,trust\n")
				for _, r := range rows {
					fmt.Fprintf(&csv, "%s,%s,%s,%d\n", r[0], r[1], at, r[2])
				}
				path := map[string]string{"csv": "/responses:batch", "import": "/responses:import"}[way]
				if r := sub.do(ingest, "POST", base+path, "text/csv", []byte(csv.String())); r.Status != http.StatusCreated {
					t.Fatalf("%s: %d %s", path, r.Status, r.Body)
				}
			}
			for _, q := range []string{"", "?wave=first"} {
				var res struct {
					Outcomes []struct {
						Arms map[string]map[string]any `json:"arms"`
					} `json:"outcomes"`
				}
				sub.must(http.StatusOK, analyst, "GET", base+"/results"+q, nil).json(t, &res)
				for arm, want := range n {
					got := res.Outcomes[0].Arms[arm]
					if got["n"] != want || got["mean"] != 6.0 {
						t.Errorf("results%s, %s: n %v mean %v, want n %v mean 6 (the later answer of each customer)", q, arm, got["n"], got["mean"], want)
					}
				}
			}
		})
	}
}
