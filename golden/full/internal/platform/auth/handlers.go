package auth

import (
	"errors"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/acme/acme/internal/platform/httpx"
	"github.com/acme/acme/internal/platform/tenancy"
)

// RegisterAPI adds the identity API to api, the mux of /api/v1/:
//
//	GET    /api/v1/me                 who is asking: user or key, tenant, memberships
//	PUT    /api/v1/me/tenant          select the session's tenant {"tenant":"slug"}
//	GET    /api/v1/tenants            the signed-in user's tenants
//	POST   /api/v1/tenants            create a tenant, caller becomes owner {"slug","name"}
//	GET    /api/v1/members            members of the tenant (admin)
//	POST   /api/v1/members            add a user who signed in once {"email","role"} (admin)
//	PATCH  /api/v1/members/{user_id}  change a role {"role"} (admin; owner for owners)
//	DELETE /api/v1/members/{user_id}  remove a member (admin), or leave (anyone)
//	GET    /api/v1/api-keys           keys of the tenant (admin)
//	POST   /api/v1/api-keys           create a key, shown once {"name","role","expires_at"} (admin user)
//	DELETE /api/v1/api-keys/{id}      revoke a key (admin)
func (a *Authenticator) RegisterAPI(api *http.ServeMux) {
	account := func(pattern string, h http.HandlerFunc) {
		api.Handle(pattern, h)
		a.account[pattern] = true
	}
	account("GET /api/v1/me", a.me)
	account("PUT /api/v1/me/tenant", a.selectTenant)
	account("GET /api/v1/tenants", a.listTenants)
	account("POST /api/v1/tenants", a.createTenant)

	admin, member := Require(RoleAdmin), Require(RoleMember)
	api.Handle("GET /api/v1/members", admin(http.HandlerFunc(a.listMembers)))
	api.Handle("POST /api/v1/members", admin(http.HandlerFunc(a.addMember)))
	api.Handle("PATCH /api/v1/members/{user_id}", admin(http.HandlerFunc(a.setRole)))
	api.Handle("DELETE /api/v1/members/{user_id}", member(http.HandlerFunc(a.removeMember)))
	api.Handle("GET /api/v1/api-keys", admin(http.HandlerFunc(a.listKeys)))
	api.Handle("POST /api/v1/api-keys", admin(http.HandlerFunc(a.createKey)))
	api.Handle("DELETE /api/v1/api-keys/{id}", admin(http.HandlerFunc(a.revokeKey)))
}

type tenantJSON struct {
	ID   uuid.UUID `json:"id"`
	Slug string    `json:"slug"`
	Name string    `json:"name"`
	Role Role      `json:"role"`
}

type meJSON struct {
	User        *User        `json:"user,omitempty"`
	APIKey      *apiKeyJSON  `json:"api_key,omitempty"`
	Tenant      *tenantJSON  `json:"tenant"`
	Memberships []Membership `json:"memberships"`
}

type apiKeyJSON struct {
	ID   uuid.UUID `json:"id"`
	Role Role      `json:"role"`
}

func (a *Authenticator) me(w http.ResponseWriter, r *http.Request) {
	p, _ := FromContext(r.Context())
	out := meJSON{Memberships: []Membership{}}
	if t, ok := tenancy.FromContext(r.Context()); ok {
		out.Tenant = &tenantJSON{ID: t.ID, Slug: t.Slug, Name: t.Name, Role: p.Role}
	}
	if p.IsAPIKey() {
		out.APIKey = &apiKeyJSON{ID: p.APIKeyID, Role: p.Role}
		httpx.JSON(w, http.StatusOK, out)
		return
	}
	u, err := userByID(r.Context(), a.db, p.UserID)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	ms, err := a.members.Of(r.Context(), p.UserID)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out.User, out.Memberships = &u, append(out.Memberships, ms...)
	httpx.JSON(w, http.StatusOK, out)
}

// userOnly answers 403 for an API key and returns false.
func userOnly(w http.ResponseWriter, r *http.Request) (Principal, bool) {
	p, _ := FromContext(r.Context())
	if !p.IsUser() {
		httpx.Error(w, r, http.StatusForbidden, "user_required", "only a signed-in user can do this; an API key belongs to one tenant")
		return p, false
	}
	return p, true
}

func (a *Authenticator) selectTenant(w http.ResponseWriter, r *http.Request) {
	p, ok := userOnly(w, r)
	if !ok {
		return
	}
	var in struct {
		Tenant string `json:"tenant"`
	}
	if !httpx.DecodeJSON(w, r, &in) {
		return
	}
	ms, err := a.members.Of(r.Context(), p.UserID)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	t, err := a.resolver.BySlug(r.Context(), in.Tenant)
	if err != nil && !errors.Is(err, tenancy.ErrUnknownTenant) {
		a.fail(w, r, err)
		return
	}
	m, member := membershipOf(ms, t.ID)
	if err != nil || !member {
		tenantNotFound(w, r)
		return
	}
	if err := a.sessions.selectTenant(r.Context(), w, m.TenantID); err != nil {
		sessionFailed(w, r, a.logger, err)
		return
	}
	httpx.JSON(w, http.StatusOK, tenantJSON{ID: m.TenantID, Slug: m.Slug, Name: m.Name, Role: m.Role})
}

func (a *Authenticator) listTenants(w http.ResponseWriter, r *http.Request) {
	p, ok := userOnly(w, r)
	if !ok {
		return
	}
	ms, err := a.members.Of(r.Context(), p.UserID)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, map[string]any{"tenants": append([]Membership{}, ms...)})
}

// maxTenantName bounds a tenant's name.
const maxTenantName = 200

func (a *Authenticator) createTenant(w http.ResponseWriter, r *http.Request) {
	p, ok := userOnly(w, r)
	if !ok {
		return
	}
	var in struct {
		Slug string `json:"slug"`
		Name string `json:"name"`
	}
	if !httpx.DecodeJSON(w, r, &in) {
		return
	}
	bad := map[string]string{}
	if !tenancy.ValidSlug(in.Slug) {
		bad["slug"] = "must be 1 to 63 lower-case letters, digits and hyphens, starting and ending with a letter or digit"
	}
	if n := utf8.RuneCountInString(strings.TrimSpace(in.Name)); n == 0 || n > maxTenantName || !utf8.ValidString(in.Name) || strings.ContainsRune(in.Name, 0) {
		bad["name"] = "must be 1 to 200 characters"
	}
	if len(bad) > 0 {
		httpx.ErrorFields(w, r, http.StatusBadRequest, "invalid_input", "invalid tenant", bad)
		return
	}
	m, err := CreateTenant(r.Context(), a.db, p.UserID, in.Slug, strings.TrimSpace(in.Name))
	if errors.Is(err, ErrSlugTaken) {
		httpx.ErrorFields(w, r, http.StatusConflict, "slug_taken", "a tenant already has this slug", map[string]string{"slug": "is taken"})
		return
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.members.forget(p.UserID)
	// The new tenant becomes the session's: a change of privilege, so the
	// session gets a new token.
	if err := a.sessions.selectTenant(r.Context(), w, m.TenantID); err != nil {
		sessionFailed(w, r, a.logger, err)
		return
	}
	w.Header().Set("Location", "/api/v1/tenants")
	httpx.JSON(w, http.StatusCreated, tenantJSON{ID: m.TenantID, Slug: m.Slug, Name: m.Name, Role: m.Role})
}

func (a *Authenticator) listMembers(w http.ResponseWriter, r *http.Request) {
	p, _ := FromContext(r.Context())
	ms, err := ListMembers(r.Context(), a.db, p.TenantID)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, map[string]any{"members": ms})
}

func (a *Authenticator) addMember(w http.ResponseWriter, r *http.Request) {
	p, _ := FromContext(r.Context())
	var in struct {
		Email string `json:"email"`
		Role  Role   `json:"role"`
	}
	if !httpx.DecodeJSON(w, r, &in) {
		return
	}
	if !in.Role.Valid() || strings.TrimSpace(in.Email) == "" {
		httpx.ErrorFields(w, r, http.StatusBadRequest, "invalid_input", "invalid member", map[string]string{"email": "required", "role": "owner, admin or member"})
		return
	}
	if in.Role == RoleOwner && p.Role != RoleOwner {
		httpx.Error(w, r, http.StatusForbidden, "forbidden", "only an owner can add an owner")
		return
	}
	m, err := AddMember(r.Context(), a.db, p.TenantID, in.Email, in.Role)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.members.forget(m.UserID)
	httpx.JSON(w, http.StatusCreated, m)
}

func (a *Authenticator) setRole(w http.ResponseWriter, r *http.Request) {
	p, _ := FromContext(r.Context())
	user, ok := pathID(w, r, "user_id")
	if !ok {
		return
	}
	var in struct {
		Role Role `json:"role"`
	}
	if !httpx.DecodeJSON(w, r, &in) {
		return
	}
	if !in.Role.Valid() {
		httpx.ErrorFields(w, r, http.StatusBadRequest, "invalid_input", "invalid role", map[string]string{"role": "owner, admin or member"})
		return
	}
	current, err := RoleOf(r.Context(), a.db, p.TenantID, user)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if (current == RoleOwner || in.Role == RoleOwner) && p.Role != RoleOwner {
		httpx.Error(w, r, http.StatusForbidden, "forbidden", "only an owner can make or unmake an owner")
		return
	}
	m, err := SetRole(r.Context(), a.db, p.TenantID, user, in.Role)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.members.forget(user)
	httpx.JSON(w, http.StatusOK, m)
}

func (a *Authenticator) removeMember(w http.ResponseWriter, r *http.Request) {
	p, _ := FromContext(r.Context())
	user, ok := pathID(w, r, "user_id")
	if !ok {
		return
	}
	if user != p.UserID {
		if !p.Role.AtLeast(RoleAdmin) {
			httpx.Error(w, r, http.StatusForbidden, "forbidden", "this needs the admin role in the tenant (anyone may remove themselves)")
			return
		}
		current, err := RoleOf(r.Context(), a.db, p.TenantID, user)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		if current == RoleOwner && p.Role != RoleOwner {
			httpx.Error(w, r, http.StatusForbidden, "forbidden", "only an owner can remove an owner")
			return
		}
	}
	if err := RemoveMember(r.Context(), a.db, p.TenantID, user); err != nil {
		a.fail(w, r, err)
		return
	}
	a.members.forget(user)
	w.WriteHeader(http.StatusNoContent)
}

func (a *Authenticator) listKeys(w http.ResponseWriter, r *http.Request) {
	p, _ := FromContext(r.Context())
	keys, err := ListAPIKeys(r.Context(), a.db, p.TenantID)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, map[string]any{"api_keys": append([]APIKey{}, keys...)})
}

func (a *Authenticator) createKey(w http.ResponseWriter, r *http.Request) {
	p, ok := userOnly(w, r)
	if !ok {
		return
	}
	var in struct {
		Name      string     `json:"name"`
		Role      Role       `json:"role"`
		ExpiresAt *time.Time `json:"expires_at"`
	}
	if !httpx.DecodeJSON(w, r, &in) {
		return
	}
	if in.Role == "" {
		in.Role = RoleMember
	}
	if bad := CheckKeyInput(in.Name, in.Role, in.ExpiresAt, time.Now()); len(bad) > 0 {
		httpx.ErrorFields(w, r, http.StatusBadRequest, "invalid_input", "invalid API key", bad)
		return
	}
	k, err := CreateAPIKey(r.Context(), a.db, p.TenantID, in.Name, in.Role, in.ExpiresAt, &p.UserID)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	httpx.JSON(w, http.StatusCreated, k)
}

func (a *Authenticator) revokeKey(w http.ResponseWriter, r *http.Request) {
	p, _ := FromContext(r.Context())
	id, ok := pathID(w, r, "id")
	if !ok {
		return
	}
	prefix, err := RevokeAPIKey(r.Context(), a.db, p.TenantID, id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.keys.forget(prefix)
	w.WriteHeader(http.StatusNoContent)
}

// pathID parses the path value name as a UUID; anything else is a 404.
func pathID(w http.ResponseWriter, r *http.Request, name string) (uuid.UUID, bool) {
	id, err := uuid.Parse(r.PathValue(name))
	if err != nil {
		httpx.Error(w, r, http.StatusNotFound, "not_found", "not found")
		return uuid.Nil, false
	}
	return id, true
}

// fail maps the errors of this package to responses; any other goes to
// httpx.ServerError (503 when the database is down, else a logged 500).
func (a *Authenticator) fail(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, ErrNotFound):
		httpx.Error(w, r, http.StatusNotFound, "not_found", "not found")
	case errors.Is(err, ErrLastOwner):
		httpx.Error(w, r, http.StatusConflict, "last_owner", "a tenant must keep at least one owner: make someone else owner first")
	case errors.Is(err, ErrAlreadyMember):
		httpx.Error(w, r, http.StatusConflict, "already_member", "this user is already a member")
	case errors.Is(err, ErrNoSuchUser):
		httpx.Error(w, r, http.StatusNotFound, "user_not_found", "nobody has signed in with this email yet: people can be added after their first sign-in")
	default:
		httpx.ServerError(w, r, a.logger, "identity request failed", err)
	}
}
