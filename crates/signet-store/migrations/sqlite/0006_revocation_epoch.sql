-- Bumped in the same transaction as every revocation, so that each node's in-process cache of
-- OCSP responses learns of revocations made elsewhere (another node, the CLI) by polling one row.
CREATE TABLE revocation_epoch (
    id     BIGINT PRIMARY KEY,
    value  BIGINT NOT NULL
);
INSERT INTO revocation_epoch (id, value) VALUES (1, 0);
