-- An order may choose a key made in the subscriber's browser at pickup (design R-KEY-2).
DROP TRIGGER orders_key_type_known_insert;
DROP TRIGGER orders_key_type_known_update;
CREATE TRIGGER orders_key_type_known_insert BEFORE INSERT ON orders WHEN NEW.key_type NOT IN ('rsa-2048', 'rsa-3072', 'p-256', 'p-384', 'csr', 'browser')
BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: orders.key_type holds a value the domain does not name'); END;
CREATE TRIGGER orders_key_type_known_update BEFORE UPDATE OF key_type ON orders WHEN NEW.key_type NOT IN ('rsa-2048', 'rsa-3072', 'p-256', 'p-384', 'csr', 'browser')
BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: orders.key_type holds a value the domain does not name'); END;
