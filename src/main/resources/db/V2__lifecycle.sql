-- Key lifecycle: deletion window, automatic rotation, how each version came to be, aliases.
ALTER TABLE kms_key ADD COLUMN pending_window_days INT DEFAULT 0 NOT NULL;
ALTER TABLE kms_key ADD COLUMN rotation_enabled BOOLEAN DEFAULT FALSE NOT NULL;
ALTER TABLE kms_key ADD COLUMN rotation_period_days INT DEFAULT 365 NOT NULL;
ALTER TABLE kms_key ADD COLUMN next_rotation_at BIGINT;
ALTER TABLE kms_key_version ADD COLUMN rotation_type VARCHAR(16);

CREATE TABLE kms_alias (
  account_id    VARCHAR(12)  NOT NULL,
  alias_name    VARCHAR(256) NOT NULL,
  target_key_id VARCHAR(36)  NOT NULL,
  created_at    BIGINT       NOT NULL,
  updated_at    BIGINT       NOT NULL,
  PRIMARY KEY (account_id, alias_name),
  FOREIGN KEY (target_key_id) REFERENCES kms_key (key_id) ON DELETE CASCADE
);

CREATE INDEX kms_alias_target ON kms_alias (target_key_id);
