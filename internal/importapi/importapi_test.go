// SPDX-License-Identifier: Apache-2.0

package importapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"portolan"
	"portolan/internal/importapi"
	"portolan/internal/storetest"
)

// verifier grants the permissions its tokens name: "read" or "ingest".
type verifier struct{}

func (verifier) VerifyToken(ctx context.Context, token string) (*portolan.Principal, error) {
	return verifier{}.VerifyTokenFor(ctx, token, portolan.PermissionThreatIntelligenceRead)
}

func (verifier) VerifyTokenFor(_ context.Context, token, permission string) (*portolan.Principal, error) {
	if token == "" {
		return nil, portolan.Errorf(portolan.EUNAUTHORIZED, "Access token is empty.")
	}
	p := &portolan.Principal{Subject: token}
	if token == "ingest" {
		p.Roles = []string{portolan.PermissionIngest}
	} else {
		p.Scopes = []string{portolan.PermissionThreatIntelligenceRead}
	}
	if !p.HasPermission(permission) {
		return nil, portolan.Errorf(portolan.EFORBIDDEN, "no")
	}
	return p, nil
}

func line(port int) string {
	return fmt.Sprintf(`{"host":"192.0.2.1","port":%d,"status":"open","scannedAt":"2026-12-01T00:00:00Z","source":"t"}`+"\n", port)
}

func TestServeImport(t *testing.T) {
	h := &importapi.Handler{Verifier: verifier{}, Store: storetest.NewMemoryStore(nil), MaxBytes: 4096, MaxListedRejections: 2}
	body := line(22) + line(-1) + line(70000) + line(99999) + line(80)
	for _, c := range []struct {
		name, token, query, body string
		code                     string // "" for 200
	}{
		{"imported", "ingest", "", body, ""},
		{"read token", "read", "", body, portolan.EFORBIDDEN},
		{"no token", "", "", body, portolan.EUNAUTHORIZED},
		{"unknown format", "ingest", "", "hello\n", portolan.EINVALID},
		{"unknown ?format=", "ingest", "?format=pcap", body, portolan.EINVALID},
		{"unknown parameter", "ingest", "?formt=native", body, portolan.EINVALID},
		{"bad port", "ingest", "?port=x", body, portolan.EINVALID},
		{"too large", "ingest", "", strings.Repeat(line(1), 100), portolan.ETOOBIG},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, importapi.Path+c.query, strings.NewReader(c.body))
			r.Header.Set("Authorization", "Bearer "+c.token)
			w := httptest.NewRecorder()
			err := h.ServeImport(w, r)
			if got := portolan.ErrorCode(err); err != nil && got != c.code || err == nil && c.code != "" {
				t.Fatalf("error %v (code %q), want code %q", err, got, c.code)
			}
			if c.code != "" {
				return
			}
			var sum importapi.Summary
			if err := json.Unmarshal(w.Body.Bytes(), &sum); err != nil {
				t.Fatal(err)
			}
			if sum.Observations != 2 || sum.Created != 2 || sum.Rejected != 3 || len(sum.Rejections) != 2 || !sum.RejectionsTruncated || sum.Rejections[0].Line != 2 {
				t.Errorf("summary %+v", sum)
			}
		})
	}
	r := httptest.NewRequest(http.MethodGet, importapi.Path, nil)
	w := httptest.NewRecorder()
	if err := h.ServeImport(w, r); portolan.ErrorCode(err) != portolan.ENOTALLOWED || w.Header().Get("Allow") != "POST" {
		t.Errorf("GET: %v, Allow %q", err, w.Header().Get("Allow"))
	}
}

// observed records what the handler told its Observer.
type observed []string

func (o *observed) Import(format string, observations, rejected int, d time.Duration, failed bool) {
	if d <= 0 {
		format += " (no duration)"
	}
	*o = append(*o, fmt.Sprintf("%s %d %d %v", format, observations, rejected, failed))
}

// TestServeImportObserved: every import the pipeline read is told to the
// Observer (serve's metrics) with its format, counts and whether it failed;
// a refused token or a bad query is not an import.
func TestServeImportObserved(t *testing.T) {
	var got observed
	h := &importapi.Handler{Verifier: verifier{}, Store: storetest.NewMemoryStore(nil), MaxBytes: 4096, Observer: &got}
	for _, c := range []struct{ token, query, body string }{
		{"ingest", "", line(22) + line(99999) + line(80)},
		{"ingest", "", "hello\n"},
		{"ingest", "", "\n\n"},
		{"ingest", "?format=zmap", line(22)},
		{"ingest", "", strings.Repeat(line(1), 100)},
		{"read", "", line(22)},
		{"ingest", "?port=x", line(22)},
	} {
		r := httptest.NewRequest(http.MethodPost, importapi.Path+c.query, strings.NewReader(c.body))
		r.Header.Set("Authorization", "Bearer "+c.token)
		// Not announced, as a chunked body: the limit is met while
		// reading (a body announced too large is refused unread).
		r.ContentLength = -1
		_ = h.ServeImport(httptest.NewRecorder(), r)
	}
	want := observed{"native 2 1 false", " 0 0 true", "empty 0 0 false", "zmap 0 0 true"}
	// The body over the limit: what was read before it, failed.
	if len(got) != 5 || !strings.HasPrefix(got[4], "native ") || !strings.HasSuffix(got[4], " 0 true") {
		t.Fatalf("observed %q", got)
	}
	if !slices.Equal(got[:4], want) {
		t.Errorf("observed %q\nwant %q", got[:4], want)
	}
}
