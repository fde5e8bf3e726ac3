// SPDX-License-Identifier: Apache-2.0

package zgrab2

import (
	"encoding/base64"
	"fmt"
	"net"
	"net/textproto"
	"slices"
	"strconv"
	"strings"
	"time"

	"portolan"
	"portolan/internal/ingest/scan"
)

// adapt queues with rs one observation, or record error, per module result
// of g.
func (r *Reader) adapt(rs *scan.Records[*portolan.Observation], g *grab) {
	host := g.IP
	if host == "" {
		host = g.Domain
	}
	if host == "" {
		rs.Reject("the record has neither ip nor domain")
		return
	}
	if len(g.Data) == 0 {
		rs.Reject("the record has no module results (data)")
		return
	}
	// JSON objects are unordered and Go maps more so: sort, so that the
	// same file always gives the same sequence.
	names := make([]string, 0, len(g.Data))
	for name := range g.Data {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		o, reason := r.module(g, host, name, g.Data[name])
		if reason != "" {
			rs.Reject("module %s: %s", strconv.Quote(name), reason)
			continue
		}
		rs.Emit(o)
	}
}

// module turns one module result into an observation, or says why it
// cannot.
func (r *Reader) module(g *grab, host, name string, m *moduleEntry) (*portolan.Observation, string) {
	if m == nil {
		return nil, "the result is null"
	}
	if m.Timestamp == "" {
		return nil, "the result has no timestamp"
	}
	at, err := time.Parse(time.RFC3339Nano, m.Timestamp)
	if err != nil {
		return nil, "timestamp " + quote(m.Timestamp) + " is not RFC 3339"
	}
	status, reason := statusOf(m)
	if reason != "" {
		return nil, reason
	}
	port, ok := r.portOf(g, name, m)
	if !ok {
		return nil, `the record has no "port" (zgrab2 writes it only when the input line carries one): pass --port with the port that was scanned, or --module-port ` + name + `=PORT for this module of a multiple run`
	}
	o := &portolan.Observation{
		Host:         host,
		Port:         port,
		Protocol:     transportOf(m.Protocol),
		Status:       status,
		SeenAt:       at,
		ScannedAt:    at,
		Source:       Source,
		ScanProtocol: m.Protocol,
	}
	if g.Domain != "" && g.IP != "" {
		o.Hostnames = []string{g.Domain}
	}
	res := m.Result
	switch {
	case res == nil:
	case res.Response != nil && (res.Response.StatusLine != "" || res.Response.StatusCode != 0):
		// http, or a module that speaks HTTP (ipp) under its own name.
		if o.ScanProtocol == "" {
			o.ScanProtocol = "http"
		}
		o.Banner = httpHead(res.Response)
		if req := res.Response.Request; req != nil && req.TLSLog != nil {
			o.Certificate = decodeCert(req.TLSLog.LeafRaw)
		}
	case res.HandshakeLog != nil:
		o.ScanProtocol = "tls"
		o.Certificate = decodeCert(res.HandshakeLog.LeafRaw)
	case res.ServerID != nil:
		o.ScanProtocol = "ssh"
		o.Banner = sshIdentification(res.ServerID)
	case res.Banner != "":
		o.Banner = res.Banner
	}
	if res != nil {
		// Any module's TLS log: implicit TLS or STARTTLS.
		if o.Certificate == nil && res.TLS != nil {
			o.Certificate = decodeCert(res.TLS.LeafRaw)
		}
		o.Components = moduleComponents(m.Protocol, res)
	}
	return o, ""
}

// udpModules are the zgrab2 modules that dial UDP (their scanners set
// zgrab2.TransportUDP); all others speak over TCP. The result does not say
// which transport was used, so it is known by the module's protocol.
// omronfins dials UDP unless run with --tcp, which its output does not
// record: it is read as UDP, its default.
var udpModules = map[string]bool{"ntp": true, "bacnet": true, "omronfins": true}

// transportOf returns the transport of a module's protocol.
func transportOf(protocol string) portolan.Protocol {
	if udpModules[protocol] {
		return portolan.UDP
	}
	return portolan.TCP
}

// Categories of the components the modules name, in Defender TI's words
// (intelligence.md §5); the fingerprint rules' alias table has the last
// word on them.
const (
	categoryDatabase      = "Database"
	categoryCache         = "Cache"
	categoryMessageBroker = "Message Broker"
	categoryServer        = "Server"
	categoryIndustrial    = "Industrial Control"
)

// moduleComponents are the components a module's version fields name,
// keyed by the module's protocol (zgrab2 writes it whatever name a
// `multiple` run gives the module). Versions go through
// portolan.SplitVersion, so that a distribution's package revision becomes
// an Operating System component and MariaDB's "5.5.5-" MySQL version keeps
// what the fingerprint rules need to name MariaDB.
func moduleComponents(protocol string, res *result) []portolan.Component {
	var out []portolan.Component
	product := func(name, version, category string) {
		upstream, systems := portolan.SplitVersion(strings.TrimSpace(version))
		out = append(out, portolan.Component{Name: name, Version: upstream, Category: category})
		out = append(out, systems...)
	}
	switch protocol {
	case "mysql":
		if res.ServerVersion != "" {
			product("MySQL", res.ServerVersion, categoryDatabase)
		}
	case "redis":
		v := res.Version
		if v == "" {
			v = infoField(res.InfoResponse, "redis_version")
		}
		if v != "" {
			product("Redis", v, categoryDatabase)
		}
		out = append(out, portolan.OperatingSystemsIn(res.OS)...)
	case "memcached":
		if res.Version != "" {
			product("Memcached", res.Version, categoryCache)
		}
	case "mssql":
		if res.Version != "" {
			product("Microsoft SQL Server", res.Version, categoryDatabase)
		}
	case "amqp091":
		if res.AMQPProduct != "" {
			product(res.AMQPProduct, res.AMQPVersion, categoryMessageBroker)
		}
	case "postgres":
		if v, ok := postgresParam(res.PostgresParams, "server_version"); ok {
			product("PostgreSQL", v, categoryDatabase)
		} else if res.PostgresError {
			// Without a login the server only says which protocol it
			// speaks: PostgreSQL, version unknown.
			product("PostgreSQL", "", categoryDatabase)
		}
	case "mongodb":
		if res.MongoVersion != "" {
			product("MongoDB", res.MongoVersion, categoryDatabase)
		}
	case "ipp":
		// "CUPS/2.4": CUPS names itself only in that field.
		if name, v, ok := strings.Cut(res.CUPSVersion, "/"); ok && strings.EqualFold(name, "CUPS") {
			product("CUPS", v, categoryServer)
		}
	case "oracle":
		if res.OracleNSNVersion != "" {
			product("Oracle Database", res.OracleNSNVersion, categoryDatabase)
		}
	case "smb":
		// Samba answers SMBv1's session setup with native_os "Windows
		// 6.1", a stand-in for old clients, and names itself and its
		// version in the LAN manager field: a Samba is never a Windows.
		if name, v, ok := strings.Cut(res.NativeLanMan, " "); ok && strings.EqualFold(name, "Samba") {
			product("Samba", v, categoryServer)
		} else {
			out = append(out, portolan.OperatingSystemsIn(res.NativeOS)...)
		}
	case "fox":
		// Fox is the protocol of Tridium's Niagara Framework; a "Station"
		// is a running Niagara station, whose version app_version is.
		if strings.EqualFold(res.FoxAppName, "Station") {
			product("Niagara Framework", res.FoxAppVersion, categoryIndustrial)
		}
		out = append(out, portolan.OperatingSystemsIn(res.FoxOSName)...)
	case "bacnet":
		// A BACnet device names its vendor and model; the model, with
		// its vendor, is the product, at its firmware revision.
		if res.ModelName != "" {
			product(deviceName(res.VendorName, res.ModelName), res.FirmwareRev, categoryIndustrial)
		}
	case "modbus":
		if res.MEIProductCode != "" {
			product(deviceName(res.MEIVendor, res.MEIProductCode), strings.TrimLeft(res.MEIRevision, "vV"), categoryIndustrial)
		}
	case "siemens":
		// module_type names the S7 CPU ("CPU 315-2 PN/DP"); firmware
		// is "V3.2.6".
		if res.S7ModuleType != "" {
			product("Siemens SIMATIC S7 "+strings.TrimSpace(res.S7ModuleType), strings.TrimLeft(res.S7Firmware, "vV"), categoryIndustrial)
		}
	}
	return out
}

// deviceName is an industrial device's product name: its model, after its
// vendor when the device names one and the model does not already start
// with it.
func deviceName(vendor, model string) string {
	vendor, model = strings.TrimSpace(vendor), strings.TrimSpace(model)
	if vendor == "" || len(model) >= len(vendor) && strings.EqualFold(model[:len(vendor)], vendor) {
		return model
	}
	return vendor + " " + model
}

// infoField returns a "key:value" line of redis's INFO answer.
func infoField(info, key string) string {
	for line := range strings.Lines(info) {
		if v, ok := strings.CutPrefix(strings.TrimRight(line, "\r\n"), key+":"); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// postgresParam returns a parameter of the postgres module's
// server_parameters, which zgrab2 writes as one "key=value,key=value"
// string.
func postgresParam(params, key string) (string, bool) {
	for _, kv := range strings.Split(params, ",") {
		if k, v, ok := strings.Cut(kv, "="); ok && strings.TrimSpace(k) == key && strings.TrimSpace(v) != "" {
			return strings.TrimSpace(v), true
		}
	}
	return "", false
}

// statusOf maps zgrab2's status and error text to a port status; see the
// package documentation. reason is set when there is no status to map.
func statusOf(m *moduleEntry) (portolan.HostPortStatus, string) {
	e := m.Error
	switch {
	case m.Status == "":
		return "", "the result has no status"
	case m.Status == "success":
		return portolan.StatusOpen, ""
	case m.Status == "connection-refused", strings.Contains(e, "connection refused"):
		return portolan.StatusClosed, ""
	case strings.Contains(e, "no such host"):
		// The name did not resolve: nothing was learnt about any port.
		return "", "the target's name did not resolve: " + quote(e)
	case m.Status == "connection-timeout", strings.Contains(e, "unable to dial"),
		strings.Contains(e, "no route to host"), strings.Contains(e, "network is unreachable"),
		strings.Contains(e, "host is unreachable"):
		return portolan.StatusFiltered, ""
	}
	// connection-closed, io-timeout, protocol-error, application-error and
	// unknown errors after the dial: something accepted the connection.
	return portolan.StatusOpen, ""
}

// portOf finds the port of one module result; see the package
// documentation for the order.
func (r *Reader) portOf(g *grab, name string, m *moduleEntry) (int, bool) {
	res := m.Result
	if g.Port != nil {
		return *g.Port, true
	}
	if m.Port != nil {
		return *m.Port, true
	}
	if p := r.opts.ModulePorts[name]; p != 0 {
		return p, true
	}
	if res != nil && res.Response != nil && res.Response.Request != nil && res.Response.Redirects == 0 {
		if p, ok := requestPort(res.Response.Request); ok {
			return p, true
		}
	}
	if r.opts.Port != 0 {
		return r.opts.Port, true
	}
	return 0, false
}

// requestPort returns the port the http module connected to, from the URL
// it requested: explicit, or the scheme's default.
func requestPort(req *httpRequest) (int, bool) {
	scheme, hostport := req.Scheme, req.URLHost
	if hostport == "" {
		hostport = req.Host
	}
	if _, p, err := net.SplitHostPort(hostport); err == nil {
		n, err := strconv.Atoi(p)
		return n, err == nil
	}
	switch scheme {
	case "http":
		return 80, true
	case "https":
		return 443, true
	}
	return 0, false
}

// httpHead rebuilds the response head as the server sent it, minus the
// body: "HTTP/1.1 200 OK\r\n" then one "Name: value\r\n" per header value.
// zgrab2 keeps neither the header order nor the names' spelling: names come
// back canonicalised from its snake_case (content_type → Content-Type,
// etag → Etag) and sorted, which is the order zgrab2 writes them in.
func httpHead(resp *httpResponse) string {
	var b strings.Builder
	proto := resp.Protocol.Name
	if proto == "" {
		proto = "HTTP/1.1"
		if resp.Protocol.Major != 0 {
			proto = fmt.Sprintf("HTTP/%d.%d", resp.Protocol.Major, resp.Protocol.Minor)
		}
	}
	status := resp.StatusLine
	if status == "" {
		status = strconv.Itoa(resp.StatusCode)
	}
	b.WriteString(proto)
	b.WriteByte(' ')
	b.WriteString(oneLine(status))
	b.WriteString("\r\n")
	h := &resp.Headers
	names := make([]string, len(h.names))
	order := make([]int, len(h.names))
	for i, n := range h.names {
		names[i] = textproto.CanonicalMIMEHeaderKey(strings.ReplaceAll(n, "_", "-"))
		order[i] = i
	}
	slices.SortStableFunc(order, func(i, j int) int { return strings.Compare(names[i], names[j]) })
	for _, i := range order {
		for _, v := range h.values[i] {
			b.WriteString(oneLine(names[i]))
			b.WriteString(": ")
			b.WriteString(oneLine(v))
			b.WriteString("\r\n")
		}
	}
	return b.String()
}

// oneLine replaces CR and LF, so that a value cannot forge header lines in
// the rebuilt head (Go's header writer does the same).
func oneLine(s string) string {
	if !strings.ContainsAny(s, "\r\n") {
		return s
	}
	return strings.NewReplacer("\r", " ", "\n", " ").Replace(s)
}

// sshIdentification returns the identification line; older results lack
// "raw", so it is rebuilt from its parts (RFC 4253 §4.2).
func sshIdentification(id *sshServerID) string {
	if id.Raw != "" {
		return id.Raw
	}
	if id.Version == "" && id.Software == "" {
		return ""
	}
	s := "SSH-" + id.Version + "-" + id.Software
	if id.Comment != "" {
		s += " " + id.Comment
	}
	return s
}

// decodeCert returns the DER of a base64 certificate; see the package
// documentation for text that is not base64.
func decodeCert(raw string) []byte {
	if raw == "" {
		return nil
	}
	if der, err := base64.StdEncoding.DecodeString(raw); err == nil {
		return der
	}
	return []byte(raw)
}

// quote quotes s for a message, cut to a readable length.
func quote(s string) string {
	if len(s) > 120 {
		s = s[:120] + "…"
	}
	return strconv.Quote(s)
}
