// SPDX-License-Identifier: Apache-2.0

package merge

import "time"

// RecentWindow is how far before a port's last scan a component counts as
// recent when the port has no banners (Defender TI's two days).
const RecentWindow = 48 * time.Hour

// IsRecent is Defender TI's isRecent rule (intelligence.md §5): a component
// is recent when it was last seen at or after the newest banner's lastSeen;
// when the port has no banners (newestBanner zero), when it was last seen
// within RecentWindow before the port's last scan, the edge included. Every
// store renders a record through Finish, which calls it; $filter and
// $orderby on services/isRecent restate it in SQL, the "isRecent" column of
// HostPortSchema in internal/sqlfilter/hostport.go (with the stores'
// Tables.RecentSince), and storetest.RunRules checks both at the edge.
func IsRecent(componentLastSeen, newestBanner, lastScan time.Time) bool {
	if !newestBanner.IsZero() {
		return !componentLastSeen.Before(newestBanner)
	}
	return !componentLastSeen.Before(lastScan.Add(-RecentWindow))
}
