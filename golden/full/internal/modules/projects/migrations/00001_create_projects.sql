-- +goose Up
-- Projects and their notes: tenant-owned tables, isolated by row-level
-- security. Every index leads with tenant_id, the first column of every
-- query plan under RLS.
CREATE TABLE projects (
    id          uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id   uuid        NOT NULL REFERENCES tenants (id),
    name        text        NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    description text        NOT NULL DEFAULT '' CHECK (length(description) <= 2000),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    -- Target of the notes' composite foreign key, which keeps a note in the
    -- tenant of its project.
    UNIQUE (tenant_id, id)
);

-- The list order, newest first; also covers the tenant_id foreign key.
CREATE INDEX projects_tenant_created_idx ON projects (tenant_id, created_at DESC, id DESC);

ALTER TABLE projects ENABLE ROW LEVEL SECURITY;
ALTER TABLE projects FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON projects
    USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);

CREATE TABLE project_notes (
    id            uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id     uuid        NOT NULL REFERENCES tenants (id),
    project_id uuid        NOT NULL,
    body          text        NOT NULL CHECK (length(body) BETWEEN 1 AND 2000),
    created_at    timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (tenant_id, project_id) REFERENCES projects (tenant_id, id) ON DELETE CASCADE
);

-- Covers both foreign keys and the notes of one project, in order.
CREATE INDEX project_notes_tenant_project_idx ON project_notes (tenant_id, project_id, created_at, id);

ALTER TABLE project_notes ENABLE ROW LEVEL SECURITY;
ALTER TABLE project_notes FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON project_notes
    USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);

-- +goose Down
DROP TABLE project_notes;
DROP TABLE projects;
