// SPDX-License-Identifier: Apache-2.0

package ingest

import (
	"os"
	"time"
)

// SetWindowLimits makes host order's windows end after runs runs or age,
// until restore is called.
func SetWindowLimits(runs int, age time.Duration) (restore func()) {
	oldRuns, oldAge := maxRuns, maxWindowAge
	maxRuns, maxWindowAge = runs, age
	return func() { maxRuns, maxWindowAge = oldRuns, oldAge }
}

// FailRunWrites gives every run /dev/full as its file, until restore is
// called: it is created, and its writes fail as on a full disk.
func FailRunWrites() (restore func()) {
	old := newRunFile
	newRunFile = func(string) (*runFile, error) {
		f, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
		if err != nil {
			return nil, err
		}
		return &runFile{f: f, removed: true}, nil // never remove /dev/full
	}
	return func() { newRunFile = old }
}
