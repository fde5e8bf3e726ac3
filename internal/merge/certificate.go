// SPDX-License-Identifier: Apache-2.0

package merge

import "time"

// CertificateWins is the mostRecentSslCertificate rule (intelligence.md §3):
// among open observations that carried a certificate, the one with the
// greatest seenAt, ties broken by the greater SHA-1 hex. It reports whether
// the candidate (seen, sha1) replaces the held one (an empty heldSHA1 means
// none is held). The embedded store calls it (mergePortRow in
// internal/sqlite/observation.go); the SQL that mirrors it is the
// cert_seen/cert_sha1 (and cert_not_after, the held certificate's expiry)
// expressions of mergePorts in internal/postgres/observation.go.
func CertificateWins(seen time.Time, sha1 string, heldSeen time.Time, heldSHA1 string) bool {
	return sha1 != "" && (heldSHA1 == "" || seen.After(heldSeen) || (seen.Equal(heldSeen) && sha1 > heldSHA1))
}
