package io.kmsgw.store;

import io.kmsgw.domain.ImportedMaterial;
import io.kmsgw.domain.KeyState;
import java.util.Map;
import java.util.UUID;

/** Where the metadata of imported key material lives (blocking, durable on return, like {@link MetadataStore}). */
public interface ImportStore {
  /**
   * Records an EXTERNAL key's material and moves the key from {@code expected} to {@code next}, in one transaction.
   *
   * @return false (nothing written) if the key is missing or no longer in {@code expected}
   */
  boolean recordImport(UUID keyId, KeyState expected, KeyState next, ImportedMaterial material);

  /** The imported material of every key that ever had some. */
  Map<UUID, ImportedMaterial> allImports();
}
