// SPDX-License-Identifier: Apache-2.0
//
// End-to-end test: the Microsoft Graph JavaScript client
// (@microsoft/microsoft-graph-client, pinned in package-lock.json) against a
// running `portolan serve --tls-self-signed`. cmd/portolan's
// TestGraphJavaScriptClient starts the server and runs this script; by hand:
//
//   (cd test/graphclient && npm ci)
//   portolan serve --demo --tls-self-signed --addr 127.0.0.1:8443   # prints the certificate and a token
//   PORTOLAN_URL=https://127.0.0.1:8443 PORTOLAN_TOKEN=<token> \
//     NODE_EXTRA_CA_CERTS=<certificate> node test/graphclient/e2e.mjs
//
// Environment:
//   PORTOLAN_URL          https://HOST:PORT of the server (no /beta)
//   PORTOLAN_TOKEN        a bearer token the server accepts (`portolan token`)
//   NODE_EXTRA_CA_CERTS   the self-signed certificate printed by serve; Node
//                         reads it at start-up, so it must be set in the
//                         environment, not by this script
//   PORTOLAN_HOST         the host whose ports are listed (default 127.0.0.1)
//   PORTOLAN_E2E_TIMEOUT_MS  overall deadline (default 60000)
//   PORTOLAN_WEBHOOK_URL  a webhook that answers the validation handshake
//                         (echoes ?validationToken= as text/plain), for the
//                         subscription step
//
// On success it prints one JSON summary on stdout and exits 0; on any
// failure it prints "e2e: FAIL: ..." on stderr and exits 1.

import fs from "node:fs";
import { createRequire } from "node:module";
import { Client, GraphError, PageIterator } from "@microsoft/microsoft-graph-client";

const require = createRequire(import.meta.url);

class Failure extends Error {}

function fail(message) {
	throw new Failure(message);
}

function check(cond, message) {
	if (!cond) fail(message);
}

function show(v) {
	return JSON.stringify(v);
}

function describeError(err) {
	if (err instanceof Failure) return err.message;
	if (err instanceof GraphError) {
		return `GraphError statusCode=${err.statusCode} code=${err.code} requestId=${err.requestId}: ${err.message}` + (err.body ? ` body=${typeof err.body === "string" ? err.body : show(err.body)}` : "");
	}
	const cause = err && err.cause ? ` (cause: ${err.cause.code || ""} ${err.cause.message || err.cause})` : "";
	return `${err && err.stack ? err.stack : err}${cause}`;
}

// --- configuration --------------------------------------------------------

const baseURL = (process.env.PORTOLAN_URL || "").replace(/\/+$/, "");
const token = process.env.PORTOLAN_TOKEN || "";
const caFile = process.env.NODE_EXTRA_CA_CERTS || "";
const hostId = process.env.PORTOLAN_HOST || "127.0.0.1";
const timeoutMs = Number(process.env.PORTOLAN_E2E_TIMEOUT_MS || 60000);
const webhookURL = process.env.PORTOLAN_WEBHOOK_URL || "";

function configure() {
	check(baseURL !== "", "PORTOLAN_URL is not set (https://127.0.0.1:PORT of a running `portolan serve --tls-self-signed`)");
	check(baseURL.startsWith("https://"), `PORTOLAN_URL ${show(baseURL)} is not https: the Graph client sends tokens only over https`);
	check(token !== "", "PORTOLAN_TOKEN is not set (print one with `portolan token --data DIR`)");
	check(caFile !== "", "NODE_EXTRA_CA_CERTS is not set (the self-signed certificate path that `portolan serve --tls-self-signed` prints)");
	check(fs.existsSync(caFile), `NODE_EXTRA_CA_CERTS ${show(caFile)} does not exist`);
	check(Number.isFinite(timeoutMs) && timeoutMs > 0, `PORTOLAN_E2E_TIMEOUT_MS ${show(process.env.PORTOLAN_E2E_TIMEOUT_MS)} is not a positive number`);
}

// --- observing what the client sends ---------------------------------------

// The client calls the global fetch; wrapping it records every request it
// makes (URL, whether it carried our token, status), so that the script can
// count the pages the PageIterator fetched and check that every request,
// next links included, went over https with the token.
const requests = [];
const realFetch = globalThis.fetch;
globalThis.fetch = async (input, init) => {
	const req = new Request(input, init);
	const entry = { method: req.method, url: req.url, authorized: req.headers.get("authorization") === `Bearer ${token}`, status: null, error: null };
	requests.push(entry);
	try {
		const res = await realFetch(input, init);
		entry.status = res.status;
		return res;
	} catch (err) {
		// The client keeps only "fetch failed"; the cause says why (a
		// certificate not trusted, a refused connection).
		const c = err && err.cause;
		entry.error = `${err && err.message}` + (c ? ` (cause: ${[c.code, c.message].filter(Boolean).join(": ")})` : "");
		throw err;
	}
};

function lastRequest() {
	const r = requests[requests.length - 1];
	return r ? `${r.method} ${r.url} -> ${r.error ?? r.status ?? "pending"}` : "none";
}

// --- the client -------------------------------------------------------------

function newClient() {
	const authProvider = { getAccessToken: async () => token };
	return Client.initWithMiddleware({
		authProvider,
		baseUrl: baseURL + "/",
		defaultVersion: "beta",
		// The client attaches the token only to Graph's own hosts and to
		// these (hostnames without the port).
		customHosts: new Set([new URL(baseURL).hostname]),
	});
}

const portsPath = `/security/threatIntelligence/hosts/${encodeURIComponent(hostId)}/ports`;
const hostPortPath = (id) => `/security/threatIntelligence/hostPorts/${encodeURIComponent(id)}`;
const statuses = new Set(["open", "closed", "filtered"]);
const fullHostPortMembers = ["id", "port", "firstSeenDateTime", "lastSeenDateTime", "lastScanDateTime", "timesObserved", "status", "protocol", "banners", "services", "mostRecentSslCertificate", "host"];

function checkCollection(body, what) {
	check(body && typeof body === "object", `${what}: body is not a JSON object: ${show(body)}`);
	check(Array.isArray(body.value), `${what}: "value" is not an array: ${show(body)}`);
	check(typeof body["@odata.context"] === "string", `${what}: no @odata.context`);
}

function keysOf(item) {
	return Object.keys(item).filter((k) => !k.startsWith("@odata.")).sort();
}

function checkFullHostPort(p, what) {
	for (const m of fullHostPortMembers) {
		check(m in p, `${what}: hostPort ${show(p.id)} lacks ${m}: ${show(p)}`);
	}
	check(p.host && typeof p.host.id === "string", `${what}: hostPort ${show(p.id)} has no host stub`);
}

async function step(summary, name, fn) {
	try {
		summary[name] = await fn();
	} catch (err) {
		throw new Failure(`${name}: ${describeError(err)}\n  last request: ${lastRequest()}`);
	}
}

async function main() {
	configure();
	const client = newClient();
	const summary = {
		ok: false,
		client: { package: "@microsoft/microsoft-graph-client", version: require("@microsoft/microsoft-graph-client/package.json").version },
		node: process.version,
		url: baseURL,
		host: hostId,
	};

	// 1. $select: only the selected properties come back.
	let listed; // [{id, port, status}] in server order
	await step(summary, "select", async () => {
		const body = await client.api(portsPath).select(["id", "port", "status"]).get();
		checkCollection(body, "$select");
		check(body.value.length > 0, `$select: no ports of ${hostId}`);
		check(body["@odata.context"].endsWith("/ports(id,port,status)"), `$select: @odata.context ${show(body["@odata.context"])} does not end with /ports(id,port,status)`);
		check(body["@odata.nextLink"] === undefined, `$select: a nextLink under the default page size: ${body["@odata.nextLink"]}`);
		const ids = new Set();
		for (const p of body.value) {
			check(show(keysOf(p)) === show(["id", "port", "status"]), `$select: properties ${show(keysOf(p))} instead of exactly id, port, status: ${show(p)}`);
			check(typeof p.id === "string" && p.id !== "", `$select: bad id ${show(p.id)}`);
			check(Number.isInteger(p.port) && p.port >= 0 && p.port <= 65535, `$select: bad port ${show(p.port)}`);
			check(statuses.has(p.status), `$select: bad status ${show(p.status)}`);
			check(!ids.has(p.id), `$select: id ${p.id} listed twice`);
			ids.add(p.id);
		}
		listed = body.value.map((p) => ({ id: p.id, port: p.port, status: p.status }));
		return { context: body["@odata.context"], ports: listed };
	});

	// 2. $expand=mostRecentSslCertificate: the full certificate inline.
	const certOf = new Map(); // hostPort id -> certificate id
	await step(summary, "expand", async () => {
		const body = await client.api(portsPath).expand("mostRecentSslCertificate").get();
		checkCollection(body, "$expand");
		check(show(body.value.map((p) => p.id)) === show(listed.map((p) => p.id)), `$expand: ports ${show(body.value.map((p) => p.id))} differ from the $select listing ${show(listed.map((p) => p.id))}`);
		const certificates = [];
		for (const p of body.value) {
			checkFullHostPort(p, "$expand");
			const c = p.mostRecentSslCertificate;
			if (c === null) continue;
			check(typeof c === "object", `$expand: port ${p.port}: mostRecentSslCertificate is ${show(c)}`);
			check(typeof c.id === "string" && c.id !== "", `$expand: port ${p.port}: certificate without id: ${show(c)}`);
			check(typeof c.sha1 === "string" && /^[0-9a-f]{40}$/.test(c.sha1), `$expand: port ${p.port}: certificate sha1 ${show(c.sha1)} is not 40 lower-case hex digits`);
			for (const m of ["fingerprint", "serialNumber", "issueDateTime", "expirationDateTime", "subject", "issuer", "firstSeenDateTime", "lastSeenDateTime"]) {
				check(m in c, `$expand: port ${p.port}: expanded certificate lacks ${m} (only an id stub?): ${show(c)}`);
			}
			check(c.subject && typeof c.subject === "object", `$expand: port ${p.port}: certificate subject is ${show(c.subject)}`);
			certOf.set(p.id, c.id);
			certificates.push({ id: p.id, port: p.port, certificateId: c.id, sha1: c.sha1, subjectCommonName: c.subject.commonName ?? null });
		}
		check(certificates.length > 0, `$expand: no port of ${hostId} has a mostRecentSslCertificate`);
		return { certificates };
	});

	// 2b. $select and $expand together, as a client listing certificates does.
	await step(summary, "selectExpand", async () => {
		const body = await client.api(portsPath).select(["id", "port", "mostRecentSslCertificate"]).expand("mostRecentSslCertificate").get();
		checkCollection(body, "$select+$expand");
		check(body.value.length === listed.length, `$select+$expand: ${body.value.length} ports, want ${listed.length}`);
		let expanded = 0;
		for (const p of body.value) {
			check(show(keysOf(p)) === show(["id", "mostRecentSslCertificate", "port"]), `$select+$expand: properties ${show(keysOf(p))} instead of exactly id, port, mostRecentSslCertificate`);
			const want = certOf.get(p.id) ?? null;
			const got = p.mostRecentSslCertificate === null ? null : p.mostRecentSslCertificate.id;
			check(got === want, `$select+$expand: port ${p.port}: certificate ${show(got)}, want ${show(want)}`);
			if (got !== null) {
				check(typeof p.mostRecentSslCertificate.sha1 === "string", `$select+$expand: port ${p.port}: certificate not expanded: ${show(p.mostRecentSslCertificate)}`);
				expanded++;
			}
		}
		return { expanded };
	});

	// 3. $top=1 with $count=true: one item, the total, and an https next link.
	let firstPage;
	await step(summary, "topCount", async () => {
		firstPage = await client.api(portsPath).top(1).count(true).get();
		checkCollection(firstPage, "$top+$count");
		const count = firstPage["@odata.count"];
		check(Number.isInteger(count), `$top+$count: @odata.count is ${show(count)}`);
		check(count === listed.length, `$top+$count: @odata.count ${count}, but the listing has ${listed.length} ports`);
		check(firstPage.value.length === 1, `$top+$count: ${firstPage.value.length} items on a $top=1 page`);
		check(firstPage.value[0].id === listed[0].id, `$top+$count: first item ${firstPage.value[0].id}, want ${listed[0].id}`);
		const next = firstPage["@odata.nextLink"];
		if (count > 1) {
			check(typeof next === "string", `$top+$count: no @odata.nextLink although ${count} ports exist`);
			check(next.startsWith(baseURL + "/beta/"), `$top+$count: @odata.nextLink ${show(next)} is not an absolute URL under ${baseURL}/beta/`);
		} else {
			check(next === undefined, `$top+$count: a nextLink on the only page: ${next}`);
		}
		return { odataCount: count, pageSize: firstPage.value.length, nextLink: next ?? null };
	});

	// 4. PageIterator from the $top=1 page: every port once, in order, one
	// request per page.
	await step(summary, "pageIterator", async () => {
		const seen = [];
		const before = requests.length;
		const it = new PageIterator(client, firstPage, (item) => {
			seen.push(item);
			return true;
		});
		await it.iterate();
		const fetched = requests.slice(before);
		const pages = 1 + fetched.length;
		check(it.isComplete(), "PageIterator: iteration did not complete");
		check(show(seen.map((p) => p.id)) === show(listed.map((p) => p.id)), `PageIterator: walked ${show(seen.map((p) => p.port))}, want every port once in order ${show(listed.map((p) => p.port))}`);
		for (const p of seen) checkFullHostPort(p, "PageIterator");
		check(pages === firstPage["@odata.count"], `PageIterator: ${pages} pages walked, but @odata.count is ${firstPage["@odata.count"]} (with $top=1 they must be equal)`);
		for (const r of fetched) {
			check(r.status === 200, `PageIterator: ${r.url} answered ${r.status}`);
			const q = new URL(r.url).searchParams;
			check(q.get("$top") === "1" && q.get("$skiptoken"), `PageIterator: next page ${r.url} lacks $top=1 or $skiptoken`);
		}
		return { pages, items: seen.length, ports: seen.map((p) => p.port), complete: it.isComplete() };
	});

	// 5. hostPorts/{id} by an id with '=', percent-encoded in the path.
	await step(summary, "byId", async () => {
		const pick = listed.find((p) => p.id.includes("=") && certOf.has(p.id)) || listed.find((p) => p.id.includes("="));
		check(pick, `hostPorts/{id}: no listed id contains '=' to exercise percent-encoding: ${show(listed.map((p) => p.id))}`);
		const before = requests.length;
		const body = await client.api(hostPortPath(pick.id)).get();
		const sent = requests[before];
		check(sent && new URL(sent.url).pathname.endsWith("/hostPorts/" + encodeURIComponent(pick.id)) && sent.url.includes("%3D"), `hostPorts/{id}: the request ${sent && sent.url} does not carry the percent-encoded id`);
		check(body && typeof body === "object" && !("value" in body), `hostPorts/{id}: not a single entity: ${show(body)}`);
		check(typeof body["@odata.context"] === "string" && body["@odata.context"].endsWith("/$entity"), `hostPorts/{id}: @odata.context ${show(body["@odata.context"])} does not end with /$entity`);
		check(body.id === pick.id && body.port === pick.port && body.status === pick.status, `hostPorts/{id}: got id ${show(body.id)} port ${body.port} status ${body.status}, want ${show(pick)}`);
		checkFullHostPort(body, "hostPorts/{id}");
		const stub = body.mostRecentSslCertificate;
		const want = certOf.get(pick.id) ?? null;
		if (want === null) {
			check(stub === null, `hostPorts/{id}: mostRecentSslCertificate ${show(stub)}, want null`);
		} else {
			check(stub && show(Object.keys(stub)) === show(["id"]) && stub.id === want, `hostPorts/{id}: mostRecentSslCertificate ${show(stub)}, want the id-only stub {"id":${show(want)}}`);
		}
		return { id: body.id, port: body.port, requestPath: new URL(sent.url).pathname, certificateStub: stub ? stub.id : null };
	});

	// 6. An unknown host: a GraphError with 404 ResourceNotFound.
	await step(summary, "notFound", async () => {
		const unknown = "192.0.2.123"; // TEST-NET-1, never in a capture
		let body;
		try {
			body = await client.api(`/security/threatIntelligence/hosts/${unknown}/ports`).get();
		} catch (err) {
			check(err instanceof GraphError, `hosts/${unknown}/ports: threw ${describeError(err)}, want a GraphError`);
			check(err.statusCode === 404, `hosts/${unknown}/ports: statusCode ${err.statusCode}, want 404 (${describeError(err)})`);
			check(err.code === "ResourceNotFound", `hosts/${unknown}/ports: code ${show(err.code)}, want "ResourceNotFound" (${describeError(err)})`);
			check(typeof err.requestId === "string" && err.requestId !== "", `hosts/${unknown}/ports: the GraphError has no requestId (innerError.request-id)`);
			return { statusCode: err.statusCode, code: err.code, message: err.message, requestId: err.requestId };
		}
		fail(`hosts/${unknown}/ports: succeeded with ${show(body)}, want 404`);
	});

	// 7. Search the estate: hostPorts with .filter(), .orderby() and
	// .count(true), walked with a PageIterator over pages of one.
	await step(summary, "search", async () => {
		const filter = "status eq 'open' and port ge 1";
		const first = await client.api("/security/threatIntelligence/hostPorts").filter(filter).orderby("port desc").count(true).top(1).get();
		checkCollection(first, "hostPorts $filter");
		const count = first["@odata.count"];
		check(Number.isInteger(count) && count > 0, `hostPorts $filter: @odata.count ${show(count)}`);
		const seen = [];
		const before = requests.length;
		const it = new PageIterator(client, first, (item) => {
			seen.push(item);
			return true;
		});
		await it.iterate();
		check(it.isComplete(), "search: the PageIterator did not complete");
		check(seen.length === count, `search: walked ${seen.length} items, @odata.count is ${count}`);
		for (let i = 0; i < seen.length; i++) {
			check(seen[i].status === "open", `search: item ${show(seen[i].id)} has status ${show(seen[i].status)}`);
			check(i === 0 || seen[i - 1].port >= seen[i].port, `search: ports not in descending order: ${show(seen.map((p) => p.port))}`);
		}
		for (const r of requests.slice(before)) {
			const q = new URL(r.url).searchParams;
			check(r.status === 200 && q.get("$filter") === filter && q.get("$orderby") === "port desc" && q.get("$skiptoken"), `search: next page ${r.url} answered ${r.status} or lost $filter, $orderby or $skiptoken`);
		}
		// A bad filter is a GraphError 400 naming the position.
		try {
			await client.api("/security/threatIntelligence/hostPorts").filter("port eq").get();
		} catch (err) {
			check(err instanceof GraphError && err.statusCode === 400 && /position 7/.test(err.message), `search: a bad filter gave ${describeError(err)}`);
			return { filter, odataCount: count, ports: seen.map((p) => p.port), pages: 1 + requests.slice(before).length - 1 };
		}
		fail("search: a bad filter was accepted");
	});

	// 8. Delta: hostPorts/delta walked by a PageIterator over pages of one
	// (Prefer: odata.maxpagesize=1), which keeps the deltaLink; following
	// it with nothing imported since gives an empty round and a new link;
	// $deltatoken=latest gives no items; a tampered token is a 400.
	await step(summary, "delta", async () => {
		const prefer = { Prefer: "odata.maxpagesize=1" };
		const before = requests.length;
		const first = await client.api("/security/threatIntelligence/hostPorts/delta").headers(prefer).get();
		checkCollection(first, "hostPorts/delta");
		const seen = [];
		const it = new PageIterator(client, first, (item) => {
			seen.push(item);
			return true;
		}, { headers: prefer });
		await it.iterate();
		check(it.isComplete(), "delta: the PageIterator did not complete");
		const deltaLink = it.getDeltaLink();
		check(typeof deltaLink === "string" && deltaLink.startsWith(baseURL + "/beta/security/threatIntelligence/hostPorts/delta?$deltatoken="), `delta: deltaLink ${show(deltaLink)}`);
		for (const p of seen) checkFullHostPort(p, "delta");
		const pages = requests.length - before;
		check(pages === seen.length, `delta: ${pages} pages for ${seen.length} items with odata.maxpagesize=1`);
		const again = await client.api(deltaLink).get();
		check(Array.isArray(again.value) && again.value.length === 0 && typeof again["@odata.deltaLink"] === "string", `delta: following the deltaLink with nothing imported gave ${show(again)}`);
		const latest = await client.api("/security/threatIntelligence/hostPorts/delta?$deltatoken=latest").get();
		check(latest.value.length === 0 && typeof latest["@odata.deltaLink"] === "string", `delta: $deltatoken=latest gave ${show(latest)}`);
		try {
			await client.api(deltaLink.slice(0, -4) + "AAAA").get();
		} catch (err) {
			check(err instanceof GraphError && err.statusCode === 400, `delta: a tampered token gave ${describeError(err)}`);
			return { items: seen.length, pages, ids: seen.map((p) => p.id), deltaLink };
		}
		fail("delta: a tampered token was accepted");
	});

	// 9. Subscriptions (search-and-changes.md §5): create one (the server
	// validates PORTOLAN_WEBHOOK_URL, a receiver the Go test runs), list it,
	// renew it, delete it; afterwards it is a 404.
	await step(summary, "subscription", async () => {
		check(webhookURL !== "", "PORTOLAN_WEBHOOK_URL is not set (a receiver that echoes validationToken)");
		const in1h = new Date(Date.now() + 3600e3).toISOString();
		const created = await client.api("/subscriptions").post({
			changeType: "created,updated",
			notificationUrl: webhookURL,
			resource: "security/threatIntelligence/hostPorts?$filter=port eq 22",
			expirationDateTime: in1h,
			clientState: "e2e-client-state",
		});
		check(typeof created.id === "string" && /^[0-9a-f-]{36}$/.test(created.id), `subscription: created ${show(created)}`);
		check(created.changeType === "created,updated" && created.clientState === "e2e-client-state" && created.notificationUrl === webhookURL,
			`subscription: created ${show(created)}`);
		const listed = await client.api("/subscriptions").get();
		checkCollection(listed, "subscriptions");
		check(listed.value.some((s) => s.id === created.id), `subscription: the list ${show(listed)} lacks ${created.id}`);
		const in2h = new Date(Date.now() + 7200e3).toISOString();
		const renewed = await client.api(`/subscriptions/${created.id}`).patch({ expirationDateTime: in2h });
		check(renewed && Date.parse(renewed.expirationDateTime) === Date.parse(in2h),
			`subscription: renewed to ${show(renewed && renewed.expirationDateTime)}, want ${in2h}`);
		await client.api(`/subscriptions/${created.id}`).delete();
		try {
			await client.api(`/subscriptions/${created.id}`).get();
		} catch (err) {
			check(err instanceof GraphError && err.statusCode === 404, `subscription: GET after DELETE gave ${describeError(err)}`);
			return { id: created.id, listed: listed.value.length, renewed: renewed.expirationDateTime, deleted: true };
		}
		fail("subscription: still there after DELETE");
	});

	// Every request went to the server over https and carried the token.
	await step(summary, "requests", async () => {
		for (const r of requests) {
			check(r.url.startsWith(baseURL + "/"), `request to ${r.url}, outside ${baseURL}`);
			check(r.authorized, `request ${r.method} ${r.url} went without the bearer token`);
		}
		return { total: requests.length, allHttps: true, allAuthorized: true };
	});

	summary.ok = true;
	return summary;
}

const deadline = setTimeout(() => {
	process.stderr.write(`e2e: FAIL: timed out after ${timeoutMs} ms (last request: ${lastRequest()})\n`);
	process.exit(1);
}, timeoutMs);
deadline.unref();

try {
	const summary = await main();
	process.stdout.write(JSON.stringify(summary) + "\n");
	process.exitCode = 0;
} catch (err) {
	process.stderr.write(`e2e: FAIL: ${describeError(err)}\n`);
	process.exitCode = 1;
}
