-- Every certificate Signet signs, CA certificates included, so serials are unique across all.
-- A row is written as an intent (with the to-be-signed DER) before signing and completed after.
CREATE TABLE certificates (
    serial      TEXT PRIMARY KEY,
    issuer      TEXT NOT NULL,
    profile     TEXT NOT NULL,
    subject     TEXT NOT NULL,
    not_before  BIGINT NOT NULL,
    not_after   BIGINT NOT NULL,
    tbs         BYTEA NOT NULL,
    der         BYTEA,
    state       TEXT NOT NULL CHECK (state IN ('intent', 'issued', 'abandoned')),
    note        TEXT,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX certificates_state ON certificates (state);
