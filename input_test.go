// SPDX-License-Identifier: Apache-2.0

package portolan_test

import (
	"errors"
	"fmt"
	"io"
	"testing"

	"portolan"
)

// TestInputErrorString checks each form of the one positioned input error:
// the command line prints rejections with their file, and readers' errors
// lead with the reader's name.
func TestInputErrorString(t *testing.T) {
	cases := []struct {
		err  portolan.InputError
		want string
	}{
		{portolan.InputError{File: "scan.xml", Source: "nmap", Line: 12, Offset: 300, Reason: "bad"}, "scan.xml:12: bad"},
		{portolan.InputError{File: "scan.csv", Offset: 4096, Reason: "bad"}, "scan.csv: byte 4096: bad"},
		{portolan.InputError{File: "-", Offset: -1, Reason: "bad"}, "-: bad"},
		{portolan.InputError{Source: "nmap", Line: 5, Offset: 80, Reason: "bad", Fatal: true}, "nmap: line 5: bad"},
		{portolan.InputError{Source: "masscan", Offset: 7, Reason: "bad"}, "masscan: byte 7: bad"},
		{portolan.InputError{Source: "masscan", Offset: -1, Reason: "bad"}, "masscan: bad"},
		{portolan.InputError{Line: 3, Offset: 10, Reason: "bad"}, "line 3: bad"},
		{portolan.InputError{Offset: -1, Reason: "bad"}, "bad"},
	}
	for _, c := range cases {
		if got := c.err.Error(); got != c.want {
			t.Errorf("%+v: %q, want %q", c.err, got, c.want)
		}
	}
}

// TestRecordError checks that only an InputError without Fatal lets reading
// go on.
func TestRecordError(t *testing.T) {
	rec := &portolan.InputError{Line: 1, Reason: "bad"}
	fatal := &portolan.InputError{Line: 1, Reason: "bad", Fatal: true}
	for _, c := range []struct {
		err  error
		want *portolan.InputError
	}{
		{nil, nil},
		{io.EOF, nil},
		{errors.New("disk on fire"), nil},
		{fatal, nil},
		{fmt.Errorf("wrapped: %w", fatal), nil},
		{rec, rec},
		{fmt.Errorf("wrapped: %w", rec), rec},
	} {
		if got := portolan.RecordError(c.err); got != c.want {
			t.Errorf("RecordError(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}
