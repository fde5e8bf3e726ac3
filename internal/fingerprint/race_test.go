// SPDX-License-Identifier: Apache-2.0

//go:build race

package fingerprint_test

// raceEnabled tells allocation tests to stand down: under the race detector
// sync.Pool (which regexp uses) drops items at random, so allocation counts
// say nothing.
const raceEnabled = true
