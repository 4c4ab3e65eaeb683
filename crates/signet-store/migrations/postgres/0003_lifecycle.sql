-- Revocation of certificates, reissue/renewal/reorder links between orders, expiry reminders.
ALTER TABLE certificates ADD COLUMN revoked_at BIGINT;
ALTER TABLE certificates ADD COLUMN revocation_reason TEXT;
ALTER TABLE orders ADD COLUMN order_kind TEXT NOT NULL DEFAULT 'new';
ALTER TABLE orders ADD COLUMN fixed_not_after BIGINT;
CREATE INDEX orders_certificate ON orders (certificate_serial);
CREATE INDEX certificates_not_after ON certificates (state, not_after);
CREATE TABLE reminders (
    serial   TEXT NOT NULL,
    kind     TEXT NOT NULL,
    sent_at  BIGINT NOT NULL,
    PRIMARY KEY (serial, kind)
);
