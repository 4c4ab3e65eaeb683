-- One account per address, whatever its case (design §1). Addresses that do not collide are
-- stored in lower case from now on; addresses that collide are left as they are, and the store
-- reports them (`accounts_sharing_an_address`) for an operator to merge or close.
UPDATE accounts SET email = lower(email)
WHERE email <> lower(email)
  AND NOT EXISTS (
    SELECT 1 FROM accounts AS other
    WHERE other.id <> accounts.id AND lower(other.email) = lower(accounts.email)
  );
CREATE INDEX accounts_email_lower ON accounts (lower(email));
