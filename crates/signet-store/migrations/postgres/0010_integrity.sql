-- Integrity under concurrency and faults: the audit chain's head, pickups claimed and released
-- in transactions, where each certificate came from, CRLs that say which revocations they
-- cover, a durable mail outbox, rate limits, and a row that readiness probes write.

-- The last record of the audit chain: a transaction that appends locks this one row, so
-- concurrent appenders queue instead of racing for the next number.
CREATE TABLE audit_head (
    id    BIGINT PRIMARY KEY,
    seq   BIGINT NOT NULL,
    hash  TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash)
SELECT 1,
       COALESCE((SELECT MAX(seq) FROM audit_log), 0),
       COALESCE((SELECT hash FROM audit_log ORDER BY seq DESC LIMIT 1),
                '0000000000000000000000000000000000000000000000000000000000000000');

-- Why a certificate exists: 'order:NUMBER' (a pickup), 'operator' (signet issue) or 'ca'.
-- Rows from before this column are linked by their order when one names them.
ALTER TABLE certificates ADD COLUMN origin TEXT;
UPDATE certificates SET origin = 'ca' WHERE profile LIKE 'ca:%';
UPDATE certificates SET origin = 'order:' || (SELECT order_number FROM orders o WHERE o.certificate_serial = certificates.serial)
    WHERE origin IS NULL AND EXISTS (SELECT 1 FROM orders o WHERE o.certificate_serial = certificates.serial);
UPDATE certificates SET origin = 'operator' WHERE origin IS NULL;
-- The revocation epoch value of the transaction that revoked it: a CRL covering epoch E lists
-- every revocation numbered E or lower.
ALTER TABLE certificates ADD COLUMN revocation_seq BIGINT;
UPDATE certificates SET revocation_seq = 0 WHERE revoked_at IS NOT NULL;
-- CRLs signed before this column covered an unknown set: -1 has them rebuilt once.
ALTER TABLE crls ADD COLUMN covers_epoch BIGINT NOT NULL DEFAULT -1;

-- A pickup in progress: the serial being issued, the link it spent (restored if the pickup is
-- released) and when the claim lapses if its process died.
ALTER TABLE orders ADD COLUMN claimed_serial TEXT;
ALTER TABLE orders ADD COLUMN claim_token TEXT;
ALTER TABLE orders ADD COLUMN claim_expires_at BIGINT;
CREATE INDEX orders_claims ON orders (claim_expires_at) WHERE claimed_serial IS NOT NULL;

-- Failed log-ins lock an account for a while that grows with each lock; per-client throttles
-- come first (rate_limits), so that one client cannot lock a victim out.
ALTER TABLE accounts ADD COLUMN locked_until BIGINT;
ALTER TABLE accounts ADD COLUMN lock_count BIGINT NOT NULL DEFAULT 0;

-- Mail written in the same transaction as the change it reports, delivered by a worker.
CREATE TABLE mail_outbox (
    id               BIGSERIAL PRIMARY KEY,
    created_at       BIGINT NOT NULL,
    to_addr          TEXT NOT NULL,
    subject          TEXT NOT NULL,
    body             TEXT NOT NULL,
    attachment_name  TEXT,
    attachment_type  TEXT,
    attachment       BYTEA,
    state            TEXT NOT NULL,
    attempts         BIGINT NOT NULL DEFAULT 0,
    next_attempt_at  BIGINT NOT NULL,
    claimed_until    BIGINT,
    last_error       TEXT,
    sent_at          BIGINT
);
CREATE INDEX mail_outbox_due ON mail_outbox (state, next_attempt_at);
CREATE INDEX mail_outbox_to ON mail_outbox (to_addr, created_at);

-- Fixed-window counters (per client, per address) shared by every node.
CREATE TABLE rate_limits (
    key           TEXT PRIMARY KEY,
    window_start  BIGINT NOT NULL,
    hits          BIGINT NOT NULL
);

-- Readiness probes write here: a store that answers reads but refuses writes is not ready.
CREATE TABLE probes (
    node  TEXT PRIMARY KEY,
    at    BIGINT NOT NULL
);

-- Whether a pre-signed OCSP response says "revoked": a "good" one is never stored for a
-- revoked certificate (a revocation drops the certificate's response in its transaction).
ALTER TABLE ocsp_responses ADD COLUMN revoked BIGINT NOT NULL DEFAULT 0;
