-- +goose Up
-- Invoices and their notes: tenant-owned tables, isolated by row-level
-- security. Every index leads with tenant_id, the first column of every
-- query plan under RLS.
CREATE TABLE invoices (
    id          uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id   uuid        NOT NULL REFERENCES tenants (id),
    name        text        NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    description text        NOT NULL DEFAULT '' CHECK (length(description) <= 2000),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    -- Target of the notes' composite foreign key, which keeps a note in the
    -- tenant of its invoice.
    UNIQUE (tenant_id, id)
);

-- The list order, newest first; also covers the tenant_id foreign key.
CREATE INDEX invoices_tenant_created_idx ON invoices (tenant_id, created_at DESC, id DESC);

ALTER TABLE invoices ENABLE ROW LEVEL SECURITY;
ALTER TABLE invoices FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON invoices
    USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);

CREATE TABLE invoice_notes (
    id            uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id     uuid        NOT NULL REFERENCES tenants (id),
    invoice_id uuid        NOT NULL,
    body          text        NOT NULL CHECK (length(body) BETWEEN 1 AND 2000),
    created_at    timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (tenant_id, invoice_id) REFERENCES invoices (tenant_id, id) ON DELETE CASCADE
);

-- Covers both foreign keys and the notes of one invoice, in order.
CREATE INDEX invoice_notes_tenant_invoice_idx ON invoice_notes (tenant_id, invoice_id, created_at, id);

ALTER TABLE invoice_notes ENABLE ROW LEVEL SECURITY;
ALTER TABLE invoice_notes FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON invoice_notes
    USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);

-- +goose Down
DROP TABLE invoice_notes;
DROP TABLE invoices;
