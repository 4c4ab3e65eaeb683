-- RFC 3161 §2.4.2: each time-stamp token has a serial unique for the TSA. One counter row, bumped
-- atomically by every token on every node, so serials are unique and grow with time.
CREATE TABLE time_stamp_serial (
    id     BIGINT PRIMARY KEY CHECK (id = 1),
    value  BIGINT NOT NULL CHECK (value >= 0)
);
INSERT INTO time_stamp_serial (id, value) VALUES (1, 0);
