-- The store speaks the domain (design §6): a column of a domain enum holds only the values the
-- domain names (signet-domain: Role, OrderStatus, Channel, order kinds, key choices, DocumentKind,
-- TokenPurpose, RevocationReason, mail states, AlertKind), and rows point at rows that exist.
-- `crates/signet-store/tests/constraints.rs` checks that these lists match the domain's.
-- SQLite cannot add constraints to a table; triggers refuse the same writes.
CREATE TRIGGER accounts_role_known_insert BEFORE INSERT ON accounts WHEN NEW.role NOT IN ('subscriber', 'agent', 'vetting', 'support', 'admin', 'auditor')
BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: accounts.role holds a value the domain does not name'); END;
CREATE TRIGGER accounts_role_known_update BEFORE UPDATE OF role ON accounts WHEN NEW.role NOT IN ('subscriber', 'agent', 'vetting', 'support', 'admin', 'auditor')
BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: accounts.role holds a value the domain does not name'); END;
CREATE TRIGGER orders_status_known_insert BEFORE INSERT ON orders WHEN NEW.status NOT IN ('awaiting_documents', 'in_review', 'needs_info', 'ready_for_pickup', 'issued', 'rejected', 'cancelled')
BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: orders.status holds a value the domain does not name'); END;
CREATE TRIGGER orders_status_known_update BEFORE UPDATE OF status ON orders WHEN NEW.status NOT IN ('awaiting_documents', 'in_review', 'needs_info', 'ready_for_pickup', 'issued', 'rejected', 'cancelled')
BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: orders.status holds a value the domain does not name'); END;
CREATE TRIGGER orders_channel_known_insert BEFORE INSERT ON orders WHEN NEW.channel NOT IN ('self_service', 'agent')
BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: orders.channel holds a value the domain does not name'); END;
CREATE TRIGGER orders_channel_known_update BEFORE UPDATE OF channel ON orders WHEN NEW.channel NOT IN ('self_service', 'agent')
BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: orders.channel holds a value the domain does not name'); END;
CREATE TRIGGER orders_order_kind_known_insert BEFORE INSERT ON orders WHEN NEW.order_kind NOT IN ('new', 'reorder', 'renewal', 'reissue')
BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: orders.order_kind holds a value the domain does not name'); END;
CREATE TRIGGER orders_order_kind_known_update BEFORE UPDATE OF order_kind ON orders WHEN NEW.order_kind NOT IN ('new', 'reorder', 'renewal', 'reissue')
BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: orders.order_kind holds a value the domain does not name'); END;
CREATE TRIGGER orders_key_type_known_insert BEFORE INSERT ON orders WHEN NEW.key_type NOT IN ('rsa-2048', 'rsa-3072', 'p-256', 'p-384', 'csr')
BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: orders.key_type holds a value the domain does not name'); END;
CREATE TRIGGER orders_key_type_known_update BEFORE UPDATE OF key_type ON orders WHEN NEW.key_type NOT IN ('rsa-2048', 'rsa-3072', 'p-256', 'p-384', 'csr')
BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: orders.key_type holds a value the domain does not name'); END;
CREATE TRIGGER documents_kind_known_insert BEFORE INSERT ON documents WHEN NEW.kind NOT IN ('id_copy', 'signed_agreement', 'business_registration', 'other')
BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: documents.kind holds a value the domain does not name'); END;
CREATE TRIGGER documents_kind_known_update BEFORE UPDATE OF kind ON documents WHEN NEW.kind NOT IN ('id_copy', 'signed_agreement', 'business_registration', 'other')
BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: documents.kind holds a value the domain does not name'); END;
CREATE TRIGGER tokens_purpose_known_insert BEFORE INSERT ON tokens WHEN NEW.purpose NOT IN ('account_confirmation', 'approval_email', 'password_reset', 'invitation', 'pickup')
BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: tokens.purpose holds a value the domain does not name'); END;
CREATE TRIGGER tokens_purpose_known_update BEFORE UPDATE OF purpose ON tokens WHEN NEW.purpose NOT IN ('account_confirmation', 'approval_email', 'password_reset', 'invitation', 'pickup')
BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: tokens.purpose holds a value the domain does not name'); END;
CREATE TRIGGER certificates_revocation_reason_known_insert BEFORE INSERT ON certificates WHEN NEW.revocation_reason IS NOT NULL AND NEW.revocation_reason NOT IN ('unspecified', 'key_compromise', 'affiliation_changed', 'superseded', 'cessation_of_operation')
BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: certificates.revocation_reason holds a value the domain does not name'); END;
CREATE TRIGGER certificates_revocation_reason_known_update BEFORE UPDATE OF revocation_reason ON certificates WHEN NEW.revocation_reason IS NOT NULL AND NEW.revocation_reason NOT IN ('unspecified', 'key_compromise', 'affiliation_changed', 'superseded', 'cessation_of_operation')
BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: certificates.revocation_reason holds a value the domain does not name'); END;
CREATE TRIGGER mail_outbox_state_known_insert BEFORE INSERT ON mail_outbox WHEN NEW.state NOT IN ('queued', 'sent', 'dead')
BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: mail_outbox.state holds a value the domain does not name'); END;
CREATE TRIGGER mail_outbox_state_known_update BEFORE UPDATE OF state ON mail_outbox WHEN NEW.state NOT IN ('queued', 'sent', 'dead')
BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: mail_outbox.state holds a value the domain does not name'); END;
CREATE TRIGGER alerts_kind_known_insert BEFORE INSERT ON alerts WHEN NEW.kind NOT IN ('incident', 'maintenance', 'information')
BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: alerts.kind holds a value the domain does not name'); END;
CREATE TRIGGER alerts_kind_known_update BEFORE UPDATE OF kind ON alerts WHEN NEW.kind NOT IN ('incident', 'maintenance', 'information')
BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: alerts.kind holds a value the domain does not name'); END;
CREATE TRIGGER orders_placed_by_exists_insert BEFORE INSERT ON orders WHEN NOT EXISTS (SELECT 1 FROM accounts WHERE id = NEW.placed_by)
BEGIN SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed: orders.placed_by names no row of accounts'); END;
CREATE TRIGGER orders_placed_by_exists_update BEFORE UPDATE OF placed_by ON orders WHEN NOT EXISTS (SELECT 1 FROM accounts WHERE id = NEW.placed_by)
BEGIN SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed: orders.placed_by names no row of accounts'); END;
CREATE TRIGGER orders_attested_by_exists_insert BEFORE INSERT ON orders WHEN NEW.attested_by IS NOT NULL AND NOT EXISTS (SELECT 1 FROM accounts WHERE id = NEW.attested_by)
BEGIN SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed: orders.attested_by names no row of accounts'); END;
CREATE TRIGGER orders_attested_by_exists_update BEFORE UPDATE OF attested_by ON orders WHEN NEW.attested_by IS NOT NULL AND NOT EXISTS (SELECT 1 FROM accounts WHERE id = NEW.attested_by)
BEGIN SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed: orders.attested_by names no row of accounts'); END;
CREATE TRIGGER orders_previous_order_exists_insert BEFORE INSERT ON orders WHEN NEW.previous_order IS NOT NULL AND NOT EXISTS (SELECT 1 FROM orders WHERE order_number = NEW.previous_order)
BEGIN SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed: orders.previous_order names no row of orders'); END;
CREATE TRIGGER orders_previous_order_exists_update BEFORE UPDATE OF previous_order ON orders WHEN NEW.previous_order IS NOT NULL AND NOT EXISTS (SELECT 1 FROM orders WHERE order_number = NEW.previous_order)
BEGIN SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed: orders.previous_order names no row of orders'); END;
CREATE TRIGGER documents_order_number_exists_insert BEFORE INSERT ON documents WHEN NOT EXISTS (SELECT 1 FROM orders WHERE order_number = NEW.order_number)
BEGIN SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed: documents.order_number names no row of orders'); END;
CREATE TRIGGER documents_order_number_exists_update BEFORE UPDATE OF order_number ON documents WHEN NOT EXISTS (SELECT 1 FROM orders WHERE order_number = NEW.order_number)
BEGIN SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed: documents.order_number names no row of orders'); END;
CREATE TRIGGER documents_uploaded_by_exists_insert BEFORE INSERT ON documents WHEN NOT EXISTS (SELECT 1 FROM accounts WHERE id = NEW.uploaded_by)
BEGIN SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed: documents.uploaded_by names no row of accounts'); END;
CREATE TRIGGER documents_uploaded_by_exists_update BEFORE UPDATE OF uploaded_by ON documents WHEN NOT EXISTS (SELECT 1 FROM accounts WHERE id = NEW.uploaded_by)
BEGIN SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed: documents.uploaded_by names no row of accounts'); END;
CREATE TRIGGER order_events_order_number_exists_insert BEFORE INSERT ON order_events WHEN NOT EXISTS (SELECT 1 FROM orders WHERE order_number = NEW.order_number)
BEGIN SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed: order_events.order_number names no row of orders'); END;
CREATE TRIGGER order_events_order_number_exists_update BEFORE UPDATE OF order_number ON order_events WHEN NOT EXISTS (SELECT 1 FROM orders WHERE order_number = NEW.order_number)
BEGIN SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed: order_events.order_number names no row of orders'); END;
CREATE TRIGGER sessions_account_id_exists_insert BEFORE INSERT ON sessions WHEN NOT EXISTS (SELECT 1 FROM accounts WHERE id = NEW.account_id)
BEGIN SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed: sessions.account_id names no row of accounts'); END;
CREATE TRIGGER sessions_account_id_exists_update BEFORE UPDATE OF account_id ON sessions WHEN NOT EXISTS (SELECT 1 FROM accounts WHERE id = NEW.account_id)
BEGIN SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed: sessions.account_id names no row of accounts'); END;
