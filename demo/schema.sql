-- The two sample applications of ../shared/seeds/, as their databases look
-- before anyone watches them (scripts/demo.sh runs this as the app's owner).
-- All rows are made up: example.com addresses, no real personal data.

-- NestSync (Canadian diaper-planning app, PIPEDA): "Observability & Incident
-- Response Runbooks". Critical tables users, children, consent_records; the
-- PIPEDA consent columns on notification_preferences; schema managed by
-- alembic; data must stay in a Canadian region.
CREATE TABLE users (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    email       text NOT NULL UNIQUE,
    province    text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE children (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    parent_id       uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name            text NOT NULL,
    date_of_birth   date NOT NULL,
    current_size    text
);

CREATE TABLE consent_records (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id       uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    consent_type  text NOT NULL,
    granted       boolean NOT NULL,
    granted_at    timestamptz NOT NULL DEFAULT now(),
    withdrawn_at  timestamptz
);

CREATE TABLE notification_preferences (
    user_id                       uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    notifications_enabled         boolean NOT NULL DEFAULT true,
    notification_consent_granted  boolean NOT NULL DEFAULT false,
    marketing_consent_granted     boolean NOT NULL DEFAULT false,
    updated_at                    timestamptz NOT NULL DEFAULT now()
);

-- alembic's own bookkeeping table, exactly as alembic creates it.
CREATE TABLE alembic_version (
    version_num varchar(32) NOT NULL,
    CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)
);
INSERT INTO alembic_version VALUES ('7c3e9a1f5b2d');

INSERT INTO users (email, province) VALUES
    ('parent.one@example.com', 'ON'),
    ('parent.two@example.com', 'QC');
INSERT INTO children (parent_id, name, date_of_birth, current_size)
    SELECT id, 'Child of ' || split_part(email, '@', 1), date '2024-03-01', 'size 3' FROM users;
INSERT INTO consent_records (user_id, consent_type, granted)
    SELECT id, 'data_processing', true FROM users;
INSERT INTO notification_preferences (user_id, notification_consent_granted)
    SELECT id, true FROM users;

-- "DATA_REGION should be canada-central or canada-east": kept where every
-- session of this database sees it.
ALTER DATABASE :"DBNAME" SET app.data_region = 'canada-central';

-- MachineMate (gym-machine recognition app on Supabase): "Reliability &
-- Incident Response (Phase 4)". favorites, history and media_assets are the
-- tables whose growth it tracks; they live in their own schema here.
CREATE SCHEMA machinemate;

CREATE TABLE machinemate.favorites (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id     uuid NOT NULL,
    machine_id  text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (user_id, machine_id)
);

CREATE TABLE machinemate.history (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id     uuid NOT NULL,
    machine_id  text NOT NULL,
    viewed_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE machinemate.media_assets (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    owner_id      uuid NOT NULL,
    storage_path  text NOT NULL,
    bytes         bigint NOT NULL CHECK (bytes >= 0),
    created_at    timestamptz NOT NULL DEFAULT now()
);

INSERT INTO machinemate.favorites (user_id, machine_id)
    SELECT gen_random_uuid(), 'machine-' || g FROM generate_series(1, 5) g;
INSERT INTO machinemate.history (user_id, machine_id)
    SELECT gen_random_uuid(), 'machine-' || (g % 5 + 1) FROM generate_series(1, 50) g;
INSERT INTO machinemate.media_assets (owner_id, storage_path, bytes)
    SELECT gen_random_uuid(), 'machines/photo-' || g || '.jpg', 200000 + g FROM generate_series(1, 10) g;
