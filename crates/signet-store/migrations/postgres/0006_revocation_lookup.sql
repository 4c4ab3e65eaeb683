-- Bumped in the same transaction as every revocation, so that each node's in-process cache of
-- OCSP responses learns of revocations made elsewhere (another node, the CLI) by polling one row.
CREATE TABLE revocation_epoch (
    id     BIGINT PRIMARY KEY,
    value  BIGINT NOT NULL
);
INSERT INTO revocation_epoch (id, value) VALUES (1, 0);
-- The certificate's CRL entry, DER-encoded once at revocation: a CRL is the concatenation of
-- its shard's entries, which the database assembles in chunks from this index alone.
ALTER TABLE certificates ADD COLUMN crl_entry BYTEA;
CREATE INDEX certificates_crl_entries ON certificates (issuer, crl_shard, serial, crl_entry)
    WHERE revoked_at IS NOT NULL;
