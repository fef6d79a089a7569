package io.kmsgw.store;

import io.kmsgw.domain.Alias;
import io.kmsgw.domain.CustomKeyStore;
import io.kmsgw.domain.KeyRecord;
import io.kmsgw.domain.KeyRotation;
import io.kmsgw.domain.KeyState;
import io.kmsgw.domain.KeyVersion;
import io.kmsgw.domain.Tag;
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

  /** Inserts a key together with its key policy (null: none stored, the account's default applies). */
  void insertKey(KeyRecord key, String keyPolicy);

  /** Replaces a key's key policy; false if the key does not exist. */
  boolean putKeyPolicy(UUID keyId, String document, java.time.Instant at);

  /** Every stored key policy by key id. */
  java.util.Map<UUID, String> keyPolicies();

  /**
   * Moves a key from one state to another if it is still in the expected state.
   *
   * @return false if the key is missing or not in {@code expected}
   */
  boolean updateKeyState(UUID keyId, KeyState expected, KeyState next);

  /**
   * Writes a key's mutable fields (description, state, deletion date and window, rotation settings) if it is
   * still in the {@code expected} state.
   *
   * @return false if the key is missing or its state changed meanwhile
   */
  boolean updateKey(KeyRecord key, KeyState expected);

  /** Adds a version, makes it current and stores the new rotation settings, in one transaction. */
  void addVersion(UUID keyId, KeyVersion version, KeyRotation rotation);

  /** Replaces a key's tags. */
  void replaceTags(UUID keyId, List<Tag> tags);

  /** Deletes a key with its versions, tags and aliases; true if it existed. */
  boolean deleteKey(UUID keyId);

  /** Keys of an account in any state but Creating (the key quota counts PendingDeletion, as AWS does). */
  int countKeys(String accountId);

  /** Inserts an alias; false if the account already has one of that name. */
  boolean insertAlias(Alias alias);

  /** Points an existing alias at another key; false if there is no such alias. */
  boolean updateAlias(Alias alias);

  /** Deletes an alias; false if there is none of that name. */
  boolean deleteAlias(String accountId, String name);

  Optional<Alias> findAlias(String accountId, String name);

  /** Aliases of an account (of one key when {@code keyId} is given) ordered by name, after {@code afterName}. */
  List<Alias> listAliases(String accountId, UUID keyId, String afterName, int limit);

  /**
   * Deletes a key and records the HSM objects still to destroy in its key store (not connected now), in one
   * transaction.
   */
  void deleteKeyRecordingDestruction(UUID keyId, String keyStoreId, List<KeyVersion> versions);

  /** HSM objects waiting to be destroyed in a key store: label to CKA_ID. */
  java.util.Map<String, byte[]> pendingDestruction(String keyStoreId);

  void destroyed(String keyStoreId, String hsmLabel);

  /** Inserts a custom key store; false if the account has one of that name. */
  boolean insertCustomKeyStore(CustomKeyStore store);

  /** Updates name, cluster, sealed PIN and the wish to be connected; false if the new name is taken. */
  boolean updateCustomKeyStore(CustomKeyStore store);

  boolean deleteCustomKeyStore(String keyStoreId);

  List<CustomKeyStore> customKeyStores(String accountId);

  /**
   * Keys in a key store, in any state, Creating included: an unfinished CreateKey may have left an object in the
   * HSM that reconciliation has yet to roll back.
   */
  int countKeysInStore(String keyStoreId);

  /** Inserts a grant; false if its key no longer exists. */
  boolean insertGrant(io.kmsgw.domain.Grant grant);

  /** Deletes a grant of a key; false if there is none with that id. */
  boolean deleteGrant(UUID keyId, String grantId);

  /** Every grant of every key, oldest first (for the in-memory index at start). */
  List<io.kmsgw.domain.Grant> allGrants();

  Optional<KeyRecord> findKey(UUID keyId);

  /** Keys of an account ordered by key id, starting after {@code afterKeyId} (exclusive) when given. */
  List<KeyRecord> listKeys(String accountId, String afterKeyId, int limit);

  /** Every key, in every state (for the cache and for reconciliation at start). */
  List<KeyRecord> allKeys();

  @Override
  void close();
}
