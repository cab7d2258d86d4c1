-- +goose Up
-- Identity: users (platform table: a person may belong to several tenants),
-- memberships and API keys (tenant-owned: row-level security like every
-- module table). No password is stored anywhere: users sign in at an
-- OpenID Connect provider; API keys are stored as SHA-256 hashes.

CREATE TABLE users (
    id            uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    -- The provider's issuer URL and its stable subject identifier: the
    -- user's identity. Email and name are copied from the ID token at each
    -- sign-in and may change.
    issuer        text        NOT NULL CHECK (length(issuer) BETWEEN 1 AND 2000),
    subject       text        NOT NULL CHECK (length(subject) BETWEEN 1 AND 255),
    email         text        NOT NULL DEFAULT '' CHECK (length(email) <= 320),
    name          text        NOT NULL DEFAULT '' CHECK (length(name) <= 200),
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_login_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (issuer, subject)
);

-- Members are added by email.
CREATE INDEX users_email_idx ON users (lower(email));

CREATE TABLE memberships (
    tenant_id  uuid        NOT NULL REFERENCES tenants (id),
    user_id    uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role       text        NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, user_id)
);

-- A user's memberships (sign-in, tenant selection); covers the user_id
-- foreign key.
CREATE INDEX memberships_user_idx ON memberships (user_id);

ALTER TABLE memberships ENABLE ROW LEVEL SECURITY;
ALTER TABLE memberships FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON memberships
    USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);

-- Every tenant keeps an owner: removing or demoting the last one fails.
-- Changes to one tenant's owners are serialised by a transaction-scoped
-- advisory lock taken before counting, and the count runs on a snapshot
-- taken after the lock, so two concurrent demotions of the two last owners
-- cannot both succeed. The function runs as the caller, under row-level
-- security: it sees the tenant's own memberships only.
-- +goose StatementBegin
CREATE FUNCTION identity_keep_an_owner() RETURNS trigger
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    IF OLD.role <> 'owner' OR (TG_OP = 'UPDATE' AND NEW.role = 'owner' AND NEW.tenant_id = OLD.tenant_id) THEN
        RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('memberships.owner'), hashtext(OLD.tenant_id::text));
    IF NOT EXISTS (
        SELECT 1 FROM memberships
        WHERE tenant_id = OLD.tenant_id AND role = 'owner' AND user_id <> OLD.user_id
    ) THEN
        RAISE EXCEPTION 'a tenant must keep at least one owner'
            USING ERRCODE = 'check_violation', CONSTRAINT = 'memberships_last_owner';
    END IF;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER memberships_keep_an_owner BEFORE UPDATE OR DELETE ON memberships
    FOR EACH ROW EXECUTE FUNCTION identity_keep_an_owner();

CREATE TABLE api_keys (
    id           uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id    uuid        NOT NULL REFERENCES tenants (id),
    name         text        NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    -- The visible start of the key ("sk_" and 12 characters): it finds the
    -- key before its tenant is known and tells keys apart in listings.
    prefix       text        NOT NULL UNIQUE,
    -- Hex SHA-256 of the whole key; the key itself is shown once and never
    -- stored.
    secret_hash  text        NOT NULL CHECK (secret_hash ~ '^[0-9a-f]{64}$'),
    role         text        NOT NULL CHECK (role IN ('admin', 'member')),
    created_by   uuid        REFERENCES users (id) ON DELETE SET NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz,
    revoked_at   timestamptz,
    last_used_at timestamptz
);

CREATE INDEX api_keys_tenant_idx ON api_keys (tenant_id, created_at DESC);
CREATE INDEX api_keys_created_by_idx ON api_keys (created_by);

ALTER TABLE api_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE api_keys FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON api_keys
    USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);

-- The only paths across tenants: three SECURITY DEFINER functions, each
-- doing one narrow thing. They run as the owner of these tables, which the
-- policies below let read every tenant's memberships and keys (FORCE ROW
-- LEVEL SECURITY holds the owner to the tenant policy otherwise; the app
-- role never gets these policies). Each pins search_path to this schema
-- with pg_temp last, and only the app role may execute them (migrate up
-- grants it; PUBLIC may not).
-- +goose StatementBegin
DO $$
BEGIN
    EXECUTE format('CREATE POLICY identity_lookup ON memberships FOR SELECT TO %I USING (true)', current_user);
    EXECUTE format('CREATE POLICY identity_lookup ON api_keys FOR SELECT TO %I USING (true)', current_user);
END
$$;
-- +goose StatementEnd

-- The tenants a user belongs to, with the user's role: at sign-in, for
-- /api/v1/me and to check a requested tenant.
-- +goose StatementBegin
CREATE FUNCTION identity_user_memberships(p_user uuid)
RETURNS TABLE (tenant_id uuid, slug text, name text, role text)
LANGUAGE sql STABLE SECURITY DEFINER AS $$
    SELECT t.id, t.slug, t.name, m.role
    FROM memberships m JOIN tenants t ON t.id = m.tenant_id
    WHERE m.user_id = p_user
    ORDER BY t.slug
$$;
-- +goose StatementEnd

-- An API key by its visible prefix, before its tenant is known. The caller
-- compares the hash itself, in constant time.
-- +goose StatementBegin
CREATE FUNCTION identity_api_key(p_prefix text)
RETURNS TABLE (id uuid, tenant_id uuid, slug text, tenant_name text, role text, secret_hash text, expires_at timestamptz, revoked boolean)
LANGUAGE sql STABLE SECURITY DEFINER AS $$
    SELECT k.id, k.tenant_id, t.slug, t.name, k.role, k.secret_hash, k.expires_at, k.revoked_at IS NOT NULL
    FROM api_keys k JOIN tenants t ON t.id = k.tenant_id
    WHERE k.prefix = p_prefix
$$;
-- +goose StatementEnd

-- A signed-in user creates a tenant and becomes its owner (the app role may
-- not write tenants). The owner membership is inserted under the new
-- tenant's setting, which is then put back as it was.
-- +goose StatementBegin
CREATE FUNCTION identity_create_tenant(p_user uuid, p_slug text, p_name text)
RETURNS TABLE (id uuid, slug text, name text)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER AS $$
DECLARE
    t tenants;
    previous text := current_setting('app.tenant_id', true);
BEGIN
    INSERT INTO tenants (slug, name) VALUES (p_slug, p_name) RETURNING * INTO t;
    PERFORM set_config('app.tenant_id', t.id::text, true);
    INSERT INTO memberships (tenant_id, user_id, role) VALUES (t.id, p_user, 'owner');
    PERFORM set_config('app.tenant_id', coalesce(previous, ''), true);
    RETURN QUERY SELECT t.id, t.slug, t.name;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
DO $$
DECLARE
    f text;
BEGIN
    FOREACH f IN ARRAY ARRAY['identity_user_memberships(uuid)', 'identity_api_key(text)', 'identity_create_tenant(uuid, text, text)'] LOOP
        EXECUTE format('ALTER FUNCTION %s SET search_path = %I, pg_temp', f, current_schema());
        EXECUTE format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC', f);
    END LOOP;
END
$$;
-- +goose StatementEnd

-- +goose Down
DROP FUNCTION identity_create_tenant(uuid, text, text);
DROP FUNCTION identity_api_key(text);
DROP FUNCTION identity_user_memberships(uuid);
DROP TABLE api_keys;
DROP TABLE memberships;
DROP FUNCTION identity_keep_an_owner();
DROP TABLE users;
