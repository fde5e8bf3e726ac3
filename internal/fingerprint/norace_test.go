// SPDX-License-Identifier: Apache-2.0

//go:build !race

package fingerprint_test

// raceEnabled is false in normal builds (see race_test.go).
const raceEnabled = false
