// Package migrations holds the numbered SQL migrations of the krslab schema,
// embedded so that the binary can apply them with `krslab migrate`.
package migrations

import "embed"

// FS holds every migration file; goose reads them in version order.
//
//go:embed 0*.sql
var FS embed.FS
