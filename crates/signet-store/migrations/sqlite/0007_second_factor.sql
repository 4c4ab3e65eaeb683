-- TOTP (RFC 6238) for staff who can cause issuance or revocation. The secret is stored
-- encrypted (AES-256-GCM, key in the data directory's secrets); enabled once a first code
-- verified; the last accepted time step makes every code single-use.
ALTER TABLE accounts ADD COLUMN totp_secret BLOB;
ALTER TABLE accounts ADD COLUMN totp_enabled BIGINT NOT NULL DEFAULT 0;
ALTER TABLE accounts ADD COLUMN totp_last_step BIGINT;
