-- Key policies: one per key, named "default" (the only name AWS KMS has). A key without a row has the AWS default
-- key policy of its account; CreateKey writes the row in the same transaction as the key.
CREATE TABLE kms_key_policy (
  key_id      VARCHAR(36)    NOT NULL PRIMARY KEY,
  policy_name VARCHAR(128)   NOT NULL,
  document    CLOB           NOT NULL,
  updated_at  BIGINT         NOT NULL,
  CONSTRAINT kms_key_policy_key FOREIGN KEY (key_id) REFERENCES kms_key (key_id) ON DELETE CASCADE
);
