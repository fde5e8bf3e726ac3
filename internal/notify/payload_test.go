// SPDX-License-Identifier: Apache-2.0

package notify

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"portolan"
)

// Received is one entry of a payload's value, as a receiver decodes it
// (here and in the package's external tests).
type Received struct {
	SubscriptionID                 string `json:"subscriptionId"`
	SubscriptionExpirationDateTime string `json:"subscriptionExpirationDateTime"`
	ChangeType                     string `json:"changeType"`
	Resource                       string `json:"resource"`
	ResourceData                   struct {
		Type    string   `json:"@odata.type"`
		ODataID string   `json:"@odata.id"`
		ID      string   `json:"id"`
		Changes []string `json:"changes"`
	} `json:"resourceData"`
	ClientState    *string `json:"clientState"`
	TenantID       *string `json:"tenantId"`
	LifecycleEvent string  `json:"lifecycleEvent"`
}

// checkJSONString holds appendJSONString to encoding/json: the output is
// one valid JSON string that decodes to what encoding/json makes of s
// (bytes that are not UTF-8 become U+FFFD), with U+2028 and U+2029
// escaped.
func checkJSONString(t *testing.T, s string) {
	t.Helper()
	out := appendJSONString([]byte("x"), s)[1:] // appends, keeps what was there
	if !json.Valid(out) {
		t.Fatalf("%q: invalid JSON %q", s, out)
	}
	want, _ := json.Marshal(s)
	var got, wantString string
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%q: %q: %v", s, out, err)
	}
	if err := json.Unmarshal(want, &wantString); err != nil {
		t.Fatal(err)
	}
	if got != wantString {
		t.Fatalf("%q: decodes to %q, encoding/json's to %q", s, got, wantString)
	}
	if strings.ContainsAny(string(out), "\u2028\u2029") {
		t.Fatalf("%q: unescaped line separator in %q", s, out)
	}
}

func TestAppendJSONString(t *testing.T) {
	for _, s := range []string{
		"", "plain", `quote " and backslash \`, "tab\tnew line\ncarriage\rnul\x00 del\x7f",
		"é, 中文, emoji 🛰", "line\u2028separator\u2029paragraph", "bad \xff byte", "cut \xe4\xb8",
		"aGVsbG8kJDQ0Mw==", "hostPorts('x')", "\x1f\"\\",
	} {
		checkJSONString(t, s)
	}
	if got := string(appendJSONString(nil, "a\"\n\u2028")); got != `"a\"\u000a\u2028"` {
		t.Errorf("escapes: %s", got)
	}
}

func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", "plain", "q\"b\\", "\x00\x1f", "\u2028", "\xff", "é中🛰"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { checkJSONString(t, s) })
}

// TestAppendPayload decodes a batch's body: every notification carries
// the subscription's members (written once per batch and copied) and its
// own change, resource and id, whatever the strings hold.
func TestAppendPayload(t *testing.T) {
	s := &portolan.Subscription{ID: "sub-\"1\"", ClientState: "state with \"quotes\", a new line\n and \u2028",
		Expiration: time.Date(2026, 12, 5, 4, 30, 0, 123456789, time.FixedZone("", 3600))}
	created, createdNames, _ := portolan.NotificationOf(portolan.ChangeCreated)
	updated, updatedNames, _ := portolan.NotificationOf(portolan.ChangeStatus | portolan.ChangeBanners)
	batch := []notification{
		{change: created, names: createdNames, id: portolan.HostPortID("192.0.2.1", portolan.TCP, 443)},
		{change: updated, names: updatedNames, id: portolan.HostPortID("2001:db8::1", portolan.UDP, 53)},
		{change: updated, names: updatedNames, id: "odd'id\"\\"},
	}
	var body struct{ Value []Received }
	out := appendPayload(nil, s, batch)
	if err := json.Unmarshal(out, &body); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if len(body.Value) != len(batch) {
		t.Fatalf("%d notifications, want %d", len(body.Value), len(batch))
	}
	for i, got := range body.Value {
		n := batch[i]
		resource := portolan.SubscriptionResourceHostPorts + "('" + n.id + "')"
		if got.SubscriptionID != s.ID || got.SubscriptionExpirationDateTime != "2026-12-05T03:30:00.123Z" || got.ChangeType != n.change.String() ||
			got.Resource != resource || got.ResourceData.ODataID != resource || got.ResourceData.ID != n.id ||
			got.ResourceData.Type != "#microsoft.graph.security.hostPort" || !slices.Equal(got.ResourceData.Changes, n.names) ||
			got.ClientState == nil || *got.ClientState != s.ClientState || got.TenantID != nil {
			t.Errorf("notification %d: %+v", i, got)
		}
	}
}
