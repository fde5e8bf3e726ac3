// SPDX-License-Identifier: Apache-2.0

package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"portolan"
	"portolan/internal/httpapi"
	"portolan/internal/mock"
	"portolan/internal/notify"
	"portolan/internal/sqlite"
)

// receiver is a webhook on 127.0.0.1 that answers the validation handshake
// as told and records what it was sent.
type receiver struct {
	*httptest.Server
	mu          sync.Mutex
	validations []*http.Request
	// answer replaces the correct echo when set.
	answer func(w http.ResponseWriter, token string)
}

func newReceiver(t *testing.T) *receiver {
	rc := &receiver{}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token := r.URL.Query().Get("validationToken")
		rc.mu.Lock()
		rc.validations = append(rc.validations, r)
		answer := rc.answer
		rc.mu.Unlock()
		if answer != nil {
			answer(w, token)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprint(w, token)
	}))
	t.Cleanup(rc.Close)
	return rc
}

// subscriptionServer is a Server over a real SQLite store and the real
// endpoint checker; two principals with the permission, alice and carol.
func subscriptionServer(t *testing.T) *testServer {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "subs.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	verifier := &mock.TokenVerifier{VerifyTokenFn: func(_ context.Context, token string) (*portolan.Principal, error) {
		switch token {
		case goodToken:
			return &portolan.Principal{Subject: "alice", TenantID: "t1", ApplicationID: "app-1", Scopes: []string{portolan.PermissionThreatIntelligenceRead}}, nil
		case "carol":
			return &portolan.Principal{Subject: "carol", TenantID: "t1", Roles: []string{portolan.PermissionThreatIntelligenceRead}}, nil
		}
		return nil, portolan.Errorf(portolan.EUNAUTHORIZED, "Access token validation failure.")
	}}
	return newServer(t, newFixture(), func(c *httpapi.Config) {
		c.HostPorts, c.Hosts, c.Certificates = db, db, db
		c.Endpoints = notify.NewGuard(nil, nil)
		c.Verifier = verifier
	})
}

func (s *testServer) send(t *testing.T, method, target, token, body string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	r.Header.Set("Authorization", "Bearer "+token)
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	w := httptest.NewRecorder()
	s.ServeHTTP(w, r)
	return w
}

// The test server's clock is 2024-04-05T06:07:08Z.
const (
	inAnHour     = "2024-04-05T07:07:08Z"
	tooFarAhead  = "2024-04-08T04:38:08Z" // 4,231 minutes
	atTheLimit   = "2024-04-08T04:37:08Z" // 4,230 minutes
	alreadyGone  = "2024-04-05T06:07:07Z"
	hostPortsRes = "security/threatIntelligence/hostPorts"
)

func subscriptionBody(url, resource, expiration, extra string) string {
	return fmt.Sprintf(`{"changeType":"created,updated","notificationUrl":%q,"resource":%q,"expirationDateTime":%q,"clientState":"s3cret"%s}`,
		url, resource, expiration, extra)
}

func TestSubscriptionLifecycle(t *testing.T) {
	s := subscriptionServer(t)
	rc := newReceiver(t)

	w := s.send(t, http.MethodPost, "/beta/subscriptions", goodToken,
		subscriptionBody(rc.URL+"/hook?x=1", hostPortsRes+"?$filter=port eq 22", inAnHour, `,"@odata.type":"#microsoft.graph.subscription","latestSupportedTlsVersion":"v1_2"`))
	wantStatus(t, w, http.StatusCreated)
	created := decode(t, w.Body.Bytes())
	id, _ := created["id"].(string)
	if len(id) != 36 || created["creatorId"] != "alice" || created["applicationId"] != "app-1" || created["changeType"] != "created,updated" ||
		created["expirationDateTime"] != "2024-04-05T07:07:08.000Z" || created["clientState"] != "s3cret" ||
		created["resource"] != hostPortsRes+"?$filter=port eq 22" || created["@odata.context"] != "http://example.com/beta/$metadata#subscriptions/$entity" {
		t.Fatalf("created subscription: %s", w.Body)
	}
	if got := w.Header().Get("Location"); got != "http://example.com/beta/subscriptions/"+id {
		t.Errorf("Location = %q", got)
	}
	rc.mu.Lock()
	if len(rc.validations) != 1 || rc.validations[0].Method != http.MethodPost || rc.validations[0].URL.Query().Get("x") != "1" ||
		len(rc.validations[0].URL.Query().Get("validationToken")) < 16 {
		t.Fatalf("validation requests: %v", rc.validations)
	}
	rc.mu.Unlock()

	for _, target := range []string{"/beta/subscriptions", "/v1.0/subscriptions"} {
		w = s.send(t, http.MethodGet, target, goodToken, "")
		wantStatus(t, w, http.StatusOK)
		if list := decode(t, w.Body.Bytes())["value"].([]any); len(list) != 1 || list[0].(map[string]any)["id"] != id {
			t.Fatalf("GET %s: %s", target, w.Body)
		}
	}
	w = s.send(t, http.MethodGet, "/beta/subscriptions('"+id+"')", goodToken, "")
	wantStatus(t, w, http.StatusOK)
	if w.Header().Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control = %q", w.Header().Get("Cache-Control"))
	}

	// Another principal sees nothing of it.
	w = s.send(t, http.MethodGet, "/beta/subscriptions", "carol", "")
	if list := decode(t, w.Body.Bytes())["value"].([]any); len(list) != 0 {
		t.Fatalf("carol lists %s", w.Body)
	}
	for _, m := range []string{http.MethodGet, http.MethodDelete} {
		wantError(t, s.send(t, m, "/beta/subscriptions/"+id, "carol", ""), http.StatusNotFound, "ResourceNotFound", "")
	}
	wantError(t, s.send(t, http.MethodPatch, "/beta/subscriptions/"+id, "carol", `{"expirationDateTime":"`+atTheLimit+`"}`), http.StatusNotFound, "ResourceNotFound", "")

	w = s.send(t, http.MethodPatch, "/beta/subscriptions/"+id, goodToken, `{"expirationDateTime":"`+atTheLimit+`"}`)
	wantStatus(t, w, http.StatusOK)
	if got := decode(t, w.Body.Bytes())["expirationDateTime"]; got != "2024-04-08T04:37:08.000Z" {
		t.Fatalf("renewed expiration %v", got)
	}
	wantError(t, s.send(t, http.MethodPatch, "/beta/subscriptions/"+id, goodToken, `{"clientState":"x"}`), http.StatusBadRequest, "BadRequest",
		"Only expirationDateTime can be updated; 'clientState' cannot.")
	wantError(t, s.send(t, http.MethodPatch, "/beta/subscriptions/"+id, goodToken, `{"expirationDateTime":"`+tooFarAhead+`"}`), http.StatusBadRequest, "BadRequest",
		"Subscription expiration can only be 4230 minutes in the future.")
	w = s.send(t, http.MethodPut, "/beta/subscriptions/"+id, goodToken, "{}")
	wantError(t, w, http.StatusMethodNotAllowed, "MethodNotAllowed", "")
	if w.Header().Get("Allow") != "GET, HEAD, PATCH, DELETE" {
		t.Errorf("Allow = %q", w.Header().Get("Allow"))
	}

	w = s.send(t, http.MethodDelete, "/beta/subscriptions/"+id, goodToken, "")
	wantStatus(t, w, http.StatusNoContent)
	wantError(t, s.send(t, http.MethodGet, "/beta/subscriptions/"+id, goodToken, ""), http.StatusNotFound, "ResourceNotFound", "")
}

func TestSubscriptionRefusals(t *testing.T) {
	s := subscriptionServer(t)
	rc := newReceiver(t)
	hook := rc.URL + "/hook"
	cases := []struct {
		name, body, code, message string
	}{
		{"bad filter", subscriptionBody(hook, hostPortsRes+"?$filter=nosuch eq 1", inAnHour, ""), "BadRequest",
			"Could not find a property named 'nosuch' on type 'microsoft.graph.security.hostPort'."},
		{"filter syntax", subscriptionBody(hook, hostPortsRes+"?$filter=port eq", inAnHour, ""), "BadRequest", ""},
		{"other resource", subscriptionBody(hook, "security/threatIntelligence/hosts", inAnHour, ""), "BadRequest",
			"The resource 'security/threatIntelligence/hosts' is not supported; subscribe to security/threatIntelligence/hostPorts, optionally with ?$filter=…."},
		{"too far", subscriptionBody(hook, hostPortsRes, tooFarAhead, ""), "BadRequest", "Subscription expiration can only be 4230 minutes in the future."},
		{"past", subscriptionBody(hook, hostPortsRes, alreadyGone, ""), "BadRequest", "Subscription expiration must be in the future."},
		{"change type", strings.Replace(subscriptionBody(hook, hostPortsRes, inAnHour, ""), "created,updated", "deleted", 1), "BadRequest",
			"The changeType 'deleted' is not supported; use created, updated or created,updated."},
		{"client state", strings.Replace(subscriptionBody(hook, hostPortsRes, inAnHour, ""), "s3cret", strings.Repeat("x", 129), 1), "BadRequest",
			"The clientState is longer than 128 characters."},
		{"unknown property", subscriptionBody(hook, hostPortsRes, inAnHour, `,"colour":"red"`), "BadRequest",
			"Could not find a property named 'colour' on type 'microsoft.graph.subscription'."},
		{"resource data", subscriptionBody(hook, hostPortsRes, inAnHour, `,"includeResourceData":true`), "BadRequest",
			"The property 'includeResourceData' is not supported by this service."},
		{"link-local", subscriptionBody("https://169.254.169.254/latest/meta-data", hostPortsRes, inAnHour, ""), "BadRequest",
			"The notification URL's host '169.254.169.254' resolves to 169.254.169.254, a link-local address (such as a cloud metadata service): refused."},
		{"private", subscriptionBody("https://10.1.2.3/x", hostPortsRes, inAnHour, ""), "BadRequest",
			"The notification URL's host '10.1.2.3' resolves to 10.1.2.3, a private address (the server's operator may allow it with --notify-allow): refused."},
		{"http elsewhere", subscriptionBody("http://203.0.113.9/x", hostPortsRes, inAnHour, ""), "BadRequest",
			"The notification URL's host '203.0.113.9' resolves to 203.0.113.9, not a loopback address: http is allowed only to loopback addresses; use https."},
		{"lifecycle link-local", subscriptionBody(hook, hostPortsRes, inAnHour, `,"lifecycleNotificationUrl":"https://[fe80::1]/x"`), "BadRequest", ""},
		{"not json", "changeType=created", "BadRequest", "The request body is not a JSON object."},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wantError(t, s.send(t, http.MethodPost, "/beta/subscriptions", goodToken, c.body), http.StatusBadRequest, c.code, c.message)
		})
	}
	rc.mu.Lock()
	n := len(rc.validations)
	rc.mu.Unlock()
	if n != 1 { // only "lifecycle link-local" reached the handshake of its notificationUrl
		t.Errorf("%d validation requests for refused subscriptions, want 1", n)
	}

	// The handshake's failures: wrong status, wrong echo, wrong type.
	for name, answer := range map[string]func(http.ResponseWriter, string){
		"404": func(w http.ResponseWriter, _ string) { http.NotFound(w, nil) },
		"wrong echo": func(w http.ResponseWriter, tok string) {
			w.Header().Set("Content-Type", "text/plain")
			fmt.Fprint(w, tok+"x")
		},
		"json": func(w http.ResponseWriter, tok string) {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, "%q", tok)
		},
		"redirect": func(w http.ResponseWriter, tok string) {
			http.Redirect(w, &http.Request{}, "/elsewhere", http.StatusFound)
		},
		"202 instead": func(w http.ResponseWriter, tok string) {
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(202)
			fmt.Fprint(w, tok)
		},
	} {
		t.Run(name, func(t *testing.T) {
			rc.mu.Lock()
			rc.answer = answer
			rc.mu.Unlock()
			wantError(t, s.send(t, http.MethodPost, "/beta/subscriptions", goodToken, subscriptionBody(hook, hostPortsRes, inAnHour, "")),
				http.StatusBadRequest, "ValidationError", notify.ValidationFailed)
		})
	}
}

func TestSubscriptionLimit(t *testing.T) {
	s := subscriptionServer(t)
	rc := newReceiver(t)
	for i := range portolan.MaxSubscriptionsPerOwner {
		w := s.send(t, http.MethodPost, "/beta/subscriptions", goodToken, subscriptionBody(rc.URL, hostPortsRes, inAnHour, ""))
		wantStatus(t, w, http.StatusCreated)
		_ = i
	}
	w := s.send(t, http.MethodPost, "/beta/subscriptions", goodToken, subscriptionBody(rc.URL, hostPortsRes, inAnHour, ""))
	wantError(t, w, http.StatusTooManyRequests, "TooManyRequests", "The caller already holds 100 subscriptions, the most allowed; delete one first.")
	// Another principal has its own 100.
	wantStatus(t, s.send(t, http.MethodPost, "/beta/subscriptions", "carol", subscriptionBody(rc.URL, hostPortsRes, inAnHour, "")), http.StatusCreated)
}
