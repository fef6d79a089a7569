package io.kmsgw.kms;

import io.kmsgw.domain.KeyRecord;
import io.kmsgw.domain.KeyState;
import io.kmsgw.domain.KeyVersion;
import io.kmsgw.hsm.Hsm;
import io.kmsgw.hsm.HsmException;
import io.kmsgw.hsm.HsmKey;
import io.kmsgw.store.MetadataStore;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.logging.Logger;

/**
 * Brings the metadata store and the HSM back in line after a crash, at start-up, and logs what it found.
 *
 * <ul>
 *   <li>A key left {@code Creating} by an earlier process (a CreateKey that never answered) is rolled back: its HSM
 *       object, if any, is destroyed and its row deleted.
 *   <li>A version whose HSM object is missing is reported (the key stays as it is: an operator must look).
 *   <li>An HSM object with the gateway's label prefix and no metadata is reported and left alone: destroying key
 *       material on a guess (a restored database backup, a second gateway) could lose data for good.
 * </ul>
 */
public final class Reconciler {
  private static final Logger LOG = Logger.getLogger(Reconciler.class.getName());

  /** What reconciliation found. */
  public record Report(int keys, int rolledBack, int missingMaterial, int orphans) {}

  private final MetadataStore store;
  private final KeyCache cache;
  private final Instant processStart;

  /**
   * @param processStart keys still {@code Creating} that were created after this instant belong to this process
   *     and are left alone
   */
  public Reconciler(MetadataStore store, KeyCache cache, Instant processStart) {
    this.store = store;
    this.cache = cache;
    this.processStart = processStart;
  }

  /** Reconciles the keys of one key store with the objects of its HSM. */
  public Report reconcile(String keyStoreId, Hsm hsm) throws HsmException {
    List<KeyRecord> keys = store.allKeys().stream().filter(k -> k.keyStoreId().equals(keyStoreId)).toList();
    List<HsmKey> objects = hsm.withSession(s -> s.findSecretKeys(HsmLabels.PREFIX));
    Set<HsmKey> inHsm = new HashSet<>(objects);
    Set<HsmKey> known = new HashSet<>();
    int rolledBack = 0;
    int missing = 0;
    for (KeyRecord key : keys) {
      for (KeyVersion v : key.versions()) {
        known.add(new HsmKey(v.hsmLabel(), v.hsmId()));
      }
      if (key.state() == KeyState.CREATING) {
        if (!key.createdAt().isBefore(processStart)) {
          continue;
        }
        for (KeyVersion v : key.versions()) {
          HsmKey object = new HsmKey(v.hsmLabel(), v.hsmId());
          boolean present = inHsm.contains(object);
          if (present) {
            hsm.withSession(s -> {
              s.destroy(object);
              return null;
            });
          }
          LOG.warning(() -> "reconcile: rolled back unfinished CreateKey " + key.keyId() + " from "
              + key.createdAt() + (present ? " (destroyed its HSM object " + object.label() + ")" : " (no HSM object)"));
        }
        store.deleteKey(key.keyId());
        cache.remove(key.keyId());
        rolledBack++;
        continue;
      }
      for (KeyVersion v : key.versions()) {
        if (!inHsm.contains(new HsmKey(v.hsmLabel(), v.hsmId()))) {
          missing++;
          LOG.severe(() -> "reconcile: key " + key.arn() + " version " + v.version() + ": HSM object " + v.hsmLabel()
              + " is missing; ciphertext under this version cannot be decrypted until it is restored");
        }
      }
    }
    int orphans = 0;
    for (HsmKey object : objects) {
      if (!known.contains(object)) {
        orphans++;
        LOG.warning(() -> "reconcile: HSM object " + object.label() + " has no metadata; left in place");
      }
    }
    Report report = new Report(keys.size() - rolledBack, rolledBack, missing, orphans);
    LOG.info(() -> "reconcile " + keyStoreId + ": " + report.keys() + " keys, " + objects.size() + " HSM objects; rolled back "
        + report.rolledBack() + ", missing material " + report.missingMaterial() + ", orphans " + report.orphans());
    return report;
  }
}
