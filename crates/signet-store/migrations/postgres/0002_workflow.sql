-- Accounts, mailed tokens, sessions, orders with their documents and history, and the audit log.
CREATE TABLE accounts (
    id                 BIGSERIAL PRIMARY KEY,
    email              TEXT NOT NULL UNIQUE,
    name               TEXT NOT NULL,
    role               TEXT NOT NULL,
    region             TEXT,
    password_hash      TEXT,
    email_confirmed    BIGINT NOT NULL,
    failed_logins      BIGINT NOT NULL DEFAULT 0,
    last_failed_login  BIGINT,
    created_at         BIGINT NOT NULL
);
CREATE TABLE tokens (
    hash          TEXT PRIMARY KEY,
    purpose       TEXT NOT NULL,
    account_id    BIGINT,
    order_number  TEXT,
    expires_at    BIGINT NOT NULL,
    used_at       BIGINT,
    created_at    BIGINT NOT NULL
);
CREATE TABLE sessions (
    hash        TEXT PRIMARY KEY,
    account_id  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE TABLE orders (
    order_number          TEXT PRIMARY KEY,
    product               TEXT NOT NULL,
    identity_json         TEXT NOT NULL,
    approval_email        TEXT NOT NULL,
    approval_confirmed    BIGINT NOT NULL,
    pickup_password_hash  TEXT NOT NULL,
    validity_months       BIGINT NOT NULL,
    key_type              TEXT NOT NULL,
    channel               TEXT NOT NULL,
    country               TEXT NOT NULL,
    placed_by             BIGINT NOT NULL,
    attested_by           BIGINT,
    status                TEXT NOT NULL,
    ready_since           BIGINT,
    pickup_failures       BIGINT NOT NULL DEFAULT 0,
    certificate_serial    TEXT,
    previous_order        TEXT,
    created_at            BIGINT NOT NULL,
    updated_at            BIGINT NOT NULL
);
CREATE INDEX orders_status ON orders (status, created_at);
CREATE TABLE blobs (
    sha256   TEXT PRIMARY KEY,
    content  BYTEA NOT NULL
);
CREATE TABLE documents (
    id            BIGSERIAL PRIMARY KEY,
    order_number  TEXT NOT NULL,
    kind          TEXT NOT NULL,
    sha256        TEXT NOT NULL,
    media_type    TEXT NOT NULL,
    size          BIGINT NOT NULL,
    uploaded_by   BIGINT NOT NULL,
    created_at    BIGINT NOT NULL
);
CREATE INDEX documents_order ON documents (order_number);
CREATE TABLE order_events (
    id            BIGSERIAL PRIMARY KEY,
    order_number  TEXT NOT NULL,
    actor         BIGINT,
    kind          TEXT NOT NULL,
    message       TEXT,
    created_at    BIGINT NOT NULL
);
CREATE INDEX order_events_order ON order_events (order_number);
CREATE TABLE audit_log (
    seq        BIGINT PRIMARY KEY,
    at         BIGINT NOT NULL,
    actor      TEXT NOT NULL,
    action     TEXT NOT NULL,
    subject    TEXT NOT NULL,
    detail     TEXT NOT NULL,
    prev_hash  TEXT NOT NULL,
    hash       TEXT NOT NULL
);
