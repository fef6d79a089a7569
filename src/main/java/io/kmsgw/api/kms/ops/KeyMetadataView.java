package io.kmsgw.api.kms.ops;

import io.kmsgw.domain.ImportedMaterial;
import io.kmsgw.domain.KeyRecord;
import io.kmsgw.domain.KeySpecTable;
import io.kmsgw.domain.KeyState;
import io.kmsgw.kms.HsmLabels;
import io.kmsgw.kms.KeyService;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The model's {@code KeyMetadata} structure for a key, with the state clients see now. */
public final class KeyMetadataView {
  private final KeyService keys;
  private final java.util.function.Function<String, String> clusterOfStore;
  private final java.util.function.Function<java.util.UUID, java.util.Optional<ImportedMaterial>> imported;

  /**
   * @param clusterOfStore the CloudHsmClusterId of a custom key store
   */
  public KeyMetadataView(KeyService keys, java.util.function.Function<String, String> clusterOfStore) {
    this(keys, clusterOfStore, keyId -> java.util.Optional.empty());
  }

  /** @param imported the imported material of an EXTERNAL key (ExpirationModel, ValidTo) */
  public KeyMetadataView(KeyService keys, java.util.function.Function<String, String> clusterOfStore,
      java.util.function.Function<java.util.UUID, java.util.Optional<ImportedMaterial>> imported) {
    this.keys = keys;
    this.clusterOfStore = clusterOfStore;
    this.imported = imported;
  }

  public Map<String, Object> of(KeyRecord key) {
    KeyState state = keys.effectiveState(key);
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("AWSAccountId", key.accountId());
    m.put("KeyId", key.keyId().toString());
    m.put("Arn", key.arn());
    m.put("CreationDate", key.createdAt());
    m.put("Enabled", key.state() == KeyState.ENABLED);
    m.put("Description", key.description());
    m.put("KeyUsage", key.keyUsage().name());
    m.put("KeyState", state.apiName());
    if (key.deletionDate() != null) {
      m.put("DeletionDate", key.deletionDate());
      m.put("PendingDeletionWindowInDays", key.pendingWindowDays());
    }
    m.put("Origin", key.origin().name());
    if (key.origin() == io.kmsgw.domain.Origin.EXTERNAL) {
      // AWS: present for EXTERNAL keys while material is imported; ValidTo only when it expires
      imported.apply(key.keyId()).filter(ImportedMaterial::present).ifPresent(im -> {
        m.put("ExpirationModel", im.expirationModel().name());
        if (im.validTo() != null) {
          m.put("ValidTo", im.validTo());
        }
      });
    }
    if (!KeyRecord.DEFAULT_KEY_STORE.equals(key.keyStoreId())) {
      m.put("CustomKeyStoreId", key.keyStoreId());
      m.put("CloudHsmClusterId", clusterOfStore.apply(key.keyStoreId()));
    }
    m.put("KeyManager", "CUSTOMER");
    if (key.keySpec().hasCustomerMasterKeySpec()) {
      m.put("CustomerMasterKeySpec", key.keySpec().name());
    }
    m.put("KeySpec", key.keySpec().name());
    putAlgorithms(m, key);
    m.put("MultiRegion", false);
    if (key.keySpec() == io.kmsgw.domain.KeySpec.SYMMETRIC_DEFAULT) {
      // the model: present for symmetric encryption keys only (the keys that rotate and so have several materials)
      m.put("CurrentKeyMaterialId", HsmLabels.keyMaterialId(key.keyId(), key.currentVersion()));
    }
    return m;
  }

  /**
   * The algorithm list of the key's usage ({@code EncryptionAlgorithms}, {@code SigningAlgorithms},
   * {@code KeyAgreementAlgorithms} or {@code MacAlgorithms}), as DescribeKey and GetPublicKey answer it.
   */
  static void putAlgorithms(Map<String, Object> m, KeyRecord key) {
    KeySpecTable.row(key.keySpec(), key.keyUsage()).ifPresent(row -> {
      putNames(m, "EncryptionAlgorithms", row.encryption());
      // what the key can do here: an algorithm kmsgw refuses on every token is not listed (KeySpecTable.refusal)
      putNames(m, "SigningAlgorithms", row.signing().stream().filter(a -> KeySpecTable.refusal(a).isEmpty()).toList());
      putNames(m, "KeyAgreementAlgorithms", row.keyAgreement());
      putNames(m, "MacAlgorithms", row.mac());
    });
  }

  /** AWS lists only the algorithms of the key's usage: the other members are absent, not empty. */
  private static void putNames(Map<String, Object> m, String member, List<? extends Enum<?>> algorithms) {
    if (!algorithms.isEmpty()) {
      m.put(member, algorithms.stream().map(Enum::name).toList());
    }
  }
}
