-- R-AUX-1: incidents and maintenance notices, shown as a banner while active and as a feed.
CREATE TABLE alerts (
    id          INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL,
    title       TEXT NOT NULL,
    body        TEXT NOT NULL,
    starts_at   BIGINT NOT NULL,
    ends_at     BIGINT,
    created_by  BIGINT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX alerts_starts_at ON alerts (starts_at);
-- R-AUX-4: where the certificate may be used, and from / until when.
CREATE TABLE relying_services (
    id              INTEGER PRIMARY KEY,
    name            TEXT NOT NULL,
    url             TEXT NOT NULL,
    accepts_from    BIGINT NOT NULL,
    accepts_until   BIGINT,
    note            TEXT NOT NULL,
    created_at      BIGINT NOT NULL
);
