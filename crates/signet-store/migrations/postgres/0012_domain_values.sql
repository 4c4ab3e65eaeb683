-- The store speaks the domain (design §6): a column of a domain enum holds only the values the
-- domain names (signet-domain: Role, OrderStatus, Channel, order kinds, key choices, DocumentKind,
-- TokenPurpose, RevocationReason, mail states, AlertKind), and rows point at rows that exist.
-- `crates/signet-store/tests/constraints.rs` checks that these lists match the domain's.
-- PostgreSQL checks existing rows too: a database holding a value no version wrote fails here,
-- naming the constraint, rather than being read as a default.
ALTER TABLE accounts ADD CONSTRAINT accounts_role_known CHECK (role IN ('subscriber', 'agent', 'vetting', 'support', 'admin', 'auditor'));
ALTER TABLE orders ADD CONSTRAINT orders_status_known CHECK (status IN ('awaiting_documents', 'in_review', 'needs_info', 'ready_for_pickup', 'issued', 'rejected', 'cancelled'));
ALTER TABLE orders ADD CONSTRAINT orders_channel_known CHECK (channel IN ('self_service', 'agent'));
ALTER TABLE orders ADD CONSTRAINT orders_order_kind_known CHECK (order_kind IN ('new', 'reorder', 'renewal', 'reissue'));
ALTER TABLE orders ADD CONSTRAINT orders_key_type_known CHECK (key_type IN ('rsa-2048', 'rsa-3072', 'p-256', 'p-384', 'csr'));
ALTER TABLE documents ADD CONSTRAINT documents_kind_known CHECK (kind IN ('id_copy', 'signed_agreement', 'business_registration', 'other'));
ALTER TABLE tokens ADD CONSTRAINT tokens_purpose_known CHECK (purpose IN ('account_confirmation', 'approval_email', 'password_reset', 'invitation', 'pickup'));
ALTER TABLE certificates ADD CONSTRAINT certificates_revocation_reason_known CHECK (revocation_reason IS NULL OR revocation_reason IN ('unspecified', 'key_compromise', 'affiliation_changed', 'superseded', 'cessation_of_operation'));
ALTER TABLE mail_outbox ADD CONSTRAINT mail_outbox_state_known CHECK (state IN ('queued', 'sent', 'dead'));
ALTER TABLE alerts ADD CONSTRAINT alerts_kind_known CHECK (kind IN ('incident', 'maintenance', 'information'));
ALTER TABLE orders ADD CONSTRAINT orders_placed_by_exists FOREIGN KEY (placed_by) REFERENCES accounts (id);
ALTER TABLE orders ADD CONSTRAINT orders_attested_by_exists FOREIGN KEY (attested_by) REFERENCES accounts (id);
ALTER TABLE orders ADD CONSTRAINT orders_previous_order_exists FOREIGN KEY (previous_order) REFERENCES orders (order_number);
ALTER TABLE documents ADD CONSTRAINT documents_order_number_exists FOREIGN KEY (order_number) REFERENCES orders (order_number);
ALTER TABLE documents ADD CONSTRAINT documents_uploaded_by_exists FOREIGN KEY (uploaded_by) REFERENCES accounts (id);
ALTER TABLE order_events ADD CONSTRAINT order_events_order_number_exists FOREIGN KEY (order_number) REFERENCES orders (order_number);
ALTER TABLE sessions ADD CONSTRAINT sessions_account_id_exists FOREIGN KEY (account_id) REFERENCES accounts (id);
