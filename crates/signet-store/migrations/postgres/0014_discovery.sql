-- Certificate discovery (R-AUX-2): jobs an administrator defines, their runs, every certificate
-- seen once by fingerprint, every place (address, port, SNI) it was seen at, what changed at a
-- place, and which alerts were already mailed. Runs claim a job with a lease, so one node runs it.
CREATE TABLE discovery_jobs (
    id            BIGSERIAL PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE,
    targets       TEXT NOT NULL,
    ports         TEXT NOT NULL,
    starttls      TEXT NOT NULL,
    every_seconds BIGINT CHECK (every_seconds IS NULL OR every_seconds >= 300),
    contacts      TEXT NOT NULL,
    concurrency   BIGINT NOT NULL CHECK (concurrency > 0),
    rate          BIGINT NOT NULL CHECK (rate > 0),
    created_by    TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    next_run_at   BIGINT,
    lease_until   BIGINT,
    lease_node    TEXT
);
CREATE TABLE discovery_runs (
    id           BIGSERIAL PRIMARY KEY,
    job_id       BIGINT NOT NULL REFERENCES discovery_jobs (id) ON DELETE CASCADE,
    started_by   TEXT NOT NULL,
    started_at   BIGINT NOT NULL,
    finished_at  BIGINT,
    endpoints    BIGINT NOT NULL CHECK (endpoints >= 0),
    done         BIGINT NOT NULL DEFAULT 0,
    answered     BIGINT NOT NULL DEFAULT 0,
    certificates BIGINT NOT NULL DEFAULT 0,
    refused      TEXT NOT NULL DEFAULT '',
    outcome      TEXT
);
CREATE INDEX discovery_runs_job ON discovery_runs (job_id, started_at);
CREATE TABLE discovered_certificates (
    fingerprint   TEXT PRIMARY KEY,
    der           BYTEA NOT NULL,
    subject       TEXT NOT NULL,
    issuer        TEXT NOT NULL,
    names         TEXT NOT NULL,
    key           TEXT NOT NULL,
    serial        TEXT NOT NULL,
    not_before    BIGINT NOT NULL,
    not_after     BIGINT NOT NULL,
    signet_serial TEXT REFERENCES certificates (serial),
    first_seen    BIGINT NOT NULL
);
CREATE TABLE discovery_places (
    id          BIGSERIAL PRIMARY KEY,
    host        TEXT NOT NULL,
    address     TEXT NOT NULL,
    port        BIGINT NOT NULL CHECK (port BETWEEN 1 AND 65535),
    sni         TEXT NOT NULL,
    job_id      BIGINT REFERENCES discovery_jobs (id) ON DELETE SET NULL,
    fingerprint TEXT NOT NULL REFERENCES discovered_certificates (fingerprint),
    chain       TEXT NOT NULL,
    first_seen  BIGINT NOT NULL,
    last_seen   BIGINT NOT NULL,
    answering   BIGINT NOT NULL CHECK (answering IN (0, 1)),
    alerts      TEXT NOT NULL,
    UNIQUE (address, port, sni)
);
CREATE INDEX discovery_places_fingerprint ON discovery_places (fingerprint);
CREATE TABLE discovery_events (
    id              BIGSERIAL PRIMARY KEY,
    place_id        BIGINT NOT NULL REFERENCES discovery_places (id) ON DELETE CASCADE,
    run_id          BIGINT REFERENCES discovery_runs (id) ON DELETE SET NULL,
    at              BIGINT NOT NULL,
    kind            TEXT NOT NULL,
    old_fingerprint TEXT,
    new_fingerprint TEXT
);
CREATE INDEX discovery_events_at ON discovery_events (at);
CREATE TABLE discovery_mailed (
    job_id      BIGINT NOT NULL REFERENCES discovery_jobs (id) ON DELETE CASCADE,
    place_id    BIGINT NOT NULL REFERENCES discovery_places (id) ON DELETE CASCADE,
    fingerprint TEXT NOT NULL,
    alert       TEXT NOT NULL,
    mailed_at   BIGINT NOT NULL,
    PRIMARY KEY (job_id, place_id, fingerprint, alert)
);
