// SPDX-License-Identifier: Apache-2.0

// Package nmap reads nmap's XML output (-oX) as portolan observations, one
// per <port>, streaming one <host> at a time so that memory stays bounded by
// the largest host rather than the size of the scan.
//
// The structs in this file mirror nmap.dtd (docs/nmap.dtd in the nmap
// sources) element by element; adapter.go turns them into portolan types, and
// reader.go walks the token stream. The struct tags say what each field
// mirrors; for <host>, decode.go fills the structs by hand to the same
// effect, faster than reflection. Every attribute is kept as a string: nmap
// writes numbers as CDATA, and a value that does not parse must reject one
// port (an InputError), not abort the whole file as an unmarshal error would.
package nmap

// nmapRun mirrors the attributes of <nmaprun>, the root element (ATTLIST
// nmaprun). Its content is streamed, never decoded as a whole.
type nmapRun struct {
	Scanner          string `xml:"scanner,attr"`          // "nmap"; masscan writes "masscan" in the same format
	Args             string `xml:"args,attr"`             // the command line
	Start            string `xml:"start,attr"`            // Unix seconds when the scan began (%attr_numeric; #IMPLIED)
	Version          string `xml:"version,attr"`          // nmap's version, e.g. "7.93"
	XMLOutputVersion string `xml:"xmloutputversion,attr"` // the format's version, e.g. "1.05"
}

// nmapHost mirrors <host> (ELEMENT host: status, address, (address |
// hostnames | ports | os | … )*, times?).
type nmapHost struct {
	StartTime  string           `xml:"starttime,attr"`     // Unix seconds when nmap began this host (#IMPLIED)
	EndTime    string           `xml:"endtime,attr"`       // Unix seconds when it finished this host (#IMPLIED)
	Status     nmapStatus       `xml:"status"`             // whether the host is up
	Addresses  []nmapAddress    `xml:"address"`            // ipv4, ipv6 and mac addresses, in that order
	Hostnames  []nmapHostname   `xml:"hostnames>hostname"` // user-given and PTR names
	ExtraPorts []nmapExtraPorts `xml:"ports>extraports"`   // counts of ports not listed one by one
	Ports      []nmapPort       `xml:"ports>port"`         // the ports listed one by one
}

// nmapStatus mirrors <status> (ATTLIST status).
type nmapStatus struct {
	State  string `xml:"state,attr"`  // %host_states: up, down, unknown or skipped
	Reason string `xml:"reason,attr"` // why nmap decided so, e.g. "syn-ack"
}

// nmapAddress mirrors <address> (ATTLIST address).
type nmapAddress struct {
	Addr     string `xml:"addr,attr"`     // the address as text
	AddrType string `xml:"addrtype,attr"` // %attr_type: ipv4 (the DTD default when absent), ipv6 or mac
	Vendor   string `xml:"vendor,attr"`   // the NIC vendor of a mac address
}

// nmapHostname mirrors <hostname> (ATTLIST hostname).
type nmapHostname struct {
	Name string `xml:"name,attr"` // the DNS name
	Type string `xml:"type,attr"` // %hostname_types: user (the target as given) or PTR
}

// nmapExtraPorts mirrors <extraports> (ATTLIST extraports): ports that share
// one state and are only counted. They name no port, so they give no
// observation.
type nmapExtraPorts struct {
	State string `xml:"state,attr"` // the state the counted ports share, e.g. "closed"
	Count string `xml:"count,attr"` // how many ports there are
}

// nmapPort mirrors <port> (ELEMENT port: state, owner?, service?, script*).
type nmapPort struct {
	Protocol string       `xml:"protocol,attr"` // %port_protocols: ip, tcp, udp or sctp
	PortID   string       `xml:"portid,attr"`   // the port number
	State    nmapState    `xml:"state"`         // what nmap concluded about the port
	Service  *nmapService `xml:"service"`       // what listens; nil when nmap names nothing
	Scripts  []nmapScript `xml:"script"`        // NSE results for this port
}

// nmapState mirrors <state> (ATTLIST state).
type nmapState struct {
	State     string `xml:"state,attr"`      // open, closed, filtered, unfiltered, open|filtered or closed|filtered
	Reason    string `xml:"reason,attr"`     // the evidence, e.g. "syn-ack" or "reset"
	ReasonTTL string `xml:"reason_ttl,attr"` // the TTL of the answer that was the evidence
}

// nmapService mirrors <service> (ELEMENT service: cpe*).
type nmapService struct {
	Name      string   `xml:"name,attr"`      // nmap's service name: http, ssh, ms-wbt-server, … or unknown
	Product   string   `xml:"product,attr"`   // the software, as -sV names it: "OpenSSH", "nginx"
	Version   string   `xml:"version,attr"`   // its version, often followed by the distribution's package revision
	ExtraInfo string   `xml:"extrainfo,attr"` // free text, e.g. "Ubuntu Linux; protocol 2.0"
	Tunnel    string   `xml:"tunnel,attr"`    // "ssl" when nmap reached the service through TLS
	OSType    string   `xml:"ostype,attr"`    // the operating system the service revealed, e.g. "Linux"
	Method    string   `xml:"method,attr"`    // probed, or table (a guess from the port number alone)
	Conf      string   `xml:"conf,attr"`      // confidence, 0 to 10
	CPEs      []string `xml:"cpe"`            // CPE 2.2 names: cpe:/a: applications, cpe:/o: operating systems
	// Fingerprint is what the service answered nmap's probes, when -sV
	// could not name it (servicefp.go).
	Fingerprint string `xml:"servicefp,attr"`
}

// nmapScript mirrors <script> (ELEMENT script: (#PCDATA | table | elem)*;
// the structured content arrived with nmap 6). Its nested <table> elements
// are left out: nothing reads them, and a host's memory is then only what
// the adapter uses.
type nmapScript struct {
	ID     string     `xml:"id,attr"`     // the NSE script, e.g. "ssl-cert"
	Output string     `xml:"output,attr"` // its text output, as nmap prints it
	Elems  []nmapElem `xml:"elem"`        // structured output: the leaves directly inside
}

// nmapElem mirrors <elem> (ELEMENT elem: #PCDATA).
type nmapElem struct {
	Key   string `xml:"key,attr"`  // the leaf's name; absent in a list
	Value string `xml:",chardata"` // the value
}

// nmapRunstats mirrors <runstats> (ELEMENT runstats: finished, hosts).
type nmapRunstats struct {
	Finished nmapFinished   `xml:"finished"` // when and how the scan ended
	Hosts    nmapHostCounts `xml:"hosts"`    // how many hosts were up and down
}

// nmapFinished mirrors <finished> (ATTLIST finished).
type nmapFinished struct {
	Time     string `xml:"time,attr"`     // Unix seconds when the scan ended
	Elapsed  string `xml:"elapsed,attr"`  // seconds the scan took
	Exit     string `xml:"exit,attr"`     // success or error
	ErrorMsg string `xml:"errormsg,attr"` // why it ended in error
}

// nmapHostCounts mirrors <hosts> inside <runstats> (ATTLIST hosts).
type nmapHostCounts struct {
	Up    string `xml:"up,attr"`    // hosts found up
	Down  string `xml:"down,attr"`  // hosts found down
	Total string `xml:"total,attr"` // hosts scanned
}
