package io.kmsgw.domain;

import java.time.Instant;
import java.util.Arrays;
import java.util.Objects;

/**
 * What the gateway knows of an EXTERNAL key's imported material (never the material): whether and when it expires, and
 * its check value, computed inside the HSM at the first import, which only the same material reproduces.
 *
 * @param expirationModel null while the key has no material in the HSM (PendingImport after a deletion or expiry)
 * @param validTo when the material expires ({@link ExpirationModel#KEY_MATERIAL_EXPIRES}); null otherwise
 */
public record ImportedMaterial(ExpirationModel expirationModel, Instant validTo, byte[] checkValue,
    Instant importedAt) {
  /** The model's ExpirationModelType. */
  public enum ExpirationModel { KEY_MATERIAL_EXPIRES, KEY_MATERIAL_DOES_NOT_EXPIRE }

  public ImportedMaterial {
    Objects.requireNonNull(importedAt);
    checkValue = checkValue.clone();
  }

  @Override
  public byte[] checkValue() {
    return checkValue.clone();
  }

  /** Whether material is in the HSM now. */
  public boolean present() {
    return expirationModel != null;
  }

  /** The same check value, material gone (DeleteImportedKeyMaterial, expiry). */
  public ImportedMaterial deleted() {
    return new ImportedMaterial(null, null, checkValue, importedAt);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof ImportedMaterial m && m.expirationModel == expirationModel
        && Objects.equals(m.validTo, validTo) && Arrays.equals(m.checkValue, checkValue)
        && m.importedAt.equals(importedAt);
  }

  @Override
  public int hashCode() {
    return Objects.hash(expirationModel, validTo, Arrays.hashCode(checkValue), importedAt);
  }
}
