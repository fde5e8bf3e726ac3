// SPDX-License-Identifier: Apache-2.0

package console

import (
	"net/http"
	"time"

	"portolan"
)

// expiryWarning is how close to its expiry a certificate is flagged.
const expiryWarning = 30 * 24 * time.Hour

// relatedHostsShown bounds the related hosts a certificate page lists.
const relatedHostsShown = 1000

type certificatePage struct {
	page
	Cert         *portolan.SSLCertificate
	Expiry       expiry
	Hosts        []*portolan.Host
	TotalHosts   int
	PortsURL     string
	MoreHostsCut bool
}

// expiry is a certificate's validity as the page flags it: Class is the
// badge's CSS class (expired, expiring, valid), Text what it says.
type expiry struct {
	Class, Text string
}

func expiryOf(c *portolan.SSLCertificate, now time.Time) expiry {
	if c == nil || c.ExpirationDateTime.IsZero() {
		return expiry{}
	}
	left := c.ExpirationDateTime.Sub(now)
	switch {
	case left <= 0:
		return expiry{"expired", "expired " + ago(-left) + " ago"}
	case left <= expiryWarning:
		return expiry{"expiring", "expires in " + ago(left)}
	case now.Before(c.IssueDateTime):
		return expiry{"expiring", "not valid before " + fmtTime(c.IssueDateTime)}
	}
	return expiry{"valid", "valid for " + ago(left)}
}

// ago renders a duration in the largest whole unit that fits.
func ago(d time.Duration) string {
	switch {
	case d >= 48*time.Hour:
		return plural(int(d/(24*time.Hour)), "day")
	case d >= 2*time.Hour:
		return plural(int(d/time.Hour), "hour")
	}
	return plural(int(d/time.Minute), "minute")
}

func (c *Console) serveCertificate(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	cert, err := c.cfg.Certificates.FindSSLCertificateByID(ctx, r.PathValue("id"))
	if err != nil {
		return err
	}
	hosts, total, err := c.cfg.Certificates.FindRelatedHosts(ctx, cert.ID, portolan.ListFilter{Limit: relatedHostsShown, Count: true})
	if err != nil {
		return err
	}
	p := &certificatePage{page: c.pageFor(r, certificateTitle(cert)), Cert: cert, Expiry: expiryOf(cert, c.now()),
		Hosts: hosts, TotalHosts: total, MoreHostsCut: total > len(hosts),
		PortsURL: searchURL("mostRecentSslCertificate/id eq "+odataString(cert.ID), "", "")}
	c.render(w, r, http.StatusOK, "certificate", p)
	return nil
}

func certificateTitle(c *portolan.SSLCertificate) string {
	if c.Subject.CommonName != "" {
		return "Certificate " + c.Subject.CommonName
	}
	return "Certificate " + c.SHA1
}
