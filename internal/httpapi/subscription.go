// SPDX-License-Identifier: Apache-2.0

package httpapi

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"portolan"
	"portolan/internal/odata"
)

// Graph change notifications (search-and-changes.md §5): {root}/subscriptions
// and {root}/subscriptions/{id}. The handlers check what the subscriber
// sent, have the endpoint checker (internal/notify) apply the URL rules and
// the validation handshake, and store the subscription; internal/notify's
// dispatcher delivers. Subscriptions are per caller: answers are never
// cached (cache.go would share them between callers) and another owner's
// subscription is 404.

// maxSubscriptionBody bounds a POST or PATCH body; a subscription is a few
// hundred bytes.
const maxSubscriptionBody = 64 << 10

// ParseHostPortFilter checks a subscription's $filter text against the
// hostPort type, as hostPorts?$filter= does, and returns the expression.
// The dispatcher parses the stored text with it again, so creation and
// delivery cannot disagree on what a filter means.
func ParseHostPortFilter(text string) (portolan.Expr, error) {
	e, err := odata.ParseFilter(text, hostPortType)
	if err != nil {
		return nil, queryError(err)
	}
	return e, nil
}

// isSubscriptionPath reports whether an escaped path is under
// {root}/subscriptions, whose answers depend on the caller.
func isSubscriptionPath(escapedPath string) bool {
	for _, root := range serviceRoots {
		if rest, ok := strings.CutPrefix(escapedPath, "/"+root+"/"); ok {
			seg, _, _ := strings.Cut(rest, "/")
			seg, _, _ = strings.Cut(seg, "(")
			return strings.EqualFold(seg, "subscriptions")
		}
	}
	return false
}

// serveSubscriptions routes {root}/subscriptions by method.
func (s *Server) serveSubscriptions(w http.ResponseWriter, r *http.Request, rt route) error {
	w.Header().Set("Cache-Control", "no-store")
	p := portolan.PrincipalFromContext(r.Context())
	owner := portolan.OwnerOf(p)
	if rt.kind == routeSubscriptions {
		switch r.Method {
		case http.MethodGet, http.MethodHead:
			subs, err := s.subscriptions.FindSubscriptions(r.Context(), owner)
			if err != nil {
				return err
			}
			return s.writeSubscriptions(w, r, rt, http.StatusOK, subs, true)
		case http.MethodPost:
			return s.createSubscription(w, r, rt, p)
		}
		w.Header().Set("Allow", "GET, HEAD, POST")
		return notAllowed(r, "GET and POST")
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		sub, err := s.subscriptions.FindSubscriptionByID(r.Context(), owner, rt.key)
		if err != nil {
			return err
		}
		return s.writeSubscriptions(w, r, rt, http.StatusOK, []*portolan.Subscription{sub}, false)
	case http.MethodPatch:
		exp, err := readRenewal(w, r, s.now())
		if err != nil {
			return err
		}
		sub, err := s.subscriptions.RenewSubscription(r.Context(), owner, rt.key, exp)
		if err != nil {
			return err
		}
		return s.writeSubscriptions(w, r, rt, http.StatusOK, []*portolan.Subscription{sub}, false)
	case http.MethodDelete:
		if err := s.subscriptions.DeleteSubscription(r.Context(), owner, rt.key); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	w.Header().Set("Allow", "GET, HEAD, PATCH, DELETE")
	return notAllowed(r, "GET, PATCH and DELETE")
}

func notAllowed(r *http.Request, allowed string) error {
	return portolan.Errorf(portolan.ENOTALLOWED, "The method '%s' is not allowed on this resource; only %s are.", r.Method, allowed)
}

// createSubscription is POST {root}/subscriptions.
func (s *Server) createSubscription(w http.ResponseWriter, r *http.Request, rt route, p *portolan.Principal) error {
	ctx := r.Context()
	members, err := readBody(w, r)
	if err != nil {
		return err
	}
	sub, err := newSubscription(members, s.now())
	if err != nil {
		return err
	}
	sub.ID = newUUID()
	sub.Owner = portolan.OwnerOf(p)
	if sub.Filter != "" {
		if _, err := ParseHostPortFilter(sub.Filter); err != nil {
			return err
		}
	}
	// The limit before the handshake, so that a caller at the limit does
	// not make the server call its endpoint; the store checks it again.
	if held, err := s.subscriptions.FindSubscriptions(ctx, sub.Owner); err != nil {
		return err
	} else if len(held) >= portolan.MaxSubscriptionsPerOwner {
		return portolan.Errorf(portolan.ETOOMANY, "The caller already holds %d subscriptions, the most allowed; delete one first.", len(held))
	}
	for _, u := range []string{sub.NotificationURL, sub.LifecycleNotificationURL} {
		if u == "" {
			continue
		}
		if err := s.endpoints.ValidateEndpoint(ctx, u); err != nil {
			return err
		}
	}
	sub.Created = s.now()
	if err := s.subscriptions.CreateSubscription(ctx, sub); err != nil {
		return err
	}
	return s.writeSubscriptions(w, r, rt, http.StatusCreated, []*portolan.Subscription{sub}, false)
}

// readBody reads a JSON object.
func readBody(w http.ResponseWriter, r *http.Request) (map[string]json.RawMessage, error) {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.Contains(strings.ToLower(ct), "json") {
		return nil, portolan.Errorf(portolan.EINVALID, "The request body must be JSON (Content-Type: application/json), not '%s'.", clipText(ct))
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxSubscriptionBody))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return nil, portolan.Errorf(portolan.EINVALID, "The request body is larger than %d bytes.", maxSubscriptionBody)
	} else if err != nil {
		return nil, portolan.WrapError(portolan.EINVALID, err, "The request body could not be read.")
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(data, &members); err != nil || members == nil {
		return nil, portolan.Errorf(portolan.EINVALID, "The request body is not a JSON object.")
	}
	return members, nil
}

// subscriptionProperties are the properties of microsoft.graph.subscription
// that a request may carry and Portolan does not use: they are accepted
// when they ask for nothing (null, false, empty).
var subscriptionProperties = []string{"id", "applicationId", "creatorId", "encryptionCertificate", "encryptionCertificateId",
	"includeResourceData", "latestSupportedTlsVersion", "notificationQueryOptions", "notificationUrlAppId", "notificationContentType"}

// stringMember reads an optional string member.
func stringMember(members map[string]json.RawMessage, name string) (string, bool, error) {
	raw, ok := members[name]
	if !ok || string(raw) == "null" {
		return "", false, nil
	}
	var v string
	if err := json.Unmarshal(raw, &v); err != nil {
		return "", false, portolan.Errorf(portolan.EINVALID, "The property '%s' must be a string.", name)
	}
	return v, true, nil
}

// newSubscription checks the members of a POST (everything but the
// endpoints' reachability and the limit).
func newSubscription(members map[string]json.RawMessage, now time.Time) (*portolan.Subscription, error) {
	sub := &portolan.Subscription{}
	for name, raw := range members {
		switch {
		case strings.HasPrefix(name, "@odata."):
		case slices.Contains([]string{"changeType", "notificationUrl", "resource", "expirationDateTime", "clientState", "lifecycleNotificationUrl"}, name):
		case slices.Contains(subscriptionProperties, name):
			if v := string(raw); v != "null" && v != "false" && v != `""` && name != "latestSupportedTlsVersion" && name != "id" {
				return nil, portolan.Errorf(portolan.EINVALID, "The property '%s' is not supported by this service.", name)
			}
		default:
			return nil, portolan.Errorf(portolan.EINVALID, "Could not find a property named '%s' on type 'microsoft.graph.subscription'.", clipText(name))
		}
	}
	get := func(name string, required bool) (string, error) {
		v, ok, err := stringMember(members, name)
		if err == nil && required && (!ok || v == "") {
			err = portolan.Errorf(portolan.EINVALID, "The property '%s' is required.", name)
		}
		return v, err
	}
	var err error
	var changeType, expiration string
	if changeType, err = get("changeType", true); err != nil {
		return nil, err
	}
	var ok bool
	if sub.Change, ok = portolan.ParseSubscriptionChange(changeType); !ok {
		return nil, portolan.Errorf(portolan.EINVALID, "The changeType '%s' is not supported; use created, updated or created,updated.", clipText(changeType))
	}
	if sub.NotificationURL, err = get("notificationUrl", true); err != nil {
		return nil, err
	}
	if sub.LifecycleNotificationURL, err = get("lifecycleNotificationUrl", false); err != nil {
		return nil, err
	}
	if sub.Resource, err = get("resource", true); err != nil {
		return nil, err
	}
	if sub.Filter, err = resourceFilter(sub.Resource); err != nil {
		return nil, err
	}
	if sub.ClientState, err = get("clientState", false); err != nil {
		return nil, err
	}
	if utf8.RuneCountInString(sub.ClientState) > portolan.MaxClientStateLength {
		return nil, portolan.Errorf(portolan.EINVALID, "The clientState is longer than %d characters.", portolan.MaxClientStateLength)
	}
	if expiration, err = get("expirationDateTime", true); err != nil {
		return nil, err
	}
	if sub.Expiration, err = checkExpiration(expiration, now); err != nil {
		return nil, err
	}
	return sub, nil
}

// resourceFilter checks a subscription's resource and returns its $filter
// text ("" for none).
func resourceFilter(resource string) (string, error) {
	path, query, _ := strings.Cut(strings.TrimPrefix(resource, "/"), "?")
	if !strings.EqualFold(strings.TrimSuffix(path, "/"), portolan.SubscriptionResourceHostPorts) {
		return "", portolan.Errorf(portolan.EINVALID, "The resource '%s' is not supported; subscribe to %s, optionally with ?$filter=….", clipText(resource), portolan.SubscriptionResourceHostPorts)
	}
	filter := ""
	for _, part := range strings.Split(query, "&") {
		if part == "" {
			continue
		}
		name, value, _ := strings.Cut(part, "=")
		if n, err := url.PathUnescape(name); err != nil || !strings.EqualFold(n, "$filter") || filter != "" {
			return "", portolan.Errorf(portolan.EINVALID, "The resource '%s' may carry one $filter and no other query option.", clipText(resource))
		}
		v, err := url.PathUnescape(value)
		if err != nil || v == "" {
			return "", portolan.Errorf(portolan.EINVALID, "The $filter of the resource '%s' is empty or not correctly percent-encoded.", clipText(resource))
		}
		filter = v
	}
	return filter, nil
}

// checkExpiration reads expirationDateTime: in the future and at most
// portolan.MaxSubscriptionLifetime ahead.
func checkExpiration(v string, now time.Time) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return t, portolan.Errorf(portolan.EINVALID, "The expirationDateTime '%s' is not a DateTimeOffset such as 2026-12-05T10:00:00Z.", clipText(v))
	}
	switch {
	case !t.After(now):
		return t, portolan.Errorf(portolan.EINVALID, "Subscription expiration must be in the future.")
	case t.After(now.Add(portolan.MaxSubscriptionLifetime)):
		return t, portolan.Errorf(portolan.EINVALID, "Subscription expiration can only be %d minutes in the future.", int(portolan.MaxSubscriptionLifetime/time.Minute))
	}
	return t.UTC(), nil
}

// readRenewal reads a PATCH body: expirationDateTime only.
func readRenewal(w http.ResponseWriter, r *http.Request, now time.Time) (time.Time, error) {
	members, err := readBody(w, r)
	if err != nil {
		return time.Time{}, err
	}
	for name := range members {
		if name != "expirationDateTime" && !strings.HasPrefix(name, "@odata.") {
			return time.Time{}, portolan.Errorf(portolan.EINVALID, "Only expirationDateTime can be updated; '%s' cannot.", clipText(name))
		}
	}
	v, ok, err := stringMember(members, "expirationDateTime")
	if err != nil {
		return time.Time{}, err
	}
	if !ok {
		return time.Time{}, portolan.Errorf(portolan.EINVALID, "The property 'expirationDateTime' is required.")
	}
	return checkExpiration(v, now)
}

// writeSubscriptions writes one subscription entity, or a collection.
func (s *Server) writeSubscriptions(w http.ResponseWriter, r *http.Request, rt route, status int, subs []*portolan.Subscription, collection bool) error {
	contentType, _, err := negotiate(r, headerJSON)
	if err != nil {
		return err
	}
	buf := getBuffer()
	defer putBuffer(buf)
	b := append((*buf)[:0], `{"@odata.context":`...)
	c := s.appendBaseURL(nil, r)
	c = append(c, '/')
	c = append(c, rt.root...)
	c = append(c, "/$metadata#subscriptions"...)
	if !collection {
		c = append(c, "/$entity"...)
	}
	b = appendStringBytes(b, c)
	if collection {
		b = append(b, `,"value":[`...)
	}
	for i, sub := range subs {
		if collection {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, '{')
		} else {
			b = append(b, ',')
		}
		b = appendSubscriptionMembers(b, sub)
		if collection {
			b = append(b, '}')
		}
	}
	if collection {
		b = append(b, ']')
	}
	b = append(b, '}')
	*buf = b
	h := w.Header()
	h["Content-Type"] = contentType
	h.Set("Content-Length", strconv.Itoa(len(b)))
	if status == http.StatusCreated {
		h.Set("Location", string(s.appendBaseURL(nil, r))+"/"+rt.root+"/subscriptions/"+subs[0].ID)
	}
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(b)
	}
	return nil
}

// appendSubscriptionMembers writes a subscription in the member order of
// Graph's documented examples.
func appendSubscriptionMembers(b []byte, sub *portolan.Subscription) []byte {
	optional := func(b []byte, v string) []byte {
		if v == "" {
			return append(b, "null"...)
		}
		return appendString(b, v)
	}
	b = append(b, `"id":`...)
	b = appendString(b, sub.ID)
	b = append(b, `,"resource":`...)
	b = appendString(b, sub.Resource)
	b = append(b, `,"applicationId":`...)
	b = optional(b, sub.Owner.ApplicationID)
	b = append(b, `,"changeType":`...)
	b = appendString(b, sub.Change.String())
	b = append(b, `,"clientState":`...)
	b = optional(b, sub.ClientState)
	b = append(b, `,"notificationUrl":`...)
	b = appendString(b, sub.NotificationURL)
	b = append(b, `,"notificationQueryOptions":null,"lifecycleNotificationUrl":`...)
	b = optional(b, sub.LifecycleNotificationURL)
	b = append(b, `,"expirationDateTime":`...)
	b = appendString(b, sub.Expiration.UTC().Format("2006-01-02T15:04:05.000Z"))
	b = append(b, `,"creatorId":`...)
	b = optional(b, sub.Owner.CreatorID)
	b = append(b, `,"includeResourceData":false,"latestSupportedTlsVersion":"v1_2","encryptionCertificate":null,"encryptionCertificateId":null,"notificationUrlAppId":null`...)
	return b
}
