package io.kmsgw.kms;

import io.kmsgw.domain.KeyRecord;
import java.util.Collection;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Key metadata in memory, so Encrypt, Decrypt and GenerateDataKey do no database read. Every write to the
 * metadata store goes through the operations layer, which updates this cache after the write commits.
 */
public final class KeyCache {
  private final ConcurrentHashMap<UUID, KeyRecord> keys = new ConcurrentHashMap<>();

  public KeyRecord get(UUID keyId) {
    return keys.get(keyId);
  }

  public void put(KeyRecord key) {
    keys.put(key.keyId(), key);
  }

  public void remove(UUID keyId) {
    keys.remove(keyId);
  }

  public void loadAll(Collection<KeyRecord> all) {
    keys.clear();
    for (KeyRecord k : all) {
      keys.put(k.keyId(), k);
    }
  }

  public int size() {
    return keys.size();
  }
}
