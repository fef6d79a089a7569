-- Imported key material (ImportKeyMaterial): one row per EXTERNAL key once material was first imported. The check
-- value is computed inside the HSM (AES-ECB of a zero block under the key) and is kept after DeleteImportedKeyMaterial
-- or expiry, so that only the same material can be imported again. expiration_model is null while no material is in
-- the HSM (PendingImport).
CREATE TABLE kms_key_import (
  key_id           VARCHAR(36)  NOT NULL PRIMARY KEY,
  expiration_model VARCHAR(40),
  valid_to         BIGINT,
  check_value      VARBINARY(64) NOT NULL,
  imported_at      BIGINT       NOT NULL,
  CONSTRAINT kms_key_import_key FOREIGN KEY (key_id) REFERENCES kms_key (key_id) ON DELETE CASCADE
);
