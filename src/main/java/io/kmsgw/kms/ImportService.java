package io.kmsgw.kms;

import io.kmsgw.async.Completions;
import io.kmsgw.domain.Caller;
import io.kmsgw.domain.ImportedMaterial;
import io.kmsgw.domain.ImportedMaterial.ExpirationModel;
import io.kmsgw.domain.KeyRecord;
import io.kmsgw.domain.KeySpec;
import io.kmsgw.domain.KeyState;
import io.kmsgw.domain.KeyVersion;
import io.kmsgw.domain.Origin;
import io.kmsgw.error.ErrorCode;
import io.kmsgw.error.KmsException;
import io.kmsgw.hsm.Capability;
import io.kmsgw.hsm.HsmKey;
import io.kmsgw.keystore.KeyStoreConnection;
import io.kmsgw.keystore.KeyStores;
import io.kmsgw.store.ImportStore;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.logging.Logger;

/**
 * Bring your own key: GetParametersForImport, ImportKeyMaterial and DeleteImportedKeyMaterial for EXTERNAL keys, and
 * the expiry of imported material (docs/import.md).
 *
 * <p>The material is unwrapped inside the HSM only ({@code C_UnwrapKey} with RSA-OAEP under a wrapping key pair made
 * there, and for RSA_AES_KEY_WRAP a second unwrap with RFC 5649 under the ephemeral AES key the first one gave). A token that lacks the OAEP hash refuses the algorithm; the gateway never unwraps in its own memory.
 *
 * <p>Wrapping keys are token objects {@code kmsgw-wrap:<key id>:<n>} known to this process only: each lives until its
 * import succeeds, it expires (24 hours), a newer one pushes it out ({@value #MAX_PER_KEY} per KMS key,
 * {@value #MAX_WRAPPING_KEYS} in all), or the next process starts (its first GetParametersForImport destroys the
 * wrapping keys it does not know, whose tokens then fail with InvalidImportTokenException).
 *
 * <p>Crash safety: the unwrapped object gets the label of the key's version 1 and the key becomes Enabled in one
 * transaction after it. A crash between the two leaves a PendingImport key with an object, which {@link Reconciler}
 * destroys at the next start.
 */
public final class ImportService {
  private static final Logger LOG = Logger.getLogger(ImportService.class.getName());
  static final String WRAPPING_PREFIX = "kmsgw-wrap:";
  static final Duration PARAMETERS_LIFETIME = Duration.ofHours(24);
  static final int MAX_PER_KEY = 3;
  static final int MAX_WRAPPING_KEYS = 100;
  private static final SecureRandom RANDOM = new SecureRandom();

  private record Wrapping(UUID keyId, HsmKey key, String algorithm, Instant validTo) {}

  /** GetParametersForImport's answer. */
  public record Parameters(KeyRecord key, byte[] publicKey, byte[] importToken, Instant validTo) {}

  /** ImportKeyMaterial's request, after the model's checks. */
  public record Material(byte[] importToken, byte[] encryptedKeyMaterial, String expirationModel, Instant validTo,
      String importType, String keyMaterialId) {}

  private final KeyService keys;
  private final KeyStores stores;
  private final ImportStore store;
  private final KeyCache cache;
  private final Executor storeExecutor;
  private final Clock clock;
  private final ImportTokens tokens;
  private final Map<String, Wrapping> wrapping = new ConcurrentHashMap<>();
  private final Map<UUID, ImportedMaterial> materials = new ConcurrentHashMap<>();
  private final Set<UUID> importing = ConcurrentHashMap.newKeySet();
  private final AtomicBoolean swept = new AtomicBoolean();
  private final Object destructions = new Object();

  /** @param clock the lifecycle clock (token and material expiry) */
  public ImportService(KeyService keys, KeyStores stores, ImportStore store, KeyCache cache, Executor storeExecutor,
      Clock clock) {
    this.keys = keys;
    this.stores = stores;
    this.store = store;
    this.cache = cache;
    this.storeExecutor = storeExecutor;
    this.clock = clock;
    this.tokens = new ImportTokens(stores);
  }

  /** Loads what the store knows of imported material (at start). */
  public void load() {
    materials.putAll(store.allImports());
  }

  /** The key's imported material, if it ever had some. */
  public Optional<ImportedMaterial> material(UUID keyId) {
    return Optional.ofNullable(materials.get(keyId));
  }

  public CompletableFuture<Parameters> getParametersForImport(Caller caller, UUID keyId, String algorithm,
      String wrappingKeySpec) {
    int bits = switch (wrappingKeySpec) {
      case "RSA_2048" -> 2048;
      case "RSA_3072" -> 3072;
      case "RSA_4096" -> 4096;
      default -> throw new KmsException(ErrorCode.UNSUPPORTED_OPERATION,
          "WrappingKeySpec " + wrappingKeySpec + " is not supported; use RSA_2048, RSA_3072 or RSA_4096.");
    };
    String hash = ImportRules.oaepHash(algorithm);
    return keys.lookup(caller, "GetParametersForImport", keyId, null, b -> b
        .put("kms:WrappingAlgorithm", algorithm).put("kms:WrappingKeySpec", wrappingKeySpec))
        .thenCompose(key -> {
          requireImportable(key);
          ImportRules.checkWrapping(key.keySpec(), algorithm, bits);
          KeyStoreConnection target = stores.of(key);
          target.require(Capability.RSA_KEY_GEN);
          if (key.keySpec().family() == KeySpec.Family.EC) {
            target.require(Capability.ECDSA); // the public point is recovered from two ECDSA signatures
          }
          if (algorithm.startsWith("RSA_AES")) {
            target.require(Capability.AES_KEY_WRAP_PAD);
          }
          if (!target.mechanisms().oaepHashes().contains(hash)) {
            throw new KmsException(ErrorCode.UNSUPPORTED_OPERATION, "The HSM of this key store cannot unwrap with "
                + algorithm + ": it does not offer CKM_RSA_PKCS_OAEP (0x9) with " + hash + " and MGF1-" + hash
                + ". kmsgw never unwraps key material outside the HSM; use RSAES_OAEP_SHA_1.");
          }
          Instant validTo = clock.instant().plus(PARAMETERS_LIFETIME).truncatedTo(ChronoUnit.MILLIS);
          byte[] id = new byte[16];
          RANDOM.nextBytes(id);
          HsmKey object = new HsmKey(WRAPPING_PREFIX + keyId + ":" + HexFormat.of().formatHex(id, 0, 6), id);
          // registered first, so that the sweep of an earlier process's wrapping keys never takes it for one
          wrapping.put(object.label(), new Wrapping(keyId, object, algorithm, validTo));
          return target.run(ErrorCode.DEPENDENCY_TIMEOUT, key.arn(), s -> {
            sweepOnce(s);
            s.generateWrappingKeyPair(bits, object.label(), object.id());
            return s.publicKeyInfo(object, KeySpec.valueOf(wrappingKeySpec));
          }).whenComplete((spki, failure) -> {
            if (failure != null) {
              wrapping.remove(object.label());
              destroy(target, List.of(object));
            }
          }).thenCompose(spki -> trim(target, keyId).thenApply(x -> spki))
          .thenCompose(spki -> tokens.seal(keyId, new ImportTokens.Token(object, algorithm, validTo))
              .thenApply(token -> new Parameters(key, spki, token, validTo)));
        });
  }

  /** Only EXTERNAL keys take imported material; none pending deletion. */
  private void requireImportable(KeyRecord key) {
    if (key.origin() != Origin.EXTERNAL) {
      throw new KmsException(ErrorCode.UNSUPPORTED_OPERATION, key.arn() + " has Origin " + key.origin()
          + "; key material can be imported only into a key with Origin EXTERNAL.");
    }
    if (key.state() == KeyState.PENDING_DELETION || !keys.keyStoreConnected(key)) {
      throw new KmsException(ErrorCode.KMS_INVALID_STATE, key.arn() + " is " + keys.effectiveState(key).apiName()
          + ".");
    }
  }

  public CompletableFuture<KeyRecord> importKeyMaterial(Caller caller, UUID keyId, Material m) {
    ExpirationModel model = m.expirationModel() == null ? ExpirationModel.KEY_MATERIAL_EXPIRES
        : ExpirationModel.valueOf(m.expirationModel());
    Instant now = clock.instant();
    ImportRules.checkExpiry(model, m.validTo(), now);
    return keys.lookup(caller, "ImportKeyMaterial", keyId, null, b -> {
      b.put("kms:ExpirationModel", model.name());
      if (m.validTo() != null) {
        b.put("kms:ValidTo", Long.toString(m.validTo().getEpochSecond()));
      }
    }).thenCompose(key -> {
      requireImportable(key);
      if (key.keySpec() != KeySpec.SYMMETRIC_DEFAULT && key.keySpec().family() != KeySpec.Family.HMAC
          && !PrivateKeyMaterial.importable(key.keySpec())) {
        throw PrivateKeyMaterial.edwardsRefused(key.keySpec());
      }
      if (key.keySpec() != KeySpec.SYMMETRIC_DEFAULT && (m.importType() != null || m.keyMaterialId() != null)) {
        throw KmsException.validation("ImportType and KeyMaterialId are only for symmetric encryption keys.");
      }
      ImportedMaterial previous = materials.get(keyId);
      ImportRules.checkImportType(key, m, previous);
      if (!importing.add(keyId)) {
        throw new KmsException(ErrorCode.KMS_INVALID_STATE, "Another ImportKeyMaterial request for " + key.arn()
            + " is in progress.");
      }
      return tokens.open(keyId, m.importToken())
          .thenCompose(t -> unwrapAndRecord(key, t, m, model, previous))
          .whenComplete((ok, failure) -> importing.remove(keyId));
    });
  }

  private CompletableFuture<KeyRecord> unwrapAndRecord(KeyRecord key, ImportTokens.Token t, Material m,
      ExpirationModel model, ImportedMaterial previous) {
    if (!t.validTo().isAfter(clock.instant())) {
      throw new KmsException(ErrorCode.EXPIRED_IMPORT_TOKEN, "The import token expired at " + t.validTo()
          + "; call GetParametersForImport again and wrap the key material under its new public key.");
    }
    Wrapping w = wrapping.get(t.wrappingKey().label());
    if (w == null || !w.key().equals(t.wrappingKey()) || !w.keyId().equals(key.keyId())) {
      throw ImportTokens.invalid();
    }
    KeyStoreConnection target = stores.of(key);
    boolean hasMaterial = key.state() != KeyState.PENDING_IMPORT;
    KeyVersion version = key.current();
    HsmKey object = new HsmKey(version.hsmLabel(), version.hsmId());
    String hash = ImportRules.oaepHash(w.algorithm());
    int[] lengths = ImportRules.materialLengths(key.keySpec());
    boolean rsaAes = w.algorithm().startsWith("RSA_AES");
    HsmKey into = hasMaterial ? null : object;
    boolean privateKey = PrivateKeyMaterial.importable(key.keySpec());
    return target.run(ErrorCode.DEPENDENCY_TIMEOUT, key.arn(),
        s -> privateKey ? PrivateKeyMaterial.unwrap(s, w.key(), hash, rsaAes, m.encryptedKeyMaterial(), key, into)
            : s.unwrapSecretKey(w.key(), hash, rsaAes, m.encryptedKeyMaterial(), key.keySpec(), lengths[0],
                lengths[1], into))
        .thenCompose(u -> {
          if (u.checkValue() == null && privateKey) {
            throw PrivateKeyMaterial.notOfSpec(key);
          }
          if (u.checkValue() == null) {
            String wanted = lengths[0] == lengths[1] ? lengths[0] + " bytes" : lengths[0] + " to " + lengths[1]
                + " bytes";
            throw new KmsException(ErrorCode.INCORRECT_KEY_MATERIAL, "The key material of a " + key.keySpec()
                + " key must be " + wanted + "; the unwrapped material is "
                + (u.length() > 0 ? u.length() + " bytes." : "not."));
          }
          if (previous != null && !MessageDigest.isEqual(previous.checkValue(), u.checkValue())) {
            // the object made for the comparison is gone before the answer: nothing changed
            return (hasMaterial ? CompletableFuture.<Void>completedFuture(null) : destroy(target, List.of(object)))
                .thenApply(x -> {
                  throw new KmsException(ErrorCode.INCORRECT_KEY_MATERIAL, "The key material is not the material "
                      + "that was imported into " + key.arn() + " before; only the same material can be imported "
                      + "again.");
                });
          }
          Instant now = clock.instant().truncatedTo(ChronoUnit.MILLIS);
          ImportedMaterial imported = new ImportedMaterial(model, m.validTo(), u.checkValue(),
              previous == null ? now : previous.importedAt());
          KeyState next = hasMaterial ? key.state() : KeyState.ENABLED;
          return Completions.on(storeExecutor, () -> {
            if (!store.recordImport(key.keyId(), key.state(), next, imported)) {
              throw new KmsException(ErrorCode.KMS_INVALID_STATE, key.arn() + " changed state during the import.");
            }
            materials.put(key.keyId(), imported);
            KeyRecord done = key.withState(next);
            cache.put(done);
            return done;
          }).whenComplete((done, failure) -> {
            if (failure != null && !hasMaterial) {
              destroy(target, List.of(object));
            }
          }).thenCompose(done -> {
            // a used wrapping key is destroyed before the answer (destructions racing later calls hung NSS's
            // softoken once; waiting costs one call)
            wrapping.remove(w.key().label());
            LOG.info(() -> "imported key material into " + key.arn() + " (" + model + ")");
            return destroy(target, List.of(w.key())).thenApply(x -> done);
          });
        });
  }

  public CompletableFuture<KeyRecord> deleteImportedKeyMaterial(Caller caller, UUID keyId, String keyMaterialId) {
    return keys.lookup(caller, "DeleteImportedKeyMaterial", keyId, null).thenCompose(key -> {
      requireImportable(key);
      if (keyMaterialId != null
          && !keyMaterialId.equals(HsmLabels.keyMaterialId(key.keyId(), key.currentVersion()))) {
        throw KmsException.validation("KeyMaterialId " + keyMaterialId + " is not key material of " + key.arn() + ".");
      }
      return removeMaterial(key, "DeleteImportedKeyMaterial");
    });
  }

  /** The key PendingImport (committed first: no request uses the material after), then its object destroyed. */
  private CompletableFuture<KeyRecord> removeMaterial(KeyRecord key, String why) {
    ImportedMaterial previous = materials.get(key.keyId());
    if (key.state() == KeyState.PENDING_IMPORT || previous == null) {
      return CompletableFuture.completedFuture(key);
    }
    return Completions.on(storeExecutor, () -> {
      if (!store.recordImport(key.keyId(), key.state(), KeyState.PENDING_IMPORT, previous.deleted())) {
        throw new KmsException(ErrorCode.KMS_INVALID_STATE, key.arn() + " changed state meanwhile.");
      }
      materials.put(key.keyId(), previous.deleted());
      KeyRecord pending = key.withState(KeyState.PENDING_IMPORT);
      cache.put(pending);
      return pending;
    }).thenCompose(pending -> {
      List<HsmKey> objects = key.versions().stream().map(v -> new HsmKey(v.hsmLabel(), v.hsmId())).toList();
      // waited for: a re-import right after must not have its new object destroyed by this
      return destroy(stores.of(key), objects).thenApply(x -> {
        LOG.info(() -> why + ": key material of " + key.arn() + " deleted; the key is PendingImport");
        return pending;
      });
    });
  }

  /**
   * The lifecycle task's part: expired wrapping keys destroyed, and material past its ValidTo deleted (the key
   * becomes PendingImport). Runs on the lifecycle clock.
   */
  public CompletableFuture<Integer> expireDue() {
    Instant now = clock.instant();
    List<HsmKey> expiredWrapping = new java.util.concurrent.CopyOnWriteArrayList<>();
    wrapping.values().removeIf(w -> {
      if (w.validTo().isAfter(now)) {
        return false;
      }
      expiredWrapping.add(w.key());
      return true;
    });
    if (!expiredWrapping.isEmpty()) {
      destroy(stores.defaultStore(), expiredWrapping);
    }
    List<CompletableFuture<KeyRecord>> expiring = new ArrayList<>();
    materials.forEach((keyId, m) -> {
      if (m.present() && m.validTo() != null && !m.validTo().isAfter(now)) {
        expiring.add(keys.lookup(keyId).thenCompose(key -> removeMaterial(key, "expiry (ValidTo " + m.validTo()
            + ")")).exceptionally(e -> {
              if (Completions.unwrap(e) instanceof KmsException k && k.code() == ErrorCode.NOT_FOUND) {
                materials.remove(keyId); // the key was deleted (ScheduleKeyDeletion), its row with it
              } else {
                LOG.warning(() -> "expiring the key material of " + keyId + " failed: " + e.getMessage());
              }
              return null;
            }));
      }
    });
    return CompletableFuture.allOf(expiring.toArray(CompletableFuture[]::new)).thenApply(x -> expiring.size());
  }

  /** At most {@value #MAX_PER_KEY} wrapping keys per KMS key and {@value #MAX_WRAPPING_KEYS} in all: oldest go. */
  private CompletableFuture<Void> trim(KeyStoreConnection target, UUID keyId) {
    List<Wrapping> surplus = new ArrayList<>();
    List<Wrapping> mine = wrapping.values().stream().filter(w -> w.keyId().equals(keyId))
        .sorted(Comparator.comparing(Wrapping::validTo)).toList();
    surplus.addAll(mine.subList(0, Math.max(0, mine.size() - MAX_PER_KEY)));
    List<Wrapping> all = wrapping.values().stream().sorted(Comparator.comparing(Wrapping::validTo)).toList();
    surplus.addAll(all.subList(0, Math.max(0, all.size() - MAX_WRAPPING_KEYS)));
    surplus.forEach(w -> wrapping.remove(w.key().label()));
    return surplus.isEmpty() ? CompletableFuture.completedFuture(null)
        : destroy(target, surplus.stream().map(Wrapping::key).distinct().toList());
  }

  /** Number of wrapping keys this process holds (tests: they do not pile up). */
  public int wrappingKeys() {
    return wrapping.size();
  }

  /** The first call in a process destroys the wrapping keys of earlier processes (their tokens died with them). */
  private void sweepOnce(io.kmsgw.hsm.HsmSession s) throws io.kmsgw.hsm.HsmException {
    if (swept.compareAndSet(false, true)) {
      for (HsmKey k : s.findKeys(WRAPPING_PREFIX)) {
        if (!wrapping.containsKey(k.label())) {
          s.destroy(k);
        }
      }
    }
  }

  /** Destroys objects in the background; a failure is logged (the reconciler or the next sweep gets them). */
  private CompletableFuture<Void> destroy(KeyStoreConnection target, List<HsmKey> objects) {
    return target.run(ErrorCode.KMS_INTERNAL, null, s -> {
      // one destruction at a time: NSS's softoken let concurrent C_DestroyObject calls on several sessions run past
      // the 10 s call timeout (measured in ImportServiceTest's expiry, which destroys several objects at once)
      synchronized (destructions) {
        for (HsmKey k : objects) {
          s.destroy(k);
        }
      }
      return (Void) null;
    }).exceptionally(e -> {
      LOG.warning(() -> "could not destroy " + objects + " now: " + e.getMessage());
      return null;
    });
  }
}
