-- +goose Up
-- The number of notes of each order item, kept by the triggers below, so
-- that a page shows it without counting anything.
ALTER TABLE order_items ADD COLUMN notes_count integer NOT NULL DEFAULT 0;

-- Count the notes written before. The owner runs migrations, and row-level
-- security is forced on it too: lifted for this transaction's backfill only.
ALTER TABLE order_items NO FORCE ROW LEVEL SECURITY;
ALTER TABLE order_item_notes NO FORCE ROW LEVEL SECURITY;
UPDATE order_items i
SET notes_count = c.n
FROM (SELECT tenant_id, order_item_id, count(*) AS n FROM order_item_notes GROUP BY 1, 2) c
WHERE i.tenant_id = c.tenant_id AND i.id = c.order_item_id;
ALTER TABLE order_items FORCE ROW LEVEL SECURITY;
ALTER TABLE order_item_notes FORCE ROW LEVEL SECURITY;

-- Keeps order_items.notes_count equal to the number of notes, whoever
-- writes them: once per statement, for all the rows it inserted or deleted
-- (notes never move to another order item). It runs as the writer, under
-- row-level security like the write itself.
-- +goose StatementBegin
CREATE FUNCTION order_item_notes_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE order_items i
    SET notes_count = i.notes_count + CASE TG_OP WHEN 'INSERT' THEN c.n ELSE -c.n END
    FROM (SELECT tenant_id, order_item_id, count(*) AS n FROM changed GROUP BY 1, 2) c
    WHERE i.tenant_id = c.tenant_id AND i.id = c.order_item_id;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER order_item_notes_inserted AFTER INSERT ON order_item_notes
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION order_item_notes_count();
CREATE TRIGGER order_item_notes_deleted AFTER DELETE ON order_item_notes
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION order_item_notes_count();

-- +goose Down
DROP TRIGGER order_item_notes_deleted ON order_item_notes;
DROP TRIGGER order_item_notes_inserted ON order_item_notes;
DROP FUNCTION order_item_notes_count();
ALTER TABLE order_items DROP COLUMN notes_count;
