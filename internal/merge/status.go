// SPDX-License-Identifier: Apache-2.0

package merge

import (
	"time"

	"portolan"
)

// The status rule (intelligence.md §3): a port's status is the status of
// its observation with the greatest scannedAt; on a tie, open beats
// filtered beats closed. This file is its one home. A store keeps the
// candidate as (status_at, status_rank) columns and must pick the same
// candidate when two deltas meet: the embedded store calls StatusWins
// (mergePortRow in internal/sqlite/observation.go); PostgreSQL mirrors it
// in SQL, in the status_rank expression of mergePorts in
// internal/postgres/observation.go, and storetest.RunRules proves that it
// agrees. $filter and $orderby on status read the stored rank
// (statusRanks and the "status" column of internal/sqlfilter/hostport.go).

// StatusRank orders statuses for the tie rule: open 3, filtered 2,
// closed 1. Unknown statuses rank 0. The ranks are stored (status_rank
// columns), so they must not change without a migration.
func StatusRank(s portolan.HostPortStatus) int {
	switch s {
	case portolan.StatusOpen:
		return 3
	case portolan.StatusFiltered:
		return 2
	case portolan.StatusClosed:
		return 1
	}
	return 0
}

// StatusOfRank is the inverse of StatusRank: the status a stored rank
// stands for, "" for 0.
func StatusOfRank(rank int) portolan.HostPortStatus {
	switch rank {
	case 3:
		return portolan.StatusOpen
	case 2:
		return portolan.StatusFiltered
	case 1:
		return portolan.StatusClosed
	}
	return ""
}

// StatusWins reports whether the candidate (at, rank) replaces the held
// candidate (heldAt, heldRank): a later scannedAt wins, and on equal
// scannedAt the greater rank. It is a lexicographic max, hence commutative.
func StatusWins(at time.Time, rank int, heldAt time.Time, heldRank int) bool {
	return at.After(heldAt) || (at.Equal(heldAt) && rank > heldRank)
}
