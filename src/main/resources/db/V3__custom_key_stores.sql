-- Custom key stores. The crypto user's PIN (KeyStorePassword) is stored only sealed: AES-GCM under a key that lives
-- in the default key store's HSM, with the key store id as additional data.
CREATE TABLE kms_custom_key_store (
  key_store_id   VARCHAR(64)    NOT NULL PRIMARY KEY,
  account_id     VARCHAR(12)    NOT NULL,
  name           VARCHAR(256)   NOT NULL,
  cluster_id     VARCHAR(24)    NOT NULL,
  trust_anchor   VARCHAR(5000)  NOT NULL,
  sealed_pin     VARBINARY(256) NOT NULL,
  created_at     BIGINT         NOT NULL,
  connect_wanted BOOLEAN        NOT NULL
);

CREATE UNIQUE INDEX kms_cks_name ON kms_custom_key_store (account_id, name);

-- HSM objects of deleted keys whose key store was not connected at the time: destroyed at its next connection.
CREATE TABLE kms_pending_destruction (
  key_store_id VARCHAR(64)   NOT NULL,
  hsm_label    VARCHAR(128)  NOT NULL,
  hsm_id       VARBINARY(64) NOT NULL,
  recorded_at  BIGINT        NOT NULL,
  PRIMARY KEY (key_store_id, hsm_label)
);
