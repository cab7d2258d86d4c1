-- +goose Up
-- Order items and their notes: tenant-owned tables, isolated by row-level
-- security. Every index leads with tenant_id, the first column of every
-- query plan under RLS.
CREATE TABLE order_items (
    id          uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id   uuid        NOT NULL REFERENCES tenants (id),
    name        text        NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    description text        NOT NULL DEFAULT '' CHECK (length(description) <= 2000),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    -- Target of the notes' composite foreign key, which keeps a note in the
    -- tenant of its order item.
    UNIQUE (tenant_id, id)
);

-- The list order, newest first; also covers the tenant_id foreign key.
CREATE INDEX order_items_tenant_created_idx ON order_items (tenant_id, created_at DESC, id DESC);

ALTER TABLE order_items ENABLE ROW LEVEL SECURITY;
ALTER TABLE order_items FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON order_items
    USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);

CREATE TABLE order_item_notes (
    id            uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id     uuid        NOT NULL REFERENCES tenants (id),
    order_item_id uuid        NOT NULL,
    body          text        NOT NULL CHECK (length(body) BETWEEN 1 AND 2000),
    created_at    timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (tenant_id, order_item_id) REFERENCES order_items (tenant_id, id) ON DELETE CASCADE
);

-- Covers both foreign keys and the notes of one order item, in order.
CREATE INDEX order_item_notes_tenant_order_item_idx ON order_item_notes (tenant_id, order_item_id, created_at, id);

ALTER TABLE order_item_notes ENABLE ROW LEVEL SECURITY;
ALTER TABLE order_item_notes FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON order_item_notes
    USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);

-- +goose Down
DROP TABLE order_item_notes;
DROP TABLE order_items;
