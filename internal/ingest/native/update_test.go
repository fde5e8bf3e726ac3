// SPDX-License-Identifier: Apache-2.0

package native_test

// The ingest test helpers register -update, the flag that rewrites golden
// files; importing them lets `go test ./internal/ingest/... -update` run
// this package too, although it has no golden file.
import _ "portolan/internal/ingest/ingesttest"
