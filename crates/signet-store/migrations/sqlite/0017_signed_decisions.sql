-- Officers' decision-signing keys and the decisions they signed (issue 15, design R-VET).
-- A key is pending until certified (at once for a first key or a renewal, by an administrator
-- otherwise); an officer has at most one active key; a newer one replaces it.
CREATE TABLE signing_keys (
    id            INTEGER PRIMARY KEY,
    account_id    BIGINT NOT NULL REFERENCES accounts (id),
    key_sha256    TEXT NOT NULL,
    spki          BLOB NOT NULL,
    state         TEXT NOT NULL CHECK (state IN ('pending', 'active', 'refused', 'replaced')),
    certificate   BLOB,
    not_after     BIGINT,
    requested_at  BIGINT NOT NULL,
    settled_by    BIGINT,
    settled_at    BIGINT,
    CHECK (state NOT IN ('active', 'replaced') OR (certificate IS NOT NULL AND not_after IS NOT NULL))
);
CREATE UNIQUE INDEX signing_keys_one_active ON signing_keys (account_id) WHERE state = 'active';
-- A public key is one officer's: never pending or active for two accounts (or twice).
CREATE UNIQUE INDEX signing_keys_one_holder ON signing_keys (key_sha256) WHERE state IN ('pending', 'active');
CREATE INDEX signing_keys_state ON signing_keys (state, requested_at);
-- Each signed decision as CMS SignedData, stored in the unit of work that applies the decision;
-- its audit record names cms_sha256, so the audit chain vouches for the object. A signed
-- statement counts once per order (statement_sha256), even when requests race.
CREATE TABLE signed_decisions (
    id              INTEGER PRIMARY KEY,
    order_number    TEXT NOT NULL,
    decision        TEXT NOT NULL,
    account_id      BIGINT NOT NULL REFERENCES accounts (id),
    signing_key_id  BIGINT NOT NULL REFERENCES signing_keys (id),
    cms             BLOB NOT NULL,
    cms_sha256      TEXT NOT NULL UNIQUE,
    statement_sha256 TEXT NOT NULL,
    at              BIGINT NOT NULL,
    UNIQUE (order_number, statement_sha256)
);
CREATE INDEX signed_decisions_order ON signed_decisions (order_number, id);
