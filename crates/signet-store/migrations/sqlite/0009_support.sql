-- R-AUX-6: anyone writes to support, citing an order number when they have one; support answers
-- by mail. With an order number, the request and the answers also go into the order's history.
CREATE TABLE support_requests (
    id            INTEGER PRIMARY KEY,
    name          TEXT NOT NULL,
    email         TEXT NOT NULL,
    order_number  TEXT,
    message       TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    answered_at   BIGINT
);
CREATE INDEX support_requests_open ON support_requests (answered_at, created_at);
CREATE TABLE support_replies (
    request_id  BIGINT NOT NULL REFERENCES support_requests (id),
    answered_by BIGINT NOT NULL,
    message     TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
