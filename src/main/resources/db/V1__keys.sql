-- Key metadata. No key material, PIN or secret is ever stored here: the material lives in the HSM and a
-- version row only says where (CKA_LABEL and CKA_ID of the token object).
CREATE TABLE kms_key (
  key_id          VARCHAR(36)   NOT NULL PRIMARY KEY,
  account_id      VARCHAR(12)   NOT NULL,
  region          VARCHAR(32)   NOT NULL,
  created_at      BIGINT        NOT NULL,
  description     VARCHAR(8192) NOT NULL,
  key_state       VARCHAR(32)   NOT NULL,
  key_usage       VARCHAR(32)   NOT NULL,
  key_spec        VARCHAR(32)   NOT NULL,
  origin          VARCHAR(32)   NOT NULL,
  key_store_id    VARCHAR(64)   NOT NULL,
  current_version INT           NOT NULL,
  deletion_date   BIGINT
);

CREATE INDEX kms_key_account ON kms_key (account_id, key_id);

CREATE TABLE kms_key_version (
  key_id     VARCHAR(36)  NOT NULL,
  version    INT          NOT NULL,
  hsm_label  VARCHAR(128) NOT NULL,
  hsm_id     VARBINARY(64) NOT NULL,
  created_at BIGINT       NOT NULL,
  PRIMARY KEY (key_id, version),
  FOREIGN KEY (key_id) REFERENCES kms_key (key_id) ON DELETE CASCADE
);

CREATE TABLE kms_key_tag (
  key_id    VARCHAR(36)  NOT NULL,
  position  INT          NOT NULL,
  tag_key   VARCHAR(128) NOT NULL,
  tag_value VARCHAR(256) NOT NULL,
  PRIMARY KEY (key_id, tag_key),
  FOREIGN KEY (key_id) REFERENCES kms_key (key_id) ON DELETE CASCADE
);
