-- +goose Up
-- The number of notes of each project, kept by the triggers below, so
-- that a page shows it without counting anything.
ALTER TABLE projects ADD COLUMN notes_count integer NOT NULL DEFAULT 0;

-- Count the notes written before. The owner runs migrations, and row-level
-- security is forced on it too: lifted for this transaction's backfill only.
ALTER TABLE projects NO FORCE ROW LEVEL SECURITY;
ALTER TABLE project_notes NO FORCE ROW LEVEL SECURITY;
UPDATE projects i
SET notes_count = c.n
FROM (SELECT tenant_id, project_id, count(*) AS n FROM project_notes GROUP BY 1, 2) c
WHERE i.tenant_id = c.tenant_id AND i.id = c.project_id;
ALTER TABLE projects FORCE ROW LEVEL SECURITY;
ALTER TABLE project_notes FORCE ROW LEVEL SECURITY;

-- Keeps projects.notes_count equal to the number of notes, whoever
-- writes them: once per statement, for all the rows it inserted or deleted
-- (notes never move to another project). It runs as the writer, under
-- row-level security like the write itself.
-- +goose StatementBegin
CREATE FUNCTION project_notes_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE projects i
    SET notes_count = i.notes_count + CASE TG_OP WHEN 'INSERT' THEN c.n ELSE -c.n END
    FROM (SELECT tenant_id, project_id, count(*) AS n FROM changed GROUP BY 1, 2) c
    WHERE i.tenant_id = c.tenant_id AND i.id = c.project_id;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER project_notes_inserted AFTER INSERT ON project_notes
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION project_notes_count();
CREATE TRIGGER project_notes_deleted AFTER DELETE ON project_notes
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION project_notes_count();

-- +goose Down
DROP TRIGGER project_notes_deleted ON project_notes;
DROP TRIGGER project_notes_inserted ON project_notes;
DROP FUNCTION project_notes_count();
ALTER TABLE projects DROP COLUMN notes_count;
