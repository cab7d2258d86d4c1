-- +goose Up
-- Tenants and the history of their slugs: platform tables, not tenant-owned.
-- The app role may only read them (migrate up revokes its writes); tenants
-- are created and renamed as the owner, by the operator commands
-- (`shop tenants create|rename|list`).

-- A slug is a DNS label, exactly what tenancy.ValidSlug accepts, so that
-- every slug works as a subdomain and in a header; a name has 1 to 200
-- characters.
ALTER TABLE tenants
    ADD CONSTRAINT tenants_slug_format CHECK (slug ~ '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$'),
    ADD CONSTRAINT tenants_name_check CHECK (length(name) BETWEEN 1 AND 200);

-- Every slug a tenant ever had. A slug belongs to one tenant forever: after
-- a rename the old slug still names the same tenant (it resolves like a
-- redirect) and no other tenant can ever take it, so a slug cached anywhere
-- can never serve another tenant's rows. Rows are never changed or deleted.
CREATE TABLE tenant_slugs (
    slug       text        PRIMARY KEY,
    tenant_id  uuid        NOT NULL REFERENCES tenants (id),
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX tenant_slugs_tenant_idx ON tenant_slugs (tenant_id);

-- The tenants that existed before: their slugs are theirs.
INSERT INTO tenant_slugs (slug, tenant_id, created_at) SELECT slug, id, created_at FROM tenants;

-- Record the slug of every new or renamed tenant; refuse a slug that
-- belongs to another tenant (unique_violation on tenant_slugs_pkey).
-- +goose StatementBegin
CREATE FUNCTION record_tenant_slug() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO tenant_slugs (slug, tenant_id) VALUES (NEW.slug, NEW.id)
    ON CONFLICT (slug) DO NOTHING;
    IF NOT EXISTS (SELECT 1 FROM tenant_slugs WHERE slug = NEW.slug AND tenant_id = NEW.id) THEN
        RAISE EXCEPTION 'slug "%" names another tenant, now or in the past, and is never reused', NEW.slug
            USING ERRCODE = 'unique_violation', CONSTRAINT = 'tenant_slugs_pkey';
    END IF;
    RETURN NEW;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER tenants_record_slug AFTER INSERT OR UPDATE OF slug ON tenants
    FOR EACH ROW EXECUTE FUNCTION record_tenant_slug();

-- +goose StatementBegin
CREATE FUNCTION refuse_tenant_slug_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'tenant slugs are permanent: a slug may never name another tenant'
        USING ERRCODE = 'restrict_violation';
END
$$;
-- +goose StatementEnd

CREATE TRIGGER tenant_slugs_permanent BEFORE UPDATE OR DELETE ON tenant_slugs
    FOR EACH ROW EXECUTE FUNCTION refuse_tenant_slug_change();
CREATE TRIGGER tenant_slugs_not_truncated BEFORE TRUNCATE ON tenant_slugs
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_tenant_slug_change();

-- +goose Down
DROP TRIGGER tenants_record_slug ON tenants;
DROP TABLE tenant_slugs;
DROP FUNCTION refuse_tenant_slug_change();
DROP FUNCTION record_tenant_slug();
ALTER TABLE tenants DROP CONSTRAINT tenants_name_check, DROP CONSTRAINT tenants_slug_format;
