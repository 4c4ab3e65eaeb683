-- Background jobs that must run on one node at a time (CRL publication, OCSP refresh, expiry
-- reminders): a node takes a job's row for a while, renews it while it works and gives it back.
-- A node that dies loses the job when its lease lapses.
CREATE TABLE job_leases (
    job          TEXT PRIMARY KEY,
    holder       TEXT NOT NULL,
    lease_until  BIGINT NOT NULL
);
