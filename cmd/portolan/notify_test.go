// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"portolan"
)

// e2eWebhook is a notification receiver on 127.0.0.1: it answers the
// validation handshake, and notifications with status (200 unless set),
// recording those it accepted.
type e2eWebhook struct {
	*httptest.Server
	status   atomic.Int32
	refused  atomic.Int32
	mu       sync.Mutex
	received map[string]int // hostPort id -> notifications
	states   map[string]bool
}

func newE2EWebhook(t *testing.T) *e2eWebhook {
	h := &e2eWebhook{received: map[string]int{}, states: map[string]bool{}}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if tok := r.URL.Query().Get("validationToken"); tok != "" {
			w.Header().Set("Content-Type", "text/plain")
			io.WriteString(w, tok)
			return
		}
		if s := h.status.Load(); s != 0 && s != http.StatusOK {
			h.refused.Add(1)
			w.WriteHeader(int(s))
			return
		}
		var body struct {
			Value []struct {
				ChangeType   string `json:"changeType"`
				ClientState  string `json:"clientState"`
				ResourceData struct {
					ID string `json:"id"`
				} `json:"resourceData"`
			} `json:"value"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		h.mu.Lock()
		for _, n := range body.Value {
			h.received[n.ResourceData.ID]++
			h.states[n.ClientState] = true
		}
		h.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *e2eWebhook) count() (ids, notifications int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, n := range h.received {
		notifications += n
	}
	return len(h.received), notifications
}

// e2eNativeScan writes n open ports of one host in the native format.
func e2eNativeScan(t *testing.T, host string, first, n int) (path string, ids []string) {
	t.Helper()
	var b bytes.Buffer
	for p := first; p < first+n; p++ {
		fmt.Fprintf(&b, `{"host":%q,"port":%d,"protocol":"tcp","status":"open","scannedAt":"2026-11-30T10:00:00Z","source":"native"}`+"\n", host, p)
		ids = append(ids, portolan.HostPortID(host, portolan.TCP, p))
	}
	path = filepath.Join(t.TempDir(), fmt.Sprintf("scan-%d.ndjson", first))
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, ids
}

// TestNotificationsSurviveSIGKILL is issue 12, item 5: serve is killed
// with SIGKILL while notifications are pending (the receiver answers 503),
// restarted, and once the receiver is back every notification arrives (at
// least once), none lost.
func TestNotificationsSurviveSIGKILL(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	token := strings.TrimSpace(e2eRunBinary(t, "token", "--data", dir))
	hook := newE2EWebhook(t)
	// A short lease: the killed process holds it until it runs out.
	args := []string{"--data", dir, "--addr", "127.0.0.1:0", "--notify-backoff-max", "200ms", "--notify-lease", "2s"}
	s := e2eStartServe(t, nil, args...)
	client := &http.Client{Timeout: 20 * time.Second}
	s.waitHealthy(t, client)

	body := fmt.Sprintf(`{"changeType":"created,updated","notificationUrl":%q,"resource":"security/threatIntelligence/hostPorts","expirationDateTime":%q,"clientState":"kill-test"}`,
		hook.URL+"/notify", time.Now().Add(2*time.Hour).UTC().Format(time.RFC3339))
	req, _ := http.NewRequest(http.MethodPost, s.URL+"/beta/subscriptions", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	created, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST subscriptions: %s\n%s", resp.Status, created)
	}

	// The receiver is down; two imports (the first with more changes than
	// one POST carries) queue their notifications.
	hook.status.Store(http.StatusServiceUnavailable)
	scan1, ids1 := e2eNativeScan(t, "192.0.2.10", 1000, 150)
	scan2, ids2 := e2eNativeScan(t, "192.0.2.11", 2000, 20)
	e2eRunBinary(t, "ingest", "--data", dir, "--no-progress", scan1, scan2)
	want := append(ids1, ids2...)
	deadline := time.Now().Add(20 * time.Second)
	for hook.refused.Load() < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("the receiver was not tried while down (%d attempts)", hook.refused.Load())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := s.cmd.Process.Kill(); err != nil { // SIGKILL
		t.Fatal(err)
	}
	<-s.exited

	// Restarted; the receiver comes back.
	hook.status.Store(http.StatusOK)
	s2 := e2eStartServe(t, nil, args...)
	s2.waitHealthy(t, client)
	deadline = time.Now().Add(30 * time.Second)
	for {
		n, _ := hook.count()
		if n == len(want) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d hostPorts notified after the restart", n, len(want))
		}
		time.Sleep(50 * time.Millisecond)
	}
	hook.mu.Lock()
	for _, id := range want {
		if hook.received[id] == 0 {
			t.Errorf("hostPort %s never notified", id)
		}
	}
	if !hook.states["kill-test"] || len(hook.states) != 1 {
		t.Errorf("clientStates received: %v", hook.states)
	}
	hook.mu.Unlock()
	_, total := hook.count()
	t.Logf("%d hostPorts, %d notifications delivered after SIGKILL and restart (%d refused before)", len(want), total, hook.refused.Load())
	if regexp.MustCompile(`kill-test`).MatchString(s2.stderr.String() + s.stderr.String()) {
		t.Error("serve logged the clientState")
	}
	s2.stop(t)
}
