-- The fix: restore consent_records and its rows.
CREATE TABLE consent_records (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id       uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    consent_type  text NOT NULL,
    granted       boolean NOT NULL,
    granted_at    timestamptz NOT NULL DEFAULT now(),
    withdrawn_at  timestamptz
);
INSERT INTO consent_records (user_id, consent_type, granted)
    SELECT id, 'data_processing', true FROM users;
