-- Identities (issue #6): IAM users and roles of the configured accounts, their inline policies, users' access keys
-- and STS sessions. Secrets are sealed under an HSM-held key (SecretSealer: 0x01 || IV || ciphertext || tag); a
-- session token is kept only as its SHA-256. Names are unique per account without regard to case, as in IAM:
-- name_key is the lower-cased name.
CREATE TABLE iam_user (
  user_id     VARCHAR(32)   NOT NULL PRIMARY KEY,
  account_id  VARCHAR(12)   NOT NULL,
  user_name   VARCHAR(64)   NOT NULL,
  name_key    VARCHAR(64)   NOT NULL,
  path        VARCHAR(512)  NOT NULL,
  created_at  BIGINT        NOT NULL,
  CONSTRAINT iam_user_name UNIQUE (account_id, name_key)
);

CREATE TABLE iam_role (
  role_id               VARCHAR(32)   NOT NULL PRIMARY KEY,
  account_id            VARCHAR(12)   NOT NULL,
  role_name             VARCHAR(64)   NOT NULL,
  name_key              VARCHAR(64)   NOT NULL,
  path                  VARCHAR(512)  NOT NULL,
  trust_policy          CLOB          NOT NULL,
  description           VARCHAR(1000),
  max_session_seconds   INT           NOT NULL,
  created_at            BIGINT        NOT NULL,
  CONSTRAINT iam_role_name UNIQUE (account_id, name_key)
);

-- owner_id is a user_id or a role_id
CREATE TABLE iam_inline_policy (
  owner_id     VARCHAR(32)   NOT NULL,
  policy_name  VARCHAR(128)  NOT NULL,
  document     CLOB          NOT NULL,
  updated_at   BIGINT        NOT NULL,
  PRIMARY KEY (owner_id, policy_name)
);

CREATE TABLE iam_access_key (
  access_key_id  VARCHAR(32)    NOT NULL PRIMARY KEY,
  user_id        VARCHAR(32)    NOT NULL,
  status         VARCHAR(16)    NOT NULL,
  sealed_secret  VARBINARY(128) NOT NULL,
  created_at     BIGINT         NOT NULL,
  CONSTRAINT iam_access_key_user FOREIGN KEY (user_id) REFERENCES iam_user (user_id)
);

CREATE TABLE sts_session (
  access_key_id  VARCHAR(32)    NOT NULL PRIMARY KEY,
  account_id     VARCHAR(12)    NOT NULL,
  role_id        VARCHAR(32)    NOT NULL,
  session_name   VARCHAR(64)    NOT NULL,
  sealed_secret  VARBINARY(128) NOT NULL,
  token_hash     VARBINARY(32)  NOT NULL,
  source_arn     VARCHAR(2048)  NOT NULL,
  created_at     BIGINT         NOT NULL,
  expires_at     BIGINT         NOT NULL
);

CREATE INDEX sts_session_expiry ON sts_session (expires_at);
