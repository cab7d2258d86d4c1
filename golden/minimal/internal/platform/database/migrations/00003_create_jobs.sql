-- +goose Up
-- The status of every background job, as its tenant sees it. The queue
-- backend keeps its own bookkeeping (River's tables or Asynq's Redis keys);
-- this table is what GET /api/v1/jobs/{id} reads, under row-level security,
-- so another tenant's job is simply not there. Workers update it through the
-- tenancy helpers as the job's tenant.
CREATE TABLE jobs (
    id               uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id        uuid        NOT NULL REFERENCES tenants (id),
    kind             text        NOT NULL CHECK (length(kind) BETWEEN 1 AND 100),
    state            text        NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'running', 'completed', 'failed')),
    attempts         integer     NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    max_attempts     integer     NOT NULL CHECK (max_attempts >= 1),
    -- The outcome: result once completed, the last error while retrying
    -- and once failed.
    result           jsonb,
    error            text,
    -- Who enqueued it (a user or an API key; at most one is set).
    user_id          uuid,
    api_key_id       uuid,
    created_at       timestamptz NOT NULL DEFAULT now(),
    started_at       timestamptz,
    finished_at      timestamptz,
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CHECK ((state IN ('completed', 'failed')) = (finished_at IS NOT NULL))
);

-- A tenant's jobs, newest first; also covers the tenant_id foreign key.
CREATE INDEX jobs_tenant_created_idx ON jobs (tenant_id, created_at DESC, id DESC);

ALTER TABLE jobs ENABLE ROW LEVEL SECURITY;
ALTER TABLE jobs FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON jobs
    USING (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid);

-- +goose Down
DROP TABLE jobs;
