// SPDX-License-Identifier: Apache-2.0

package zgrab2

import (
	"bytes"
	"encoding/json"
	"errors"
)

// The structs below mirror the parts of zgrab2's output (v0.2.0, and the
// shapes of earlier releases) that become observations; encoding/json skips
// everything else without building it, which is what makes typed decoding
// several times faster than decoding into any: most of a record is TLS
// handshake detail and the HTTP body.

// grab is one output line: the target and one result per module.
type grab struct {
	IP     string `json:"ip"`
	Domain string `json:"domain"` // only when the input line named one
	// Port is the port of the input line; zgrab2 writes it only when the
	// input line carried one ("ip,domain,tag,port"), not for -p or
	// `multiple` runs.
	Port *int                    `json:"port"`
	Data map[string]*moduleEntry `json:"data"` // keyed by module name, which the user chooses in `multiple`
}

// moduleEntry is zgrab2's ScanResponse: the outcome of one module.
type moduleEntry struct {
	// Status is zgrab2's ScanStatus: success, connection-refused,
	// connection-timeout, connection-closed, io-timeout, protocol-error,
	// application-error or unknown-error.
	Status    string  `json:"status"`
	Protocol  string  `json:"protocol"`  // the module's protocol: http, tls, ssh, ftp, …
	Result    *result `json:"result"`    // partial on many failures
	Timestamp string  `json:"timestamp"` // RFC 3339, when the module finished
	Error     string  `json:"error"`     // the Go error text on failure
}

// result holds the shapes this reader recognises; which one is present says
// what kind of module produced it, whatever its name.
type result struct {
	Response     *httpResponse `json:"response"`      // http
	HandshakeLog *handshakeLog `json:"handshake_log"` // tls
	ServerID     *sshServerID  `json:"server_id"`     // ssh
	// Banner is the greeting of the line-oriented modules (ftp, smtp, pop3,
	// imap, telnet, …). Only a string is taken.
	Banner textOnly `json:"banner"`
}

// httpResponse is the http module's result.response.
type httpResponse struct {
	StatusLine string `json:"status_line"` // "200 OK"
	StatusCode int    `json:"status_code"`
	Protocol   struct {
		Name  string `json:"name"` // "HTTP/1.1"
		Major int    `json:"major"`
		Minor int    `json:"minor"`
	} `json:"protocol"`
	Headers httpHeaders  `json:"headers"`
	Request *httpRequest `json:"request"`
	// RedirectResponseChain is non-empty when redirects were followed; the
	// request above is then the last one, not the one sent to the target.
	RedirectResponseChain []struct{} `json:"redirect_response_chain"`
}

// httpRequest is the request that produced the response.
type httpRequest struct {
	URL *struct {
		Scheme string `json:"scheme"`
		Host   string `json:"host"` // "127.0.0.1:18081"; without a port for the scheme's default
	} `json:"url"`
	Host   string `json:"host"`
	TLSLog *struct {
		HandshakeLog *handshakeLog `json:"handshake_log"`
	} `json:"tls_log"` // https only
}

// handshakeLog is zcrypto's TLS handshake log; only the leaf certificate is
// used.
type handshakeLog struct {
	ServerCertificates *struct {
		Certificate *struct {
			Raw string `json:"raw"` // base64 DER
		} `json:"certificate"`
	} `json:"server_certificates"`
}

// leaf returns the base64 DER of the server's leaf certificate, or "".
func (h *handshakeLog) leaf() string {
	if h == nil || h.ServerCertificates == nil || h.ServerCertificates.Certificate == nil {
		return ""
	}
	return h.ServerCertificates.Certificate.Raw
}

// sshServerID is the ssh module's result.server_id.
type sshServerID struct {
	Raw      string `json:"raw"` // the identification line, "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u10"
	Version  string `json:"version"`
	Software string `json:"software"`
	Comment  string `json:"comment"`
}

// httpHeaders is zgrab2's rendering of response headers: names lower-cased
// with "-" turned into "_", each with a list of values, and headers outside
// zgrab2's list of known ones gathered under "unknown" as {key, value}
// pairs. Older releases wrote single strings instead of lists; both are
// accepted.
type httpHeaders struct {
	names  []string   // snake_case names, as in the input
	values [][]string // values of names[i]
}

// UnmarshalJSON implements json.Unmarshaler.
func (h *httpHeaders) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	for name, raw := range m {
		if name == "unknown" {
			var unknown []struct {
				Key   string      `json:"key"`
				Value stringOrSet `json:"value"`
			}
			if err := json.Unmarshal(raw, &unknown); err != nil {
				return err
			}
			for _, u := range unknown {
				h.names = append(h.names, u.Key)
				h.values = append(h.values, u.Value)
			}
			continue
		}
		var v stringOrSet
		if err := json.Unmarshal(raw, &v); err != nil {
			return err
		}
		h.names = append(h.names, name)
		h.values = append(h.values, v)
	}
	return nil
}

// stringOrSet is a list of strings written as a JSON array or one string.
type stringOrSet []string

// UnmarshalJSON implements json.Unmarshaler.
func (s *stringOrSet) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) > 0 && b[0] == '"':
		var one string
		if err := json.Unmarshal(b, &one); err != nil {
			return err
		}
		*s = []string{one}
		return nil
	case string(b) == "null":
		return nil
	}
	var list []string
	if err := json.Unmarshal(b, &list); err != nil {
		return errors.New("header value is neither a string nor a list of strings")
	}
	*s = list
	return nil
}

// textOnly keeps a JSON string and ignores any other value, for fields whose
// type differs between modules.
type textOnly string

// UnmarshalJSON implements json.Unmarshaler.
func (t *textOnly) UnmarshalJSON(b []byte) error {
	if len(b) == 0 || b[0] != '"' {
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	*t = textOnly(s)
	return nil
}
