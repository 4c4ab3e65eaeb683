-- Pre-signed OCSP responses: one row per certificate, replaced when re-signed. The responder
-- only reads these; signing happens at issuance, revocation and in the refresh job.
CREATE TABLE ocsp_responses (
    serial       TEXT PRIMARY KEY,
    issuer       TEXT NOT NULL,
    this_update  BIGINT NOT NULL,
    next_update  BIGINT NOT NULL,
    der          BYTEA NOT NULL
);
CREATE INDEX ocsp_responses_this_update ON ocsp_responses (this_update);
