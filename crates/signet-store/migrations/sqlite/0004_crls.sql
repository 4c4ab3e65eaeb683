-- CRL shards: one row per signed CRL (never one growing value), numbers kept per shard so that
-- several nodes never go backwards.
CREATE TABLE crl_numbers (
    issuer       TEXT NOT NULL,
    shard        BIGINT NOT NULL,
    last_number  BIGINT NOT NULL,
    PRIMARY KEY (issuer, shard)
);
CREATE TABLE crls (
    issuer       TEXT NOT NULL,
    shard        BIGINT NOT NULL,
    number       BIGINT NOT NULL,
    this_update  BIGINT NOT NULL,
    next_update  BIGINT NOT NULL,
    der          BLOB NOT NULL,
    PRIMARY KEY (issuer, shard, number)
);
CREATE INDEX certificates_revoked ON certificates (issuer, revoked_at);
