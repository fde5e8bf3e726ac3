// SPDX-License-Identifier: Apache-2.0

package nmap_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"portolan"
)

// onePort reads a document with one open port carrying the given <service>
// and <script> elements and returns that port's observation.
func onePort(t *testing.T, inner string) *portolan.Observation {
	t.Helper()
	res, err := readAll(t, run(host+`<ports><port protocol="tcp" portid="1"><state state="open" reason="syn-ack" reason_ttl="64"/>`+inner+`</port></ports></host>`))
	if err != nil || len(res.Bad) > 0 || len(res.Obs) != 1 {
		t.Fatalf("read: %+v", res)
	}
	return res.Obs[0]
}

func osComp(name, version string) portolan.Component {
	return portolan.Component{Name: name, Version: version, Category: "Operating System"}
}

func TestComponents(t *testing.T) {
	cases := []struct {
		name    string
		service string
		want    []portolan.Component
	}{
		{
			name:    "OpenSSH on Debian: upstream version, distribution and kernel apart",
			service: `<service name="ssh" product="OpenSSH" version="9.2p1 Debian 2+deb12u10" extrainfo="protocol 2.0" ostype="Linux" method="probed" conf="10"><cpe>cpe:/a:openbsd:openssh:9.2p1</cpe><cpe>cpe:/o:linux:linux_kernel</cpe></service>`,
			want:    []portolan.Component{{Name: "OpenSSH", Version: "9.2p1", Category: "Remote Access"}, osComp("Debian", ""), osComp("Linux", "")},
		},
		{
			name:    "OpenSSH on Ubuntu, named in version and extrainfo",
			service: `<service name="ssh" product="OpenSSH" version="8.2p1 Ubuntu 4ubuntu0.5" extrainfo="Ubuntu Linux; protocol 2.0" ostype="Linux" method="probed" conf="10"/>`,
			want:    []portolan.Component{{Name: "OpenSSH", Version: "8.2p1", Category: "Remote Access"}, osComp("Ubuntu", ""), osComp("Linux", "")},
		},
		{
			name:    "a package revision glued to the version",
			service: `<service name="mysql" product="MySQL" version="5.7.33-0ubuntu0.16.04.1" method="probed" conf="10"/>`,
			want:    []portolan.Component{{Name: "MySQL", Version: "5.7.33", Category: "Database"}, osComp("Ubuntu", "")},
		},
		{
			name:    "a Debian revision after a dash",
			service: `<service name="http" product="Apache httpd" version="2.4.25-3+deb9u13" method="probed" conf="10"/>`,
			want:    []portolan.Component{{Name: "Apache httpd", Version: "2.4.25", Category: "Server"}, osComp("Debian", "")},
		},
		{
			name:    "distribution in extrainfo only",
			service: `<service name="http" product="Apache httpd" version="2.4.6" extrainfo="(CentOS)" method="probed" conf="10"/>`,
			want:    []portolan.Component{{Name: "Apache httpd", Version: "2.4.6", Category: "Server"}, osComp("CentOS", "")},
		},
		{
			name:    "Red Hat, two words",
			service: `<service name="http" product="Apache httpd" version="2.2.15" extrainfo="(Red Hat)" method="probed" conf="10"/>`,
			want:    []portolan.Component{{Name: "Apache httpd", Version: "2.2.15", Category: "Server"}, osComp("Red Hat", "")},
		},
		{
			name:    "a version naming no distribution is kept whole",
			service: `<service name="ftp" product="vsftpd" version="2.0.8 or later" method="probed" conf="10"/>`,
			want:    []portolan.Component{{Name: "vsftpd", Version: "2.0.8 or later", Category: "Server"}},
		},
		{
			name:    "a dash that is part of the upstream version",
			service: `<service name="http" product="Jetty" version="9.4.z-SNAPSHOT" method="probed" conf="10"/>`,
			want:    []portolan.Component{{Name: "Jetty", Version: "9.4.z-SNAPSHOT", Category: "Server"}},
		},
		{
			name:    "RDP on Windows from ostype and cpe",
			service: `<service name="ms-wbt-server" product="Microsoft Terminal Services" ostype="Windows" method="probed" conf="10"><cpe>cpe:/o:microsoft:windows</cpe></service>`,
			want:    []portolan.Component{{Name: "Microsoft Terminal Services", Version: "", Category: "Remote Access"}, osComp("Windows", "")},
		},
		{
			name:    "a release number in a cpe:/o: is the system's version",
			service: `<service name="http" product="nginx" method="probed" conf="10"><cpe>cpe:/o:debian:debian_linux:12</cpe><cpe>cpe:/o:linux:linux_kernel:6.1</cpe></service>`,
			want:    []portolan.Component{{Name: "nginx", Version: "", Category: "Server"}, osComp("Debian", "12"), osComp("Linux", "6.1")},
		},
		{
			name:    "a cpe:/o: version that is no release number is dropped",
			service: `<service name="microsoft-ds" product="Microsoft Windows Server 2008 R2 microsoft-ds" ostype="Windows" method="probed" conf="10"><cpe>cpe:/o:microsoft:windows_server_2008:r2</cpe></service>`,
			want:    []portolan.Component{{Name: "Microsoft Windows Server 2008 R2 microsoft-ds", Version: "", Category: "Server"}, osComp("Windows", "")},
		},
		{
			name:    "mail servers",
			service: `<service name="smtp" product="Postfix smtpd" hostname="mail.example.test" method="probed" conf="10"><cpe>cpe:/a:postfix:postfix</cpe></service>`,
			want:    []portolan.Component{{Name: "Postfix smtpd", Version: "", Category: "Mail Server"}},
		},
		{
			name:    "databases",
			service: `<service name="redis" product="Redis key-value store" version="7.0.11" method="probed" conf="10"/>`,
			want:    []portolan.Component{{Name: "Redis key-value store", Version: "7.0.11", Category: "Database"}},
		},
		{
			name:    "an operating system without a product",
			service: `<service name="ssh" ostype="Linux" method="probed" conf="10"/>`,
			want:    []portolan.Component{osComp("Linux", "")},
		},
		{
			name:    "a table guess names no product",
			service: `<service name="http" method="table" conf="3"/>`,
		},
		{
			name: "no service",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := onePort(t, c.service)
			if diff := cmp.Diff(c.want, o.Components); diff != "" {
				t.Errorf("components (-want +got):\n%s", diff)
			}
		})
	}
}

func TestScanProtocol(t *testing.T) {
	cases := []struct{ service, want string }{
		{`<service name="http" method="probed" conf="10"/>`, "http"},
		{`<service name="http" tunnel="ssl" method="probed" conf="10"/>`, "ssl/http"},
		{`<service name="imap" tunnel="ssl" method="probed" conf="10"/>`, "ssl/imap"},
		{`<service name="unknown" method="table" conf="3"/>`, ""},
		{`<service name="unknown" tunnel="ssl" method="probed" conf="3"/>`, ""},
		{``, ""},
		// nmap 7.93's mqtt-subscribe names the service after the broker's
		// version (testdata/nmap_sV_sC_brokers.xml).
		{`<service name="mosquitto version 2.0.11" method="probed" conf="10"/><script id="mqtt-subscribe" output="&#xa;  Topics and their most recent payloads: &#xa;"/>`, "mqtt"},
		{`<service name="some product 1.0" method="probed" conf="10"/>`, ""},
	}
	for _, c := range cases {
		if got := onePort(t, c.service).ScanProtocol; got != c.want {
			t.Errorf("%s: scanProtocol %q, want %q", c.service, got, c.want)
		}
	}
}

func TestBanner(t *testing.T) {
	const (
		bannerScript = `<script id="banner" output="220 mail.example.test ESMTP Postfix"/>`
		headers      = `<script id="http-headers" output="&#xa;  Server: nginx/1.22.1&#xa;  Date: Fri, 27 Nov 2026 11:54:40 GMT&#xa;  Content-Type: text/html&#xa;  Connection: close&#xa;  &#xa;  (Request type: HEAD)&#xa;"/>`
		serverHeader = `<script id="http-server-header" output="nginx/1.22.1"><elem>nginx/1.22.1</elem></script>`
		title        = `<script id="http-title" output="Lab test page"><elem key="title">Lab test page</elem></script>`
	)
	cases := []struct {
		name, scripts, want string
	}{
		{"the banner script", bannerScript + headers + serverHeader, "220 mail.example.test ESMTP Postfix"},
		{"http-headers: the response head", serverHeader + headers + title, "Server: nginx/1.22.1\r\nDate: Fri, 27 Nov 2026 11:54:40 GMT\r\nContent-Type: text/html\r\nConnection: close"},
		{"http-server-header as a Server line", title + serverHeader, "Server: nginx/1.22.1"},
		{"http-server-header without structured output", `<script id="http-server-header" output="Apache/2.4.57 (Debian)"/>`, "Server: Apache/2.4.57 (Debian)"},
		{"a failed script is not the service talking", `<script id="http-headers" output="ERROR: Script execution failed (use -d to debug)"/>` + serverHeader, "Server: nginx/1.22.1"},
		{"the banner is kept raw", `<script id="banner" output="SSH-2.0-Go\x0D\x0A  "/>`, `SSH-2.0-Go\x0D\x0A  `},
		{"no banner", title, ""},
		{"mqtt-subscribe: the broker's topics", `<script id="mqtt-subscribe" output="&#xa;  Topics and their most recent payloads: &#xa;    $SYS/broker/version: mosquitto version 2.0.11&#xa;"/>`,
			"\n  Topics and their most recent payloads: \n    $SYS/broker/version: mosquitto version 2.0.11\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := onePort(t, `<service name="http" method="probed" conf="10"/>`+c.scripts)
			if o.Banner != c.want {
				t.Errorf("banner %q, want %q", o.Banner, c.want)
			}
		})
	}
}

// TestFingerprintBanner reads the banner of a service -sV could not name
// from its fingerprint (<service servicefp>), after every script.
func TestFingerprintBanner(t *testing.T) {
	const nats = `SF-Port4222-TCP:V=7.93%I=7%D=12/4%Time=6B134CB9%P=x86_64-pc-linux-gnu%r(NULL,2E,"INFO\x20{\"server_id\":\"N1\",\"version\":\"2\.9\.10\"}\x20\r\n")%r(GenericLines,A,"-ERR\x20x\r\n");`
	cases := []struct {
		name, inner, want string
	}{
		{"the NULL probe's answer, unescaped", `<service name="vrml-multi-use" servicefp='` + nats + `' method="table" conf="3"/>`,
			"INFO {\"server_id\":\"N1\",\"version\":\"2.9.10\"} \r\n"},
		{"a script's banner comes first", `<service name="x" servicefp='` + nats + `' method="table" conf="3"/><script id="banner" output="hello"/>`, "hello"},
		{"a binary greeting is written \\xHH", `<service name="telnet" servicefp='SF-Port23-TCP:V=7.93%I=7%r(NULL,6,"\xff\xfb%\xff\xfd\0")%r(GetRequest,1,"x");' method="probed" conf="10"/>`,
			`\xff\xfb%\xff\xfd\x00`},
		{"an HTTP answer to GetRequest gives its head", `<service name="http" servicefp='SF-Port8000-TCP:V=7.93%I=7%r(GetRequest,2D,"HTTP/1\.0\x20200\x20OK\r\nServer:\x20lab/1\.0\r\n\r\n&lt;html&gt;")%r(HTTPOptions,1,"x");' method="probed" conf="10"/>`,
			"HTTP/1.0 200 OK\r\nServer: lab/1.0"},
		{"an answer to GetRequest that is not HTTP is no banner", `<service name="x" servicefp='SF-Port9-TCP:V=7.93%I=7%r(GetRequest,3,"abc");' method="probed" conf="10"/>`, ""},
		{"normal output's wrapped lines", `<service name="x" servicefp='SF-Port9-TCP:V=7.93%I=7%r(NULL,B,"hello\x20&#xa;SF:world");' method="probed" conf="10"/>`, "hello world"},
		{"an answer cut short is no banner", `<service name="x" servicefp='SF-Port9-TCP:V=7.93%I=7%r(NULL,10,"hello' method="probed" conf="10"/>`, ""},
		{"a bad escape is no banner", `<service name="x" servicefp='SF-Port9-TCP:V=7.93%I=7%r(NULL,2,"\xZZ");' method="probed" conf="10"/>`, ""},
		{"a probe's name inside another answer is not its answer", `<service name="x" servicefp='SF-Port9-TCP:V=7.93%I=7%r(GenericLines,9,"xr(NULL,1,")%r(NULL,2,"ok");' method="probed" conf="10"/>`, "ok"},
		{"UTF-8 stays as it is", `<service name="x" servicefp='SF-Port9-TCP:V=7.93%I=7%r(NULL,6,"caf\xc3\xa9\r\n");' method="probed" conf="10"/>`, "café\r\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := onePort(t, c.inner).Banner; got != c.want {
				t.Errorf("banner %q, want %q", got, c.want)
			}
		})
	}
}
