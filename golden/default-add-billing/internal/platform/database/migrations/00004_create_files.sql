-- +goose Up
-- Files uploaded by a tenant or written by its jobs. The bytes live in
-- object storage (BLOB_URL) under tenants/<tenant_id>/...; this table keeps
-- only what describes them.
CREATE TABLE files (
    id           uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id    uuid        NOT NULL REFERENCES tenants (id),
    key          text        NOT NULL UNIQUE CHECK (key LIKE 'tenants/' || tenant_id || '/%'),
    name         text        NOT NULL CHECK (length(name) BETWEEN 1 AND 255),
    content_type text        NOT NULL CHECK (length(content_type) BETWEEN 1 AND 255),
    size         bigint      NOT NULL CHECK (size >= 0),
    sha256       text        NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    -- Who stored it (a user or an API key; neither for a file a job wrote
    -- on nobody's behalf).
    user_id      uuid,
    api_key_id   uuid,
    created_at   timestamptz NOT NULL DEFAULT now()
);

-- A tenant's files, newest first; also covers the tenant_id foreign key.
CREATE INDEX files_tenant_created_idx ON files (tenant_id, created_at DESC, id DESC);

ALTER TABLE files ENABLE ROW LEVEL SECURITY;
ALTER TABLE files FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON files
    USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);

-- +goose Down
DROP TABLE files;
