package nsqadmin

import (
	"encoding/base64"
	"net"
	"net/http"
	"slices"

	"github.com/julienschmidt/httprouter"

	"github.com/nsqgo/nsq/internal/httpapi"
	"github.com/nsqgo/nsq/internal/logging"
)

// authCookie holds the secret a user gave /api/auth. It is HttpOnly (page
// scripts never read it) and SameSite=Strict (no other site's page sends
// it).
const authCookie = "nsqadmin_auth"

// access is what a request may do.
type access struct {
	User     string // from --acl-http-header, else the auth server's identity
	CanAdmin bool   // may perform some action
	answer   *authAnswer
}

// accessOf works out a request's access. Upstream's rule first: with
// --admin-user, only the listed users (named by --acl-http-header) may act.
// Ours on top: with --auth-http-address, only a secret the auth server
// accepts may act, on what its grants allow.
func (n *NSQAdmin) accessOf(r *http.Request) access {
	opts := n.getOpts()
	a := access{User: r.Header.Get(opts.ACLHTTPHeader), CanAdmin: true}
	if len(opts.AdminUsers) > 0 && !slices.Contains(opts.AdminUsers, a.User) {
		a.CanAdmin = false
	}
	if !n.auth.enabled() {
		return a
	}
	secret, ok := cookieSecret(r)
	if !ok {
		a.CanAdmin = false
		return a
	}
	answer, err := n.auth.check(r.Context(), secret, remoteIP(r), r.TLS != nil)
	if err != nil {
		n.logf(logging.Warn, "auth check for %s failed - %s", r.RemoteAddr, err)
		a.CanAdmin = false
		return a
	}
	a.answer = answer
	if a.User == "" {
		a.User = answer.Identity
	}
	a.CanAdmin = a.CanAdmin && len(answer.Grants) > 0
	return a
}

func cookieSecret(r *http.Request) (string, bool) {
	c, err := r.Cookie(authCookie)
	if err != nil || c.Value == "" {
		return "", false
	}
	secret, err := base64.RawURLEncoding.DecodeString(c.Value)
	if err != nil {
		return "", false
	}
	return string(secret), true
}

func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// requireACLUser is upstream's check, made before anything else: 403
// FORBIDDEN when --admin-user is set and the header names another user.
func (n *NSQAdmin) requireACLUser(r *http.Request) error {
	opts := n.getOpts()
	if len(opts.AdminUsers) > 0 && !slices.Contains(opts.AdminUsers, r.Header.Get(opts.ACLHTTPHeader)) {
		return httpapi.Errorf(http.StatusForbidden, "FORBIDDEN")
	}
	return nil
}

// requireGrant is ours: with an auth server, 403 AUTH_REQUIRED without an
// accepted secret, 403 FORBIDDEN when its grants do not cover the topic
// (channel "") or the channel.
func (n *NSQAdmin) requireGrant(r *http.Request, topic, channel string) error {
	if !n.auth.enabled() {
		return nil
	}
	a := n.accessOf(r)
	if a.answer == nil {
		return httpapi.Errorf(http.StatusForbidden, "AUTH_REQUIRED")
	}
	if !allowsAction(a.answer, topic, channel) {
		return httpapi.Errorf(http.StatusForbidden, "FORBIDDEN")
	}
	return nil
}

// sameOrigin wraps every action: 403 CROSS_ORIGIN_REQUEST_REFUSED for a
// request a browser marks as sent by another site (Sec-Fetch-Site, else an
// Origin that is not this host). Requests with neither header are not from
// a browser page (curl, scripts) and pass, so scripts written for upstream
// keep working.
func (n *NSQAdmin) sameOrigin(h httpapi.Handler) httpapi.Handler {
	return func(w http.ResponseWriter, r *http.Request, ps httprouter.Params) (any, error) {
		if err := n.crossOrigin.Check(r); err != nil {
			n.logf(logging.Warn, "refused %s %s from %s: %s", r.Method, r.URL.Path, r.RemoteAddr, err)
			return nil, httpapi.Errorf(http.StatusForbidden, "CROSS_ORIGIN_REQUEST_REFUSED")
		}
		return h(w, r, ps)
	}
}

// settings is GET /api/settings: what the pages need to know.
type settings struct {
	Version                  string   `json:"version"`
	BasePath                 string   `json:"base_path"`
	GraphiteURL              string   `json:"graphite_url"`
	GraphEnabled             bool     `json:"graph_enabled"`
	ProxyGraphite            bool     `json:"proxy_graphite"`
	StatsdPrefix             string   `json:"statsd_prefix"`
	StatsdCounterFormat      string   `json:"statsd_counter_format"`
	StatsdGaugeFormat        string   `json:"statsd_gauge_format"`
	StatsdIntervalSeconds    int      `json:"statsd_interval_seconds"`
	NSQLookupdHTTPAddresses  []string `json:"nsqlookupd_http_addresses"`
	NSQDHTTPAddresses        []string `json:"nsqd_http_addresses"`
	HistoryEnabled           bool     `json:"history_enabled"`
	HistoryResolutionSeconds float64  `json:"history_resolution_seconds"`
	HistoryRetentionSeconds  float64  `json:"history_retention_seconds"`
	AuthRequired             bool     `json:"auth_required"`
	User                     string   `json:"user"`
	CanAdmin                 bool     `json:"can_admin"`
	// Authorizations are the auth server's grants for the cookie's
	// secret ([] without one, or without --auth-http-address).
	Authorizations []Authorization `json:"authorizations"`
}

func (n *NSQAdmin) settingsHandler(w http.ResponseWriter, r *http.Request, _ httprouter.Params) (any, error) {
	opts := n.getOpts()
	a := n.accessOf(r)
	return settings{
		Version:                  Version,
		BasePath:                 opts.BasePath,
		GraphiteURL:              opts.GraphiteURL,
		GraphEnabled:             opts.GraphiteURL != "",
		ProxyGraphite:            opts.ProxyGraphite,
		StatsdPrefix:             opts.StatsdPrefix,
		StatsdCounterFormat:      opts.StatsdCounterFormat,
		StatsdGaugeFormat:        opts.StatsdGaugeFormat,
		StatsdIntervalSeconds:    int(opts.StatsdInterval.Seconds()),
		NSQLookupdHTTPAddresses:  nonNil(opts.NSQLookupdHTTPAddresses),
		NSQDHTTPAddresses:        nonNil(opts.NSQDHTTPAddresses),
		HistoryEnabled:           true,
		HistoryResolutionSeconds: opts.HistoryInterval.Seconds(),
		HistoryRetentionSeconds:  opts.HistoryRetention.Seconds(),
		AuthRequired:             n.auth.enabled(),
		User:                     a.User,
		CanAdmin:                 a.CanAdmin,
		Authorizations:           a.authorizations(),
	}, nil
}

// authorizations are the grants of the request's secret, never nil.
func (a access) authorizations() []Authorization {
	if a.answer == nil {
		return []Authorization{}
	}
	return nonNil(a.answer.Authorizations)
}

// authLoginHandler is POST /api/auth {"secret":...}: the auth server is
// asked at once; an accepted secret is kept in the cookie.
func (n *NSQAdmin) authLoginHandler(w http.ResponseWriter, r *http.Request, _ httprouter.Params) (any, error) {
	if !n.auth.enabled() {
		return nil, httpapi.Errorf(http.StatusBadRequest, "AUTH_NOT_CONFIGURED")
	}
	var body struct {
		Secret string `json:"secret"`
	}
	if err := decodeBody(r, &body); err != nil || body.Secret == "" {
		return nil, httpapi.Errorf(http.StatusBadRequest, "INVALID_BODY")
	}
	answer, err := n.auth.check(r.Context(), body.Secret, remoteIP(r), r.TLS != nil)
	if err != nil {
		n.logf(logging.Warn, "auth for %s refused - %s", r.RemoteAddr, err)
		return nil, httpapi.Errorf(http.StatusForbidden, "AUTH_FAILED")
	}
	if len(answer.Grants) == 0 {
		return nil, httpapi.Errorf(http.StatusForbidden, "AUTH_FAILED")
	}
	http.SetCookie(w, n.cookie(r, base64.RawURLEncoding.EncodeToString([]byte(body.Secret)), 0))
	// The request carried no cookie yet: judge with the new secret.
	r.AddCookie(&http.Cookie{Name: authCookie, Value: base64.RawURLEncoding.EncodeToString([]byte(body.Secret))})
	a := n.accessOf(r)
	return struct {
		User           string          `json:"user"`
		CanAdmin       bool            `json:"can_admin"`
		Authorizations []Authorization `json:"authorizations"`
	}{a.User, a.CanAdmin, a.authorizations()}, nil
}

// authLogoutHandler is DELETE /api/auth: the cookie is cleared and the
// cached answer dropped.
func (n *NSQAdmin) authLogoutHandler(w http.ResponseWriter, r *http.Request, _ httprouter.Params) (any, error) {
	if secret, ok := cookieSecret(r); ok {
		n.auth.forget(secret, remoteIP(r))
	}
	http.SetCookie(w, n.cookie(r, "", -1))
	return struct {
		User           string          `json:"user"`
		CanAdmin       bool            `json:"can_admin"`
		Authorizations []Authorization `json:"authorizations"`
	}{Authorizations: []Authorization{}}, nil
}

func (n *NSQAdmin) cookie(r *http.Request, value string, maxAge int) *http.Cookie {
	return &http.Cookie{
		Name:     authCookie,
		Value:    value,
		Path:     n.getOpts().BasePath,
		MaxAge:   maxAge,
		HttpOnly: true,
		Secure:   r.TLS != nil,
		SameSite: http.SameSiteStrictMode,
	}
}
