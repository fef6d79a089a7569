package io.kmsgw.keystore;

import io.kmsgw.domain.KeyRecord;
import io.kmsgw.error.ErrorCode;
import io.kmsgw.error.KmsException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Every key store of the gateway and its connection: the default key store (the configured HSM) and the custom key
 * stores, each an HSM definition with its own connection, session pool and worker pool. Keys are routed to the
 * store that holds their material.
 */
public final class KeyStores {
  private final KeyStoreConnection defaultStore;
  private final ConcurrentHashMap<String, KeyStoreConnection> custom = new ConcurrentHashMap<>();

  public KeyStores(KeyStoreConnection defaultStore) {
    this.defaultStore = defaultStore;
  }

  public KeyStoreConnection defaultStore() {
    return defaultStore;
  }

  /** The connection of the store that holds a key's material. */
  public KeyStoreConnection of(KeyRecord key) {
    return of(key.keyStoreId());
  }

  public KeyStoreConnection of(String keyStoreId) {
    if (KeyRecord.DEFAULT_KEY_STORE.equals(keyStoreId)) {
      return defaultStore;
    }
    KeyStoreConnection c = custom.get(keyStoreId);
    if (c == null) {
      throw new KmsException(ErrorCode.CUSTOM_KEY_STORE_NOT_FOUND, "Custom key store " + keyStoreId
          + " does not exist.");
    }
    return c;
  }

  /** Whether the key's store is connected now or reconnecting by itself (its keys are Unavailable otherwise). */
  public boolean connected(KeyRecord key) {
    if (KeyRecord.DEFAULT_KEY_STORE.equals(key.keyStoreId())) {
      return defaultStore.servesOrReconnects();
    }
    KeyStoreConnection c = custom.get(key.keyStoreId());
    return c != null && c.servesOrReconnects();
  }

  public Optional<KeyStoreConnection> custom(String keyStoreId) {
    return Optional.ofNullable(custom.get(keyStoreId));
  }

  public void putCustom(KeyStoreConnection connection) {
    custom.put(connection.id(), connection);
  }

  public void removeCustom(String keyStoreId) {
    custom.remove(keyStoreId);
  }

  /** The default store first, then the custom ones. */
  public List<KeyStoreConnection> all() {
    List<KeyStoreConnection> all = new ArrayList<>();
    all.add(defaultStore);
    all.addAll(custom.values());
    return all;
  }
}
