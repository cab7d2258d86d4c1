-- +goose Up
-- The number of notes of each billing, kept by the triggers below, so
-- that a page shows it without counting anything.
ALTER TABLE billing ADD COLUMN notes_count integer NOT NULL DEFAULT 0;

-- Count the notes written before. The owner runs migrations, and row-level
-- security is forced on it too: lifted for this transaction's backfill only.
ALTER TABLE billing NO FORCE ROW LEVEL SECURITY;
ALTER TABLE billing_notes NO FORCE ROW LEVEL SECURITY;
UPDATE billing i
SET notes_count = c.n
FROM (SELECT tenant_id, billing_id, count(*) AS n FROM billing_notes GROUP BY 1, 2) c
WHERE i.tenant_id = c.tenant_id AND i.id = c.billing_id;
ALTER TABLE billing FORCE ROW LEVEL SECURITY;
ALTER TABLE billing_notes FORCE ROW LEVEL SECURITY;

-- Keeps billing.notes_count equal to the number of notes, whoever
-- writes them: once per statement, for all the rows it inserted or deleted
-- (notes never move to another billing). It runs as the writer, under
-- row-level security like the write itself.
-- +goose StatementBegin
CREATE FUNCTION billing_notes_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE billing i
    SET notes_count = i.notes_count + CASE TG_OP WHEN 'INSERT' THEN c.n ELSE -c.n END
    FROM (SELECT tenant_id, billing_id, count(*) AS n FROM changed GROUP BY 1, 2) c
    WHERE i.tenant_id = c.tenant_id AND i.id = c.billing_id;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER billing_notes_inserted AFTER INSERT ON billing_notes
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION billing_notes_count();
CREATE TRIGGER billing_notes_deleted AFTER DELETE ON billing_notes
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION billing_notes_count();

-- +goose Down
DROP TRIGGER billing_notes_deleted ON billing_notes;
DROP TRIGGER billing_notes_inserted ON billing_notes;
DROP FUNCTION billing_notes_count();
ALTER TABLE billing DROP COLUMN notes_count;
