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
-- The shard is fixed at issuance (it is in the CDP), so a later change of the shard count
-- never moves a certificate to a CRL its relying parties do not fetch.
ALTER TABLE certificates ADD COLUMN crl_shard BIGINT NOT NULL DEFAULT 0;
CREATE INDEX certificates_revoked ON certificates (issuer, revoked_at);
