// SPDX-License-Identifier: Apache-2.0

package ingest

import "time"

// SetWindowLimits makes host order's windows end after runs runs or age,
// until restore is called.
func SetWindowLimits(runs int, age time.Duration) (restore func()) {
	oldRuns, oldAge := maxRuns, maxWindowAge
	maxRuns, maxWindowAge = runs, age
	return func() { maxRuns, maxWindowAge = oldRuns, oldAge }
}
