// SPDX-License-Identifier: Apache-2.0

package ingest_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"portolan"
	"portolan/internal/ingest"
)

// crossScannerSets are real captures of the same services on 127.0.0.1
// (httpx's are built from its result type: testdata/README.md of
// internal/ingest/httpx), one set per lab, since a port number was reused
// for another service between the two. Each set goes into a store of its
// own.
var crossScannerSets = []struct {
	name  string
	files []string
	// want is, per port, every component the port must list, by
	// "name version" ("name" without a version), and nothing else.
	want map[int][]string
}{
	{
		name: "lab 2026-11-27: nginx, python http.server, openssl s_server, OpenSSH",
		files: []string{
			"nmap/testdata/nmap_sV_scripts_5ports.xml", "nmap/testdata/nmap_sV_scripts_5ports.gnmap", "nmap/testdata/nmap_sV_sslcert_18080_18443.xml",
			"zgrab2/testdata/zgrab2_http.jsonl", "zgrab2/testdata/zgrab2_http_https.jsonl", "zgrab2/testdata/zgrab2_tls.jsonl", "zgrab2/testdata/zgrab2_ssh.jsonl",
			"masscan/testdata/masscan_hello_http_18080_18081_oX.xml", "masscan/testdata/masscan_banners_oX.xml", "masscan/testdata/masscan_banners_oG.txt",
			"masscan/testdata/masscan_banners_80_443_oB.bin",
			"httpx/testdata/httpx_built_from_result_type.jsonl",
		},
		want: map[int][]string{
			80:    {"nginx 1.22.1"},
			443:   {},
			18022: {"Debian", "OpenSSH 9.2p1"},
			18080: {"Python 3.11.7", "SimpleHTTP 0.6"},
			18081: {"nginx 1.22.1"},
			18443: {"OpenSSL"},
			18444: {"nginx 1.22.1"},
		},
	},
	{
		name: "2026-12-04: MariaDB, PostgreSQL, Redis, python http.server, openssl s_server",
		files: []string{
			"nmap/testdata/nmap_sV_db_http_tls.xml", "nmap/testdata/nmap_sV_db_http_tls.gnmap",
			"zgrab2/testdata/zgrab2_mysql_3306.jsonl", "zgrab2/testdata/zgrab2_redis_6379.jsonl", "zgrab2/testdata/zgrab2_postgres_5432.jsonl",
			"zgrab2/testdata/zgrab2_jarm_5432.jsonl",
			"masscan/testdata/masscan_ns_6379_18081_18443_oB.bin",
		},
		want: map[int][]string{
			3306: {"Debian", "MariaDB 10.11.19"},
			5432: {"PostgreSQL"},
			// Redis's INFO names the kernel; masscan's observation holds
			// the protected-mode refusal, which names Redis without a
			// version, and nmap's and zgrab2's versioned one replaces it.
			6379:  {"Linux", "Redis 7.0.15"},
			18081: {"SimpleHTTP 0.6"}, // nmap's -sV only: "Python 3.11.7" is its extra information, not a product
			18443: {"OpenSSL"},
		},
	},
	{
		// Real httpx v1.7.1 and naabu v2.3.5 output (a session later:
		// the module proxy then served them), with nmap of the same
		// services in one network namespace.
		name: "2026-12-04 (httpx, naabu): Redis, python http.server, nginx, openssl s_server",
		files: []string{
			"nmap/testdata/nmap_sV_httpx_naabu_lab.xml", "nmap/testdata/nmap_sV_httpx_naabu_lab.gnmap",
			"httpx/testdata/httpx_lab_2026-12-04.jsonl", "naabu/testdata/naabu_lab_2026-12-04.jsonl",
		},
		want: map[int][]string{
			6379:  {"Redis 7.0.15"},
			18081: {"Python 3.11.7", "SimpleHTTP 0.6"}, // httpx's wappalyzer names both
			18082: {"nginx 1.22.1"},                    // httpx's "Nginx", nmap's "nginx"
			18443: {"OpenSSL"},
			18444: {"nginx 1.22.1"},
		},
	},
	{
		name: "2026-12-04: Exim, Dovecot, vsftpd, telnetd, Samba, CUPS, NTPsec",
		files: []string{
			"nmap/testdata/nmap_sV_mail_ftp_telnet_smb_ipp_ntp.xml", "nmap/testdata/nmap_sV_mail_ftp_telnet_smb_ipp_ntp.gnmap",
			"zgrab2/testdata/zgrab2_smtp_25_starttls.jsonl", "zgrab2/testdata/zgrab2_imap_143_starttls.jsonl",
			"zgrab2/testdata/zgrab2_imap_993_imaps.jsonl", "zgrab2/testdata/zgrab2_pop3_110_starttls.jsonl",
			"zgrab2/testdata/zgrab2_pop3_995_pop3s.jsonl", "zgrab2/testdata/zgrab2_ftp_21_authtls.jsonl",
			"zgrab2/testdata/zgrab2_banner_21.jsonl", "zgrab2/testdata/zgrab2_telnet_23.jsonl",
			"zgrab2/testdata/zgrab2_smb_445.jsonl", "zgrab2/testdata/zgrab2_ipp_631.jsonl",
			"zgrab2/testdata/zgrab2_ntp_123.jsonl", "zgrab2/testdata/zgrab2_jarm_993.jsonl",
		},
		want: map[int][]string{
			21:  {"vsftpd 3.0.3"},
			23:  {}, // inetutils telnetd names only the kernel, and nmap nothing
			25:  {"Exim 4.96"},
			110: {"Debian", "Dovecot"},
			123: {"NTP"}, // udp; nmap's "NTP v4" is the protocol's version, not NTPsec's 1.2.2
			143: {"Debian", "Dovecot"},
			445: {"Samba"}, // nmap's "4.6.2" is a fixed string for any Samba refusing SMBv1; 4.17.12 ran
			631: {"CUPS 2.4"},
			993: {"Debian", "Dovecot"},
			995: {"Debian", "Dovecot"},
		},
	},
}

// TestOneComponentPerProductAcrossScanners ingests captures of the same
// services by nmap (-oX and -oG), zgrab2, masscan (-oX, -oG, -oB) and httpx
// into one store, and checks each port's components: one per product,
// whichever scanners named it and however, and none for software that was
// not running.
func TestOneComponentPerProductAcrossScanners(t *testing.T) {
	for _, set := range crossScannerSets {
		t.Run(set.name, func(t *testing.T) {
			db := openStore(t)
			in := &ingest.Ingester{Store: db}
			for _, f := range set.files {
				if sum := ingestFile(t, in, f); sum.Rejected != 0 || sum.Observations == 0 {
					t.Fatalf("%s: %d observations, %d rejected", filepath.Base(f), sum.Observations, sum.Rejected)
				}
			}
			ports, _, err := db.FindHostPorts(context.Background(), portolan.HostPortFilter{Host: "127.0.0.1"})
			if err != nil {
				t.Fatal(err)
			}
			seen := map[int]bool{}
			for _, hp := range ports {
				want, ok := set.want[hp.Port]
				if !ok {
					continue // a port of one scanner only (closed probes)
				}
				seen[hp.Port] = true
				var got []string
				byName := map[string]int{}
				for _, s := range hp.Services {
					c := s.Component
					byName[strings.ToLower(c.Name)]++
					got = append(got, strings.TrimSpace(c.Name+" "+c.Version))
				}
				slices.Sort(got)
				for name, n := range byName {
					if n > 1 {
						t.Errorf("port %d lists %s %d times: %q", hp.Port, name, n, got)
					}
				}
				if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Errorf("port %d components %q, want %q", hp.Port, got, want)
				}
			}
			for p := range set.want {
				if !seen[p] {
					t.Errorf("port %d has no record", p)
				}
			}
		})
	}
}

// TestDescribedCertificateGivesWayToDER ingests httpx's capture, which
// describes the lab's certificate without its DER, and nmap's, whose
// ssl-cert script gives the DER, in both orders: either way the store
// serves the certificate the DER says (with the IP name httpx leaves out),
// and both ports point at it.
func TestDescribedCertificateGivesWayToDER(t *testing.T) {
	ctx := context.Background()
	const leaf = "4a34bd0eaed5c0d734c35f55ddb6c3420e3a2e10"
	files := []string{"httpx/testdata/httpx_lab_2026-12-04.jsonl", "nmap/testdata/nmap_sV_httpx_naabu_lab.xml"}
	var served []string
	for _, order := range [][]string{files, {files[1], files[0]}} {
		db := openStore(t)
		in := &ingest.Ingester{Store: db}
		for _, f := range order {
			ingestFile(t, in, f)
		}
		c, err := db.FindSSLCertificateByID(ctx, portolan.SSLCertificateID(leaf))
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(c.Subject.AlternateNames) != "[portolan-lab.test 127.0.0.1]" {
			t.Errorf("order %v: alternate names %v, want the DER's", order, c.Subject.AlternateNames)
		}
		for _, port := range []int{18443, 18444} {
			hp, err := db.FindHostPortByID(ctx, portolan.HostPortID("127.0.0.1", portolan.TCP, port))
			if err != nil {
				t.Fatal(err)
			}
			if hp.MostRecentSSLCertificateID != c.ID {
				t.Errorf("order %v: port %d's certificate %q, want %q", order, port, hp.MostRecentSSLCertificateID, c.ID)
			}
		}
		c.FirstSeenDateTime, c.LastSeenDateTime = time.Time{}, time.Time{}
		served = append(served, fmt.Sprintf("%+v", *c))
	}
	if served[0] != served[1] {
		t.Errorf("the order of the files changed the certificate:\n%s\n%s", served[0], served[1])
	}
}
