-- A migration the consent columns' blocking guard refuses: the whole transaction
-- rolls back with SQLSTATE SG001. (scripts/demo.sh runs this after break.sql.)
BEGIN;
ALTER TABLE notification_preferences ADD COLUMN digest_opt_in boolean;
ALTER TABLE notification_preferences DROP COLUMN marketing_consent_granted;
COMMIT;
