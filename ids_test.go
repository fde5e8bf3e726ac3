// SPDX-License-Identifier: Apache-2.0

package portolan_test

import (
	"testing"

	"portolan"
)

func TestIDsRoundTrip(t *testing.T) {
	for _, c := range []struct {
		host  string
		proto portolan.Protocol
		port  int
	}{{"85.13.139.18", portolan.TCP, 21}, {"2001:db8::1", portolan.UDP, 53}, {"www.example.test", portolan.TCP, 0}} {
		id := portolan.HostPortID(c.host, c.proto, c.port)
		host, proto, port, ok := portolan.ParseHostPortID(id)
		if !ok || host != c.host || proto != c.proto || port != c.port {
			t.Errorf("%s: %s %s %d %v", id, host, proto, port, ok)
		}
	}
	sha := "8ff5018a0fa83525278cf8abec72b6d64a8a7513"
	if got, ok := portolan.ParseSSLCertificateID(portolan.SSLCertificateID(sha)); !ok || got != sha {
		t.Errorf("certificate id: %s %v", got, ok)
	}
	if host, got, ok := portolan.ParseHostSSLCertificateID(portolan.HostSSLCertificateID("2001:db8::1", sha)); !ok || host != "2001:db8::1" || got != sha {
		t.Errorf("host certificate id: %s %s %v", host, got, ok)
	}
	for _, bad := range []string{"", "%%%", "ODUuMTMuMTM5LjE4", "ODUuMTMuMTM5LjE4JCQyMQ", "ODUuMTMuMTM5LjE4JCR4", "YSQkMSQkdGNw"} {
		if _, _, _, ok := portolan.ParseHostPortID(bad); ok {
			t.Errorf("ParseHostPortID(%q) accepted", bad)
		}
		if _, ok := portolan.ParseSSLCertificateID(bad); ok {
			t.Errorf("ParseSSLCertificateID(%q) accepted", bad)
		}
		if _, _, ok := portolan.ParseHostSSLCertificateID(bad); ok {
			t.Errorf("ParseHostSSLCertificateID(%q) accepted", bad)
		}
	}
}
