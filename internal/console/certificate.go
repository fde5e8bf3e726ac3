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

// expiry is a certificate's validity as the pages flag it: Class is the
// badge's CSS class (expired, notyet, expiring, valid), Text what the badge
// says where there is room ("expired 3 days ago", "not yet valid, from …"),
// and Short what it says in a table cell next to the expiry date
// ("expired", "not yet valid", "expires in 12 days", "valid").
type expiry struct {
	Class, Text, Short string
}

func expiryOf(c *portolan.SSLCertificate, now time.Time) expiry {
	if c == nil || c.ExpirationDateTime.IsZero() {
		return expiry{}
	}
	left := c.ExpirationDateTime.Sub(now)
	switch {
	case left <= 0:
		return expiry{"expired", "expired " + ago(-left) + " ago", "expired"}
	case now.Before(c.IssueDateTime):
		// Not valid yet: a client refuses it today, however far its
		// expiry is, so it is flagged before "expiring".
		return expiry{"notyet", "not yet valid, from " + fmtTime(c.IssueDateTime), "not yet valid"}
	case left <= expiryWarning:
		in := "expires in " + ago(left)
		return expiry{"expiring", in, in}
	}
	return expiry{"valid", "valid for " + ago(left), "valid"}
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
