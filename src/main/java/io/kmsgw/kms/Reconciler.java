package io.kmsgw.kms;

import io.kmsgw.domain.KeyRecord;
import io.kmsgw.domain.KeyState;
import io.kmsgw.domain.KeyVersion;
import io.kmsgw.hsm.Hsm;
import io.kmsgw.hsm.HsmException;
import io.kmsgw.hsm.HsmKey;
import io.kmsgw.store.MetadataStore;
import java.time.Instant;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;
import java.util.logging.Logger;

/**
 * Brings the metadata store and the HSM back in line after a crash, at start-up, and logs what it found.
 *
 * <ul>
 *   <li>A key left {@code Creating} by an earlier process (a CreateKey that never answered) is rolled back: its HSM
 *       object, if any, is destroyed and its row deleted. Which creations are this process's own is asked of
 *       {@link KeyService} (the ones it has in flight), not told by time: the key's creation time comes from the
 *       lifecycle clock, which development mode moves, so a creation killed under a clock running ahead looked newer
 *       than the next process and was left {@code Creating}, with its token object, for good.
 *   <li>An object {@code kmsgw:<key>:v<n>} of a key in this store whose current version is below {@code n} is the
 *       work of a rotation killed between generating the object and recording the version. No ciphertext can name a
 *       version that was never recorded, so the object is destroyed (the next rotation would have replaced it).
 *   <li>An object of a PendingImport key (an EXTERNAL key with no material recorded) is the work of an
 *       ImportKeyMaterial killed between the unwrap and the metadata write, or of a deletion whose destruction failed:
 *       destroyed at the store's first connection (docs/import.md). Such a key's missing objects are not reported.
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
  private final Predicate<KeyRecord> ownCreation;
  private final Set<String> reconciled = java.util.concurrent.ConcurrentHashMap.newKeySet();

  /**
   * @param processStart keys still {@code Creating} that were created after this instant (on the clock that stamped
   *     them) belong to this process and are left alone
   */
  public Reconciler(MetadataStore store, KeyCache cache, Instant processStart) {
    this(store, cache, k -> !k.createdAt().isBefore(processStart));
  }

  /** @param ownCreation whether a key still {@code Creating} is being created by this process (left alone) */
  public Reconciler(MetadataStore store, KeyCache cache, Predicate<KeyRecord> ownCreation) {
    this.store = store;
    this.cache = cache;
    this.ownCreation = ownCreation;
  }

  /** Reconciles the keys of one key store with the objects of its HSM. */
  public Report reconcile(String keyStoreId, Hsm hsm) throws HsmException {
    List<KeyRecord> keys = store.allKeys().stream().filter(k -> k.keyStoreId().equals(keyStoreId)).toList();
    List<HsmKey> objects = hsm.withSession(s -> s.findKeys(HsmLabels.PREFIX));
    Set<HsmKey> inHsm = new HashSet<>(objects);
    Set<HsmKey> known = new HashSet<>();
    int rolledBack = 0;
    int missing = 0;
    boolean firstConnection = reconciled.add(keyStoreId);
    for (KeyRecord key : keys) {
      for (KeyVersion v : key.versions()) {
        known.add(new HsmKey(v.hsmLabel(), v.hsmId()));
      }
      if (key.state() == KeyState.CREATING) {
        if (ownCreation.test(key)) {
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
      if (key.state() == KeyState.PENDING_IMPORT) {
        // no material is recorded: an object here is an ImportKeyMaterial killed between the unwrap and the metadata
        // write, or a DeleteImportedKeyMaterial / expiry whose destruction failed. Only at the first connection: at a
        // reconnection an import may be between those two steps now
        if (firstConnection) {
          destroyUnrecordedImports(hsm, key, inHsm);
        }
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
    int unfinishedRotations = 0;
    Map<String, KeyRecord> byId = new HashMap<>();
    keys.forEach(k -> byId.put(k.keyId().toString(), k));
    for (HsmKey object : objects) {
      if (known.contains(object)) {
        continue;
      }
      // only at a store's first connection in this process: no rotation of it can have started yet, whereas at a
      // reconnection one may have generated its object and not yet recorded the version
      KeyRecord owner = firstConnection ? unrecordedVersionOf(object, byId) : null;
      if (owner != null) {
        hsm.withSession(s -> {
          s.destroy(object);
          return null;
        });
        unfinishedRotations++;
        LOG.warning(() -> "reconcile: destroyed " + object.label() + ", made by a rotation of " + owner.arn()
            + " that never recorded it (current version " + owner.currentVersion() + ")");
      } else {
        orphans++;
        LOG.warning(() -> "reconcile: HSM object " + object.label() + " has no metadata; left in place");
      }
    }
    Report report = new Report(keys.size() - rolledBack, rolledBack, missing, orphans);
    int destroyedRotations = unfinishedRotations;
    LOG.info(() -> "reconcile " + keyStoreId + ": " + report.keys() + " keys, " + objects.size() + " HSM objects; rolled back "
        + report.rolledBack() + ", missing material " + report.missingMaterial() + ", orphans " + report.orphans()
        + ", unfinished rotations destroyed " + destroyedRotations);
    return report;
  }

  private static void destroyUnrecordedImports(Hsm hsm, KeyRecord key, Set<HsmKey> inHsm) throws HsmException {
    for (KeyVersion v : key.versions()) {
      HsmKey object = new HsmKey(v.hsmLabel(), v.hsmId());
      if (inHsm.contains(object)) {
        hsm.withSession(s -> {
          s.destroy(object);
          return null;
        });
        LOG.warning(() -> "reconcile: destroyed " + object.label() + " of " + key.arn()
            + ", which is PendingImport: an import that never recorded it, or material deleted before");
      }
    }
  }

  /**
   * The key whose version the object would be, if the label and id are exactly those of a version above the key's
   * current one; null otherwise (an object of an unknown key, or anything else, is left alone).
   */
  private static KeyRecord unrecordedVersionOf(HsmKey object, Map<String, KeyRecord> byId) {
    String label = object.label();
    int v = label.lastIndexOf(":v");
    if (!label.startsWith(HsmLabels.PREFIX) || v < 0) {
      return null;
    }
    KeyRecord k = byId.get(label.substring(HsmLabels.PREFIX.length(), v));
    if (k == null || k.state() == KeyState.CREATING) {
      return null;
    }
    int version;
    try {
      version = Integer.parseInt(label.substring(v + 2));
    } catch (NumberFormatException e) {
      return null;
    }
    if (version <= k.currentVersion() || !label.equals(HsmLabels.label(k.keyId(), version))
        || !java.util.Arrays.equals(object.id(), HsmLabels.id(k.keyId(), version))) {
      return null;
    }
    return k;
  }
}
