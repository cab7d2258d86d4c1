-- +goose Up
-- The number of notes of each invoice, kept by the triggers below, so
-- that a page shows it without counting anything.
ALTER TABLE invoices ADD COLUMN notes_count integer NOT NULL DEFAULT 0;

-- Count the notes written before. The owner runs migrations, and row-level
-- security is forced on it too: lifted for this transaction's backfill only.
ALTER TABLE invoices NO FORCE ROW LEVEL SECURITY;
ALTER TABLE invoice_notes NO FORCE ROW LEVEL SECURITY;
UPDATE invoices i
SET notes_count = c.n
FROM (SELECT tenant_id, invoice_id, count(*) AS n FROM invoice_notes GROUP BY 1, 2) c
WHERE i.tenant_id = c.tenant_id AND i.id = c.invoice_id;
ALTER TABLE invoices FORCE ROW LEVEL SECURITY;
ALTER TABLE invoice_notes FORCE ROW LEVEL SECURITY;

-- Keeps invoices.notes_count equal to the number of notes, whoever
-- writes them: once per statement, for all the rows it inserted or deleted
-- (notes never move to another invoice). It runs as the writer, under
-- row-level security like the write itself.
-- +goose StatementBegin
CREATE FUNCTION invoice_notes_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE invoices i
    SET notes_count = i.notes_count + CASE TG_OP WHEN 'INSERT' THEN c.n ELSE -c.n END
    FROM (SELECT tenant_id, invoice_id, count(*) AS n FROM changed GROUP BY 1, 2) c
    WHERE i.tenant_id = c.tenant_id AND i.id = c.invoice_id;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER invoice_notes_inserted AFTER INSERT ON invoice_notes
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION invoice_notes_count();
CREATE TRIGGER invoice_notes_deleted AFTER DELETE ON invoice_notes
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION invoice_notes_count();

-- +goose Down
DROP TRIGGER invoice_notes_deleted ON invoice_notes;
DROP TRIGGER invoice_notes_inserted ON invoice_notes;
DROP FUNCTION invoice_notes_count();
ALTER TABLE invoices DROP COLUMN notes_count;
