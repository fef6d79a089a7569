package io.kmsgw.store;

import io.kmsgw.domain.KeyRecord;
import io.kmsgw.domain.KeyState;
import java.util.List;
import java.util.Optional;
import java.util.UUID;

/**
 * Where key metadata lives. Every method is blocking and durable when it returns (the write is committed):
 * callers run it on the store's worker pool. Never holds key material, PINs or secrets in clear.
 */
public interface MetadataStore extends AutoCloseable {
  /** Inserts a key with its versions and tags, atomically. */
  void insertKey(KeyRecord key);

  /**
   * Moves a key from one state to another if it is still in the expected state.
   *
   * @return false if the key is missing or not in {@code expected}
   */
  boolean updateKeyState(UUID keyId, KeyState expected, KeyState next);

  /** Deletes a key with its versions and tags; true if it existed. */
  boolean deleteKey(UUID keyId);

  Optional<KeyRecord> findKey(UUID keyId);

  /** Keys of an account ordered by key id, starting after {@code afterKeyId} (exclusive) when given. */
  List<KeyRecord> listKeys(String accountId, String afterKeyId, int limit);

  /** Every key, in every state (for the cache and for reconciliation at start). */
  List<KeyRecord> allKeys();

  @Override
  void close();
}
