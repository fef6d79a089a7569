-- CustomKeyStoreName is up to 256 characters as the API counts them (code points); a column counts UTF-16 units,
-- so a name outside the Basic Multilingual Plane needs up to 512.
ALTER TABLE kms_custom_key_store ALTER COLUMN name SET DATA TYPE VARCHAR(512);
