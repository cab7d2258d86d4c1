-- +goose Up
-- Billing and their notes: tenant-owned tables, isolated by row-level
-- security. Every index leads with tenant_id, the first column of every
-- query plan under RLS.
CREATE TABLE billing (
    id          uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id   uuid        NOT NULL REFERENCES tenants (id),
    name        text        NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    description text        NOT NULL DEFAULT '' CHECK (length(description) <= 2000),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    -- Target of the notes' composite foreign key, which keeps a note in the
    -- tenant of its billing.
    UNIQUE (tenant_id, id)
);

-- The list order, newest first; also covers the tenant_id foreign key.
CREATE INDEX billing_tenant_created_idx ON billing (tenant_id, created_at DESC, id DESC);

ALTER TABLE billing ENABLE ROW LEVEL SECURITY;
ALTER TABLE billing FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON billing
    USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);

CREATE TABLE billing_notes (
    id            uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id     uuid        NOT NULL REFERENCES tenants (id),
    billing_id uuid        NOT NULL,
    body          text        NOT NULL CHECK (length(body) BETWEEN 1 AND 2000),
    created_at    timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (tenant_id, billing_id) REFERENCES billing (tenant_id, id) ON DELETE CASCADE
);

-- Covers both foreign keys and the notes of one billing, in order.
CREATE INDEX billing_notes_tenant_billing_idx ON billing_notes (tenant_id, billing_id, created_at, id);

ALTER TABLE billing_notes ENABLE ROW LEVEL SECURITY;
ALTER TABLE billing_notes FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON billing_notes
    USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);

-- +goose Down
DROP TABLE billing_notes;
DROP TABLE billing;
