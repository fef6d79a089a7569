-- Grants (CreateGrant). V6 is left to the identities migration of another branch; the two are independent.
-- Operations are the grant operation names joined by commas (GrantOperation has no comma in any value).
CREATE TABLE kms_grant (
  grant_id           VARCHAR(64)   NOT NULL PRIMARY KEY,
  key_id             VARCHAR(36)   NOT NULL,
  name               VARCHAR(256),
  created_at         BIGINT        NOT NULL,
  grantee_principal  VARCHAR(256)  NOT NULL,
  retiring_principal VARCHAR(256),
  issuing_account    VARCHAR(256)  NOT NULL,
  operations         VARCHAR(1024) NOT NULL,
  CONSTRAINT kms_grant_key FOREIGN KEY (key_id) REFERENCES kms_key (key_id) ON DELETE CASCADE
);

CREATE INDEX kms_grant_by_key ON kms_grant (key_id);

-- Encryption context constraints, one row per pair; kind is EQUALS or SUBSET. key_id is repeated so that deleting a
-- key deletes these rows by key, like every other child table.
CREATE TABLE kms_grant_constraint (
  grant_id  VARCHAR(64)   NOT NULL,
  key_id    VARCHAR(36)   NOT NULL,
  kind      VARCHAR(8)    NOT NULL,
  ctx_key   VARCHAR(384)  NOT NULL,
  ctx_value VARCHAR(384)  NOT NULL,
  PRIMARY KEY (grant_id, kind, ctx_key),
  CONSTRAINT kms_grant_constraint_grant FOREIGN KEY (grant_id) REFERENCES kms_grant (grant_id) ON DELETE CASCADE
);

CREATE INDEX kms_grant_constraint_by_key ON kms_grant_constraint (key_id);
