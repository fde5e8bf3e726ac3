// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/performance"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// The browser test of the web console (issue 13, item 4): the real binary,
// real data ingested by it, and Debian's Chromium driven by chromedp. CI
// installs chromium (.ci/run); without it the test is skipped.

// Hostile values of the injection cases: a scanned host controls its
// banners, its software's names and its certificate's names.
const (
	xssScript = `<script>window.pwned='script'</script>`
	xssAttr   = `"><img src=x onerror="window.pwned='attr'">`
	xssURL    = `javascript:window.pwned='url'`
	xssCSS    = `</style><style>body{display:none}</style><div style="display:none">`
)

var consoleLinkLine = regexp.MustCompile(`(?m)^Console: (http://\S+/signin/link\?code=\S+)`)

// chromiumPath finds Debian's chromium (or a Chrome) on this machine.
func chromiumPath() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// hostileCertificate is a certificate whose subject, organisation and
// alternative names carry the injections.
func hostileCertificate(t *testing.T) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1337),
		Subject:      pkix.Name{CommonName: "evil.example" + xssScript, Organization: []string{"Evil " + xssAttr}, OrganizationalUnit: []string{xssCSS}},
		NotBefore:    now.Add(-24 * time.Hour), NotAfter: now.Add(12 * 24 * time.Hour),
		DNSNames: []string{"www.evil.example", xssURL, xssAttr},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// consoleTestData writes native NDJSON: the hostile host 192.0.2.66, and
// 198.51.100.10 with 1,000 open ports seen in two scans (the speed cases).
func consoleTestData(t *testing.T, dir string) (hostile, thousand string) {
	t.Helper()
	der := hostileCertificate(t)
	scan := time.Now().UTC().Add(-6 * time.Hour).Truncate(time.Second)
	line := func(v map[string]any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return string(b) + "\n"
	}
	var b strings.Builder
	b.WriteString(line(map[string]any{"host": "192.0.2.66", "port": 443, "status": "open", "scannedAt": scan.Format(time.RFC3339), "source": "native",
		"scanProtocol": "tls", "certificate": base64.StdEncoding.EncodeToString(der),
		"banner":     "HTTP/1.1 200 OK\r\nServer: " + xssAttr + "\r\nX-Note: " + xssScript + "\r\nX-Style: " + xssCSS,
		"components": []map[string]string{{"name": "nginx" + xssAttr, "version": "1.0" + xssScript, "category": xssCSS}},
		"hostnames":  []string{"evil-host.example"}}))
	b.WriteString(line(map[string]any{"host": "192.0.2.66", "port": 22, "status": "open", "scannedAt": scan.Format(time.RFC3339), "source": "native",
		"scanProtocol": "ssh", "banner": "SSH-2.0-" + xssScript + xssURL}))
	hostile = filepath.Join(dir, "hostile.ndjson")
	if err := os.WriteFile(hostile, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	b.Reset()
	for i, at := range []time.Time{scan.Add(-72 * time.Hour), scan} {
		for p := 1; p <= 1000; p++ {
			status := "open"
			if i == 1 && p%10 == 0 {
				status = "closed"
			}
			o := map[string]any{"host": "198.51.100.10", "port": p, "status": status, "scannedAt": at.Format(time.RFC3339), "source": "native"}
			if status == "open" {
				o["scanProtocol"] = "http"
				o["banner"] = fmt.Sprintf("HTTP/1.1 200 OK\r\nServer: nginx/1.%d.0", 20+i+p%3)
				o["components"] = []map[string]string{{"name": "nginx", "version": fmt.Sprintf("1.%d.0", 20+i+p%3), "category": "Web Server"}}
			}
			b.WriteString(line(o))
		}
	}
	thousand = filepath.Join(dir, "thousand.ndjson")
	if err := os.WriteFile(thousand, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return hostile, thousand
}

// navTiming is what the Navigation Timing API says of the last page load.
type navTiming struct {
	RequestStart, ResponseStart, ResponseEnd, DOMContentLoaded, LoadEventEnd float64
}

const navTimingJS = `(() => { const n = performance.getEntriesByType('navigation')[0];
  return {RequestStart: n.requestStart, ResponseStart: n.responseStart, ResponseEnd: n.responseEnd,
          DOMContentLoaded: n.domContentLoadedEventEnd, LoadEventEnd: n.loadEventEnd}; })()`

// TestConsoleInABrowser is the console's main path in Chromium: sign in with
// the link serve prints, search, open a host, read its timeline, follow a
// certificate, export CSV, all by keyboard too; the injection cases; the
// speed of the host page of 1,000 ports and a search page of 100 rows; and
// screenshots of each page (written to docs/screenshots with
// PORTOLAN_SCREENSHOTS=1).
func TestConsoleInABrowser(t *testing.T) {
	chromium := chromiumPath()
	if chromium == "" {
		t.Skip("chromium is not installed (apt-get install -y chromium); CI installs it (.ci/run)")
	}
	data, token := e2eIngestedDataDir(t)
	hostile, thousand := consoleTestData(t, t.TempDir())
	out := e2eRunBinary(t, "ingest", "--data", data, "--no-progress", hostile, thousand)
	if !strings.Contains(out, " 0 rejected") {
		t.Fatalf("ingest: %s", out)
	}
	s := e2eStartServe(t, nil, "--data", data, "--addr", "127.0.0.1:0")
	link := s.waitFor(t, consoleLinkLine, e2eStartTimeout)[1]

	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromium), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 800),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-extensions", true))
	defer cancelAlloc()
	browser, cancel := chromedp.NewContext(alloc)
	defer cancel()
	// The first action starts the browser, on a context without a
	// deadline (a deadline there would bound the browser's life).
	if err := chromedp.Do(browser, chromedp.EmulateViewport(1280, 800)); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	ctx, cancelTimeout := context.WithTimeout(browser, 2*time.Minute)
	defer cancelTimeout()

	// Any dialog (alert, confirm, prompt) is an injection that ran.
	var mu sync.Mutex
	var dialogs []string
	opened := chromedp.Events(ctx, page.JavascriptDialogOpening)
	go func() {
		for ev, err := range opened {
			if err != nil {
				return
			}
			mu.Lock()
			dialogs = append(dialogs, ev.Message)
			mu.Unlock()
			_, _ = chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
		}
	}()
	run := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return v
	}
	location := func() string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Location())
		if err != nil {
			t.Fatalf("location: %v", err)
		}
		return v
	}
	screenshot := func(name string) {
		t.Helper()
		png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		dir := t.TempDir()
		if os.Getenv("PORTOLAN_SCREENSHOTS") != "" {
			dir = filepath.Join("..", "..", "docs", "screenshots")
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	visible := func(sel string) chromedp.Action[chromedp.Void] { return chromedp.WaitVisible(chromedp.CSS(sel)) }

	// Unauthenticated: the sign-in page.
	run("sign-in page", chromedp.Navigate(s.URL+"/hosts/127.0.0.1"), visible("h1"))
	if loc, h1 := location(), text("h1"); !strings.Contains(loc, "/signin?next=") || h1 != "Sign in" {
		t.Fatalf("without a session: %s, %q", loc, h1)
	}
	screenshot("signin")

	// Sign in with the printed link: a session, then the search page.
	run("sign in", chromedp.Navigate(link), visible("#filter"))
	if loc := location(); loc != s.URL+"/search" {
		t.Fatalf("after the sign-in link: %s", loc)
	}
	if evalJS[bool](t, ctx, `document.cookie.includes('portolan_session')`) {
		t.Error("the session cookie is readable by script (not HttpOnly)")
	}

	// Keyboard only: skip link, filter, search, a host, its certificate.
	tabTo := func(what, js string) {
		t.Helper()
		for i := 0; i < 80; i++ {
			run("tab", chromedp.KeyEvent(kb.Tab))
			if evalJS[bool](t, ctx, js) {
				return
			}
		}
		t.Fatalf("Tab never reached %s", what)
	}
	enterAndWait := func(what, sel string) {
		t.Helper()
		run(what, chromedp.KeyEvent(kb.Enter), chromedp.Sleep(100*time.Millisecond), chromedp.WaitReady(chromedp.CSS("body")), visible(sel))
	}
	tabTo("the skip link", `document.activeElement.classList.contains('skip')`)
	run("skip", chromedp.KeyEvent(kb.Enter))
	tabTo("the filter box", `document.activeElement.id === 'filter'`)
	run("type the filter", chromedp.KeyEvent("port eq 18443 or port eq 18022"))
	tabTo("the search button", `document.activeElement.type === 'submit' && document.activeElement.textContent === 'Search'`)
	enterAndWait("search", "table.results")
	if got := text("p.count"); !strings.Contains(got, "2 ports match") {
		t.Errorf("keyboard search: %q", got)
	}
	tabTo("a host link", `document.activeElement.getAttribute('href') === '/hosts/127.0.0.1'`)
	enterAndWait("open the host", "svg.timeline-svg")
	tabTo("the first port's banner", `document.activeElement.tagName === 'SUMMARY'`)
	if evalJS[bool](t, ctx, `document.activeElement.closest('svg') !== null`) {
		t.Error("Tab stopped in the timeline")
	}
	run("open the banner", chromedp.KeyEvent(kb.Enter))
	if !evalJS[bool](t, ctx, `document.activeElement.parentElement.open`) {
		t.Error("Enter on a banner's summary does not open it")
	}
	tabTo("a certificate link", `(document.activeElement.getAttribute('href') || '').startsWith('/certificates/')`)
	enterAndWait("follow the certificate", "dl.facts")
	if loc, h1 := location(), text("h1"); !strings.Contains(loc, "/certificates/") || !strings.Contains(h1, "Certificate") {
		t.Errorf("keyboard path ended at %s, %q", loc, h1)
	}

	// The same with the mouse, and screenshots of each page.
	run("search page", chromedp.Navigate(s.URL+"/search?orderby=port&filter="+url.QueryEscape("portolan.inSubnet(host/id, '127.0.0.0/8')")), visible("table.results"))
	screenshot("search")
	run("host page", chromedp.Navigate(s.URL+"/hosts/127.0.0.1"), visible("svg.timeline-svg"))
	lanes := evalJS[int](t, ctx, `document.querySelectorAll('svg.timeline-svg .lane').length`)
	rows := evalJS[int](t, ctx, `document.querySelectorAll('table.ports tbody tr[id]').length`)
	timelineTitle := evalJS[string](t, ctx, `document.getElementById('timeline-title').textContent`)
	if lanes == 0 || lanes != rows || !strings.HasPrefix(timelineTitle, fmt.Sprintf("Timeline of %d ports", lanes)) {
		t.Errorf("timeline: %d lanes for %d ports, %q", lanes, rows, timelineTitle)
	}
	marks := evalJS[[]string](t, ctx, `[...document.querySelectorAll('svg.timeline-svg .mark')].map(c => c.getAttribute('class') + ': ' + c.textContent)`)
	kinds := map[string]int{}
	for _, m := range marks {
		kinds[strings.Fields(strings.TrimPrefix(m, "mark "))[0]]++
	}
	// The first sighting of every port is a mark of the change record (the
	// import created it); its banners are marked where first seen.
	if kinds["status:"] == 0 || kinds["banner:"] == 0 {
		t.Errorf("the timeline marks no first sighting or no banner: %v", kinds)
	}
	if legend := text("#timeline-legend"); !strings.Contains(legend, "status changed") || !strings.Contains(legend, "scanned, nothing else changed") {
		t.Errorf("the timeline's legend: %q", legend)
	}
	t.Logf("timeline of 127.0.0.1: %d lanes, %d marks (%v)", lanes, len(marks), kinds)
	screenshot("host")
	run("follow a certificate", chromedp.Click(chromedp.CSS(`table.ports a[href^="/certificates/"]`)), visible("dl.facts"))
	screenshot("certificate")
	run("changes page", chromedp.Navigate(s.URL+"/changes"), visible("table.changes"))
	screenshot("changes")

	// CSV export: click the link and read the file the browser saved.
	downloads := t.TempDir()
	if _, err := chromedp.Call(ctx, cdpbrowser.SetDownloadBehavior, cdpbrowser.SetDownloadBehaviorParams{
		Behavior: cdpbrowser.SetDownloadBehaviorBehaviorAllow, DownloadPath: downloads}); err != nil {
		t.Fatalf("downloads: %v", err)
	}
	run("csv", chromedp.Navigate(s.URL+"/search?filter="+url.QueryEscape("host/id eq '127.0.0.1'")), visible("table.results"),
		chromedp.Click(chromedp.CSS("a[download]")))
	var csvText string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if b, err := os.ReadFile(filepath.Join(downloads, "portolan-search.csv")); err == nil && len(b) > 0 {
			csvText = string(b)
			break
		}
	}
	csvLines := strings.Split(strings.TrimSpace(csvText), "\n")
	if len(csvLines) < 2 || !strings.HasPrefix(csvLines[0], "host,port,protocol,status,") || !strings.HasPrefix(csvLines[1], "127.0.0.1,") {
		t.Errorf("CSV export: %q", csvText)
	}

	// Injection cases: nothing runs, and the text shows as text.
	type pageState struct {
		Pwned      bool
		BodyHidden bool
		Images     int
	}
	checkInert := func(where string) {
		t.Helper()
		st := evalJS[pageState](t, ctx, `({Pwned: window.pwned !== undefined, BodyHidden: getComputedStyle(document.body).display === 'none',
			Images: document.querySelectorAll('img').length})`)
		mu.Lock()
		seen := append([]string(nil), dialogs...)
		mu.Unlock()
		if st.Pwned || st.BodyHidden || st.Images > 0 || len(seen) > 0 {
			t.Errorf("%s: injected code ran: %+v, dialogs %q", where, st, seen)
		}
	}
	run("hostile host", chromedp.Navigate(s.URL+"/hosts/192.0.2.66"), visible("table.ports"))
	body := evalJS[string](t, ctx, `document.querySelectorAll('details').forEach(d => d.open = true); document.body.innerText`)
	checkInert("host page")
	for _, want := range []string{xssScript, xssAttr, "SSH-2.0-" + xssScript + xssURL, "nginx" + xssAttr} {
		if !strings.Contains(body, want) {
			t.Errorf("the host page does not show %q as text", want)
		}
	}
	screenshot("injection")
	run("hostile certificate", chromedp.Click(chromedp.CSS(`table.ports a[href^="/certificates/"]`)), visible("dl.facts"))
	body = evalJS[string](t, ctx, `document.body.innerText`)
	checkInert("certificate page")
	for _, want := range []string{"evil.example" + xssScript, "Evil " + xssAttr, xssURL, xssCSS} {
		if !strings.Contains(body, want) {
			t.Errorf("the certificate page does not show %q as text", want)
		}
	}
	sanHref := evalJS[string](t, ctx, `[...document.querySelectorAll('ul.sans a')].find(a => a.textContent.startsWith('javascript:')).href`)
	if !strings.HasPrefix(sanHref, s.URL+"/search?") {
		t.Errorf("the javascript: alternative name links to %q", sanHref)
	}
	run("follow the javascript: SAN", chromedp.Click(chromedp.Search(`//ul[@class="sans"]//a[starts-with(., "javascript:")]`)), visible("#filter"))
	checkInert("search by the javascript: name")
	run("hostile search", chromedp.Navigate(s.URL+"/search?filter="+url.QueryEscape("host/id eq '192.0.2.66'")), visible("table.results"))
	checkInert("search page")
	if body := evalJS[string](t, ctx, `document.body.innerText`); !strings.Contains(body, "nginx"+xssAttr) {
		t.Errorf("the search page does not show the component name as text")
	}
	run("hostile changes", chromedp.Navigate(s.URL+"/changes"), visible("table.changes"))
	checkInert("changes page")
	// A hostile filter comes back in the error message, as text.
	run("hostile filter", chromedp.Navigate(s.URL+"/search?filter="+url.QueryEscape(xssAttr)), visible("#filter-error"))
	checkInert("filter error")
	if got := text("#filter-error"); !strings.HasPrefix(got, "Invalid filter clause") {
		t.Errorf("hostile filter: %q", got)
	}

	// Speed: server time and load of the host page of 1,000 ports and of a
	// search page of 100 rows, as Navigation Timing reports them, against
	// issue 13's goal. Other jobs on this machine's two cores slow the
	// browser down, so missing the goal is reported (with the load average
	// it was measured at) rather than failed, unless PORTOLAN_SPEED_STRICT
	// is set; only a median past speedBroken fails everywhere.
	var verdicts []string
	measure := func(what, u, sel string) {
		t.Helper()
		var totals, servers, bodies, dcls, cpus, layouts []float64
		before := loadAverage()
		for i := 0; i < 5; i++ {
			run(what, chromedp.Navigate(u), visible(sel), chromedp.Sleep(50*time.Millisecond))
			// The metrics start again with each document.
			m := mainThreadMetrics(t, ctx)
			cpus = append(cpus, 1000*m["TaskDuration"])
			layouts = append(layouts, 1000*(m["LayoutDuration"]+m["RecalcStyleDuration"]))
			nt := evalJS[navTiming](t, ctx, navTimingJS)
			totals = append(totals, nt.LoadEventEnd)
			servers = append(servers, nt.ResponseStart-nt.RequestStart)
			bodies = append(bodies, nt.ResponseEnd-nt.ResponseStart)
			dcls = append(dcls, nt.DOMContentLoaded)
		}
		for _, xs := range [][]float64{totals, servers, bodies, dcls, cpus, layouts} {
			sort.Float64s(xs)
		}
		t.Logf("%s: load (navigation start to load event end) median %.0f ms (min %.0f, max %.0f); of which server (request to first byte) %.0f ms, "+
			"body transfer %.0f ms, DOMContentLoaded at %.0f ms; the page's main thread spent %.0f ms of CPU (style and layout %.0f ms)",
			what, totals[2], totals[0], totals[4], servers[2], bodies[2], dcls[2], cpus[2], layouts[2])
		verdict := "MET"
		if totals[2] > speedGoal {
			verdict = "MISSED"
		}
		v := fmt.Sprintf("speed goal %s: %s loads in %.0f ms (median of 5; goal %.0f ms), server %.0f ms, at load average %s before and %s after, on %d CPUs",
			verdict, what, totals[2], speedGoal, servers[2], before, loadAverage(), runtime.NumCPU())
		verdicts = append(verdicts, v)
		switch {
		case totals[2] > speedBroken:
			t.Errorf("%s; past %.0f ms, this is no longer the machine's load", v, speedBroken)
		case verdict == "MISSED" && os.Getenv("PORTOLAN_SPEED_STRICT") != "":
			t.Errorf("%s (PORTOLAN_SPEED_STRICT is set)", v)
		}
	}
	measure("host page, 1,000 ports", s.URL+"/hosts/198.51.100.10", "svg.timeline-svg")
	if lanes := evalJS[int](t, ctx, `document.querySelectorAll('svg.timeline-svg .lane').length`); lanes != 1000 {
		t.Errorf("the 1,000-port host has %d lanes", lanes)
	}
	screenshot("host-1000-ports")
	measure("search page, 100 rows", s.URL+"/search?filter="+url.QueryEscape("host/id eq '198.51.100.10'"), "table.results")
	if rows := evalJS[int](t, ctx, `document.querySelectorAll('table.results tbody tr').length`); rows != 100 {
		t.Errorf("the search page has %d rows, want 100", rows)
	}
	for _, v := range verdicts {
		t.Log(v)
	}

	// Narrow screens: nothing wider than 360 px but the scrolling boxes.
	run("360 px", chromedp.EmulateViewport(360, 740), chromedp.Navigate(s.URL+"/hosts/127.0.0.1"), visible("table.ports"))
	if evalJS[bool](t, ctx, `document.documentElement.scrollWidth > window.innerWidth`) {
		t.Error("at 360 px the host page scrolls sideways")
	}
	if w := evalJS[float64](t, ctx, `document.querySelector('svg.timeline-svg').getBoundingClientRect().width`); w < 600 {
		t.Errorf("at 360 px the timeline shrinks to %.0f px rather than scrolling in its box", w)
	}
	screenshot("host-360px")

	// Contrast (WCAG AA) of every text on every page, light and dark, and
	// a screenshot of the host page in the dark scheme.
	run("wide again", chromedp.EmulateViewport(1280, 800))
	contrastPages := map[string]string{
		"search": s.URL + "/search?orderby=port&filter=" + url.QueryEscape("portolan.inSubnet(host/id, '127.0.0.0/8')"),
		"host":   s.URL + "/hosts/127.0.0.1", "changes": s.URL + "/changes",
		"bad filter": s.URL + "/search?filter=port+eq", "host of 1,000 ports": s.URL + "/hosts/198.51.100.10",
	}
	for _, scheme := range []string{"light", "dark"} {
		if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}}}); err != nil {
			t.Fatalf("emulate %s: %v", scheme, err)
		}
		for name, u := range contrastPages {
			run(name, chromedp.Navigate(u), visible("h1"), chromedp.Evaluate[chromedp.Void](`document.querySelectorAll('details').forEach(d => d.open = true)`))
			if res := evalJS[contrastResult](t, ctx, contrastJS); len(res.Low) > 0 || res.Checked < 10 {
				t.Errorf("%s, %s scheme: %d texts checked, below WCAG AA contrast: %q", name, scheme, res.Checked, res.Low)
			}
		}
		if scheme == "dark" {
			run("dark host", chromedp.Navigate(s.URL+"/hosts/127.0.0.1"), visible("svg.timeline-svg"))
			screenshot("host-dark")
		}
	}
	if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{}); err != nil {
		t.Fatal(err)
	}

	// Sign out (POST with the CSRF token): the pages then ask to sign in.
	run("sign out", chromedp.EmulateViewport(1280, 800), chromedp.Navigate(s.URL+"/search"), visible("form.signout button"),
		chromedp.Click(chromedp.CSS("form.signout button")), visible("p.note"),
		chromedp.Navigate(s.URL+"/search"), visible("h1"))
	if loc := location(); !strings.Contains(loc, "/signin") {
		t.Errorf("after sign-out /search went to %s", loc)
	}
	// The link is spent; a token from `portolan token` signs in again.
	run("the link again", chromedp.Navigate(link), visible("p.error"))
	if got := text("p.error"); !strings.Contains(got, "used or expired") {
		t.Errorf("the sign-in link a second time: %q", got)
	}
	run("token sign-in", chromedp.Navigate(s.URL+"/hosts/127.0.0.1"), visible("#token"), chromedp.SendKeys(chromedp.ID("token"), token),
		chromedp.Submit(chromedp.ID("token")), visible("svg.timeline-svg"))
	if loc := location(); loc != s.URL+"/hosts/127.0.0.1" {
		t.Errorf("after the token sign-in: %s", loc)
	}
	s.stop(t)
}

// contrastJS lists the texts of the page whose colour against their
// background falls below WCAG AA (4.5:1, or 3:1 for large text), computed
// from the styles in force.
const contrastJS = `(() => {
  const parse = c => { const m = /rgba?\(([^)]+)\)/.exec(c); if (!m) return null;
    const p = m[1].split(/[\s,\/]+/).filter(Boolean).map(Number); return {r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1}; };
  const lum = c => { const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b); };
  const bgOf = el => { for (let e = el; e; e = e.parentElement) { const c = parse(getComputedStyle(e).backgroundColor); if (c && c.a > 0) return c; }
    return parse(getComputedStyle(document.documentElement).backgroundColor) || {r: 255, g: 255, b: 255, a: 1}; };
  const low = [], seen = new Set();
  const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walk.nextNode()) {
    const n = walk.currentNode, el = n.parentElement;
    if (!n.textContent.trim() || seen.has(el)) continue;
    seen.add(el);
    const st = getComputedStyle(el);
    if (st.display === 'none' || st.visibility === 'hidden' || el.closest('title, .skip')) continue;
    const fg = parse(el.closest('svg') ? st.fill : st.color);
    if (!fg) continue;
    const bg = bgOf(el), a = lum(fg), b = lum(bg), ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    const size = parseFloat(st.fontSize), large = size >= 24 || (parseInt(st.fontWeight) >= 700 && size >= 18.66);
    if (ratio < (large ? 3 : 4.5)) low.push(el.tagName + ' "' + n.textContent.trim().slice(0, 30) + '" ' + ratio.toFixed(2));
  }
  return {Checked: seen.size, Low: low};
})()`

// contrastResult is what contrastJS returns.
type contrastResult struct {
	Checked int
	Low     []string
}

// mainThreadMetrics reads Chromium's run-time metrics of the page; with
// the thread-ticks time domain, durations are CPU time of the renderer's
// main thread, which other jobs on the machine do not inflate.
// speedGoal is issue 13's goal for the load of the host page of 1,000 ports
// and of a search page of 100 rows, in milliseconds; speedBroken is ten
// times that, which no load of this machine explains.
const (
	speedGoal   = 300.0
	speedBroken = 3000.0
)

// loadAverage is the system's load average over 1, 5 and 15 minutes, as
// /proc/loadavg says ("unknown" elsewhere).
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) >= 3 {
		return strings.Join(f[:3], " / ")
	}
	return "unknown"
}

func mainThreadMetrics(t *testing.T, ctx context.Context) map[string]float64 {
	t.Helper()
	_, _ = chromedp.Call(ctx, performance.Disable, cdp.Empty{})
	if _, err := chromedp.Call(ctx, performance.Enable, performance.EnableParams{TimeDomain: performance.EnableTimeDomainThreadTicks}); err != nil {
		t.Fatalf("performance metrics: %v", err)
	}
	res, err := chromedp.Call(ctx, performance.GetMetrics, cdp.Empty{})
	if err != nil {
		t.Fatalf("performance metrics: %v", err)
	}
	m := map[string]float64{}
	for _, x := range res.Metrics {
		m[x.Name] = x.Value
	}
	return m
}

// evalJS evaluates js in the page and decodes its value.
func evalJS[T any](t *testing.T, ctx context.Context, js string, opts ...chromedp.EvaluateOption) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js, opts...))
	if err != nil {
		t.Fatalf("evaluate %.60s: %v", js, err)
	}
	return v
}
