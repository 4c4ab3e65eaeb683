-- An order may choose a key made in the subscriber's browser at pickup (design R-KEY-2).
ALTER TABLE orders DROP CONSTRAINT orders_key_type_known;
ALTER TABLE orders ADD CONSTRAINT orders_key_type_known CHECK (key_type IN ('rsa-2048', 'rsa-3072', 'p-256', 'p-384', 'csr', 'browser'));
