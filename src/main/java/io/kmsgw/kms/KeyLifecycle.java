package io.kmsgw.kms;

import io.kmsgw.async.Completions;
import io.kmsgw.domain.Caller;
import io.kmsgw.domain.KeyRecord;
import io.kmsgw.domain.KeyRotation;
import io.kmsgw.domain.KeyState;
import io.kmsgw.domain.KeyVersion;
import io.kmsgw.domain.ServiceEvents;
import io.kmsgw.domain.Tag;
import io.kmsgw.error.ErrorCode;
import io.kmsgw.error.KmsException;
import io.kmsgw.hsm.HsmKey;
import io.kmsgw.keystore.KeyStoreConnection;
import io.kmsgw.keystore.KeyStores;
import io.kmsgw.policy.KeyStateRules;
import io.kmsgw.policy.KeyStateRules.Op;
import io.kmsgw.policy.PolicyDocument;
import io.kmsgw.policy.TagRules;
import io.kmsgw.store.MetadataStore;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import java.util.function.Function;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Everything that changes an existing key over its life: enable and disable, description, tags, rotation (automatic
 * and on demand, each a new AES-256 version generated in the HSM while every older version stays), and deletion
 * after a waiting period.
 *
 * <p>Every change runs on one lifecycle thread, so two changes to a key never interleave; each reads the key fresh
 * from the store, checks the key state table ({@link KeyStateRules}), writes, and then updates the cache. Such
 * changes are rare next to crypto calls, which never wait for this thread.
 *
 * <p>The lifecycle clock (injected; offset in development mode only) decides deletion and rotation dates.
 */
public final class KeyLifecycle {
  private static final Logger LOG = Logger.getLogger(KeyLifecycle.class.getName());

  /** AWS KMS: on-demand rotations per key. */
  public static final int MAX_ON_DEMAND_ROTATIONS = 10;
  /** The service enforces 7..30 days although the model allows 1..365 (KMS API notes). */
  public static final int MIN_PENDING_WINDOW_DAYS = 7;
  public static final int MAX_PENDING_WINDOW_DAYS = 30;
  public static final int DEFAULT_PENDING_WINDOW_DAYS = 30;

  private final KmsSettings settings;
  private final MetadataStore store;
  private final KeyCache cache;
  private final KeyStores stores;
  private final Executor lifecycle;
  private final Clock clock;
  private final AliasService aliases;

  public KeyLifecycle(KmsSettings settings, MetadataStore store, KeyCache cache, KeyStores stores,
      Executor lifecycle, Clock clock, AliasService aliases, Authorizer authz) {
    this.authz = authz;
    this.settings = settings;
    this.store = store;
    this.cache = cache;
    this.stores = stores;
    this.lifecycle = lifecycle;
    this.clock = clock;
    this.aliases = aliases;
  }

  private final Authorizer authz;
  private volatile ServiceEvents events = ServiceEvents.NONE;

  /** Where automatic rotations and deletions are recorded (the audit trail). */
  public void serviceEvents(ServiceEvents sink) {
    this.events = sink;
  }

  private Instant now() {
    return clock.instant().truncatedTo(ChronoUnit.MILLIS);
  }

  /** Reads the key fresh from the store, checks the state table, applies the change, writes it. */
  private CompletableFuture<KeyRecord> mutate(Caller caller, String operation, UUID keyId, Op op,
      Function<KeyRecord, KeyRecord> change) {
    return Completions.on(lifecycle, () -> {
      KeyRecord current = fresh(caller, operation, keyId);
      KeyStateRules.require(op, current, stores.connected(current));
      KeyRecord next = change.apply(current);
      if (next != current) {
        if (!store.updateKey(next, current.state())) {
          throw new KmsException(ErrorCode.CONFLICT, current.arn() + " changed during the request; retry it.");
        }
        cache.put(next);
      }
      return next;
    });
  }

  /** {@link #fresh(UUID)}, once the caller may run the operation on it (AccessDeniedException otherwise). */
  KeyRecord fresh(Caller caller, String operation, UUID keyId) {
    KeyRecord k = fresh(keyId);
    authz.onKey(caller, operation, k, null);
    return k;
  }

  /** The key as the store has it now; NotFoundException if it does not exist (or is still being created). */
  KeyRecord fresh(UUID keyId) {
    KeyRecord k = store.findKey(keyId).orElse(null);
    if (k == null || k.state() == KeyState.CREATING) {
      throw KmsException.notFound(KeyRecord.arn(settings.region(), settings.accountId(), keyId) + " does not exist.");
    }
    return k;
  }

  public CompletableFuture<KeyRecord> enableKey(Caller caller, UUID keyId) {
    return mutate(caller, "EnableKey", keyId, Op.ENABLE_DISABLE,
        k -> k.state() == KeyState.ENABLED ? k : k.withState(KeyState.ENABLED));
  }

  public CompletableFuture<KeyRecord> disableKey(Caller caller, UUID keyId) {
    return mutate(caller, "DisableKey", keyId, Op.ENABLE_DISABLE,
        k -> k.state() == KeyState.DISABLED ? k : k.withState(KeyState.DISABLED));
  }

  public CompletableFuture<KeyRecord> updateDescription(Caller caller, UUID keyId, String description) {
    return mutate(caller, "UpdateKeyDescription", keyId, Op.MANAGE, k -> k.withDescription(description));
  }

  /** ScheduleKeyDeletion: PendingDeletion until now + window days; crypto is refused from now on. */
  public CompletableFuture<KeyRecord> scheduleDeletion(Caller caller, UUID keyId, Integer windowDays) {
    int days = windowDays == null ? DEFAULT_PENDING_WINDOW_DAYS : windowDays;
    if (days < MIN_PENDING_WINDOW_DAYS || days > MAX_PENDING_WINDOW_DAYS) {
      throw KmsException.validation("PendingWindowInDays must be between " + MIN_PENDING_WINDOW_DAYS + " and "
          + MAX_PENDING_WINDOW_DAYS + ".");
    }
    return mutate(caller, "ScheduleKeyDeletion", keyId, Op.MANAGE, k -> {
      Instant date = now().plus(Duration.ofDays(days));
      LOG.info(() -> "key " + k.arn() + " scheduled for deletion on " + date + " by " + caller.arn());
      return k.withDeletion(KeyState.PENDING_DELETION, date, days);
    });
  }

  /** CancelKeyDeletion: back to Disabled, as AWS does; the owner enables it explicitly. */
  public CompletableFuture<KeyRecord> cancelDeletion(Caller caller, UUID keyId) {
    return mutate(caller, "CancelKeyDeletion", keyId, Op.CANCEL_DELETION, k -> {
      LOG.info(() -> "deletion of key " + k.arn() + " cancelled by " + caller.arn());
      return k.withDeletion(KeyState.DISABLED, null, 0);
    });
  }

  public CompletableFuture<KeyRecord> enableRotation(Caller caller, UUID keyId, Integer periodDays) {
    return mutate(caller, "EnableKeyRotation", keyId, Op.ROTATION_SETTINGS, k -> {
      requireRotatable(k, "enable automatic rotation of");
      int period = periodDays != null ? periodDays
          : k.rotation().enabled() ? k.rotation().periodDays() : KeyRotation.DEFAULT_PERIOD_DAYS;
      if (k.rotation().enabled() && k.rotation().periodDays() == period) {
        return k;
      }
      return k.withRotation(new KeyRotation(true, period, now().plus(Duration.ofDays(period))));
    });
  }

  public CompletableFuture<KeyRecord> disableRotation(Caller caller, UUID keyId) {
    return mutate(caller, "DisableKeyRotation", keyId, Op.ROTATION_SETTINGS, k -> {
      requireRotatable(k, "disable automatic rotation of");
      return k.rotation().enabled() ? k.withRotation(new KeyRotation(false, k.rotation().periodDays(), null)) : k;
    });
  }

  /**
   * AWS rotates symmetric encryption keys only: for asymmetric and HMAC keys the rotation operations answer
   * UnsupportedOperationException (and GetKeyRotationStatus says rotation is off, as it always is for them).
   */
  private static void requireRotatable(KeyRecord k, String what) {
    if (k.keySpec() != io.kmsgw.domain.KeySpec.SYMMETRIC_DEFAULT) {
      throw new KmsException(ErrorCode.UNSUPPORTED_OPERATION, "You cannot " + what + " " + k.arn() + ": its KeySpec is "
          + k.keySpec() + ", and only symmetric encryption keys are rotated.");
    }
    if (k.origin() == io.kmsgw.domain.Origin.EXTERNAL) {
      // AWS: an imported key does not rotate automatically; HSM-generated material must never replace imported
      throw new KmsException(ErrorCode.UNSUPPORTED_OPERATION, "You cannot " + what + " " + k.arn() + ": its key "
          + "material is imported (Origin EXTERNAL), and kmsgw does not rotate imported keys.");
    }
  }

  /** RotateKeyOnDemand: a new version now, whether or not automatic rotation is enabled. */
  public CompletableFuture<KeyRecord> rotateOnDemand(Caller caller, UUID keyId) {
    return Completions.on(lifecycle, () -> {
      KeyRecord k = fresh(caller, "RotateKeyOnDemand", keyId);
      requireRotatable(k, "perform on-demand rotation of");
      KeyStateRules.require(Op.ROTATE_NOW, k, stores.connected(k));
      long onDemand = k.versions().stream().filter(v -> "ON_DEMAND".equals(v.rotationType())).count();
      if (onDemand >= MAX_ON_DEMAND_ROTATIONS) {
        throw new KmsException(ErrorCode.LIMIT_EXCEEDED, k.arn() + " has had " + MAX_ON_DEMAND_ROTATIONS
            + " on-demand rotations, the most a key may have.");
      }
      KeyRecord rotated = rotate(k, "ON_DEMAND");
      LOG.info(() -> "key " + k.arn() + " rotated on demand to version " + rotated.currentVersion() + " by "
          + caller.arn());
      return rotated;
    });
  }

  /**
   * Generates version n+1 in the HSM and records it as current. A token object left with that label by a rotation
   * that crashed before its metadata write never encrypted anything, so it is destroyed and made again. The next
   * automatic rotation date is stored in the same transaction as the version: a rotation is never done twice
   * for one period.
   */
  private KeyRecord rotate(KeyRecord k, String type) {
    int n = k.currentVersion() + 1;
    String label = HsmLabels.label(k.keyId(), n);
    byte[] hsmId = HsmLabels.id(k.keyId(), n);
    HsmKey object = new HsmKey(label, hsmId);
    KeyStoreConnection hsm = stores.of(k);
    Completions.await(hsm.run(ErrorCode.KMS_INVALID_STATE, k.arn(), s -> {
      if (s.exists(object)) {
        s.destroy(object);
      }
      return s.generateAes256Key(label, hsmId);
    }));
    Instant at = now();
    KeyRotation rotation = k.rotation().enabled()
        ? new KeyRotation(true, k.rotation().periodDays(), at.plus(Duration.ofDays(k.rotation().periodDays())))
        : k.rotation();
    KeyVersion version = new KeyVersion(n, label, hsmId, at, type);
    try {
      store.addVersion(k.keyId(), version, rotation);
    } catch (RuntimeException e) {
      Completions.await(hsm.run(ErrorCode.KMS_INVALID_STATE, k.arn(), s -> {
        s.destroy(object);
        return null;
      }));
      throw e;
    }
    KeyRecord next = k.withNewVersion(version, rotation);
    cache.put(next);
    return next;
  }



  /** GetKeyPolicy: the document as it was submitted (or the AWS default key policy). */
  public CompletableFuture<String> getKeyPolicy(Caller caller, UUID keyId, String policyName) {
    KeyPolicies.checkName(policyName);
    return Completions.on(lifecycle, () -> {
      KeyRecord k = fresh(caller, "GetKeyPolicy", keyId);
      KeyStateRules.require(Op.READ, k, stores.connected(k));
      return authz.policies().of(k).source();
    });
  }

  /**
   * PutKeyPolicy: a malformed document changes nothing; unless the caller bypasses it, the lockout safety check
   * refuses a policy that would not let the caller put the next one. The document is durable before any request
   * is evaluated against it.
   */
  public CompletableFuture<KeyRecord> putKeyPolicy(Caller caller, UUID keyId, String policyName, String document,
      boolean bypassLockoutCheck) {
    KeyPolicies.checkName(policyName);
    return Completions.on(lifecycle, () -> {
      KeyRecord k = fresh(keyId);
      authz.onKey(caller, "PutKeyPolicy", k, null,
          b -> b.put("kms:BypassPolicyLockoutSafetyCheck", Boolean.toString(bypassLockoutCheck)));
      // parsed only for a caller who may put a policy, and off the event loop
      PolicyDocument policy = KeyPolicies.parse(document);
      KeyStateRules.require(Op.READ, k, stores.connected(k));
      if (!bypassLockoutCheck && !authz.keepsPutKeyPolicy(caller, k, policy)) {
        throw new KmsException(ErrorCode.MALFORMED_POLICY_DOCUMENT, KeyPolicies.LOCKOUT_MESSAGE);
      }
      if (!store.putKeyPolicy(keyId, policy.source(), now())) {
        throw KmsException.notFound(k.arn() + " does not exist.");
      }
      authz.policies().put(keyId, policy);
      LOG.info(() -> "key policy of " + k.arn() + " replaced by " + caller.arn());
      return k;
    });
  }

  /** TagResource: adds tags, replacing the values of keys that exist. */
  public CompletableFuture<KeyRecord> tag(Caller caller, UUID keyId, List<Tag> tags) {
    Map<String, String> requested = new LinkedHashMap<>();
    for (Tag t : tags) {
      if (requested.put(t.key(), t.value()) != null) {
        throw new KmsException(ErrorCode.TAG, "Duplicate tag key in the request: each tag key may appear once.");
      }
    }
    TagRules.check(tags);
    return Completions.on(lifecycle, () -> {
      KeyRecord k = fresh(caller, "TagResource", keyId);
      KeyStateRules.require(Op.MANAGE, k, stores.connected(k));
      Map<String, String> merged = new LinkedHashMap<>();
      k.tags().forEach(t -> merged.put(t.key(), t.value()));
      merged.putAll(requested);
      List<Tag> next = new ArrayList<>();
      merged.forEach((key, value) -> next.add(new Tag(key, value)));
      TagRules.check(next);
      store.replaceTags(keyId, next);
      KeyRecord updated = k.withTags(next);
      cache.put(updated);
      return updated;
    });
  }

  /** UntagResource: removes the named tags; names that are not tags of the key are ignored, as AWS does. */
  public CompletableFuture<KeyRecord> untag(Caller caller, UUID keyId, List<String> tagKeys) {
    return Completions.on(lifecycle, () -> {
      KeyRecord k = fresh(caller, "UntagResource", keyId);
      KeyStateRules.require(Op.MANAGE, k, stores.connected(k));
      List<Tag> next = k.tags().stream().filter(t -> !tagKeys.contains(t.key())).toList();
      store.replaceTags(keyId, next);
      KeyRecord updated = k.withTags(next);
      cache.put(updated);
      return updated;
    });
  }

  /** Rotations and deletions whose time has come; called at start-up and periodically. */
  public CompletableFuture<Void> runDueTasks() {
    return Completions.on(lifecycle, () -> {
      Instant now = now();
      for (KeyRecord k : store.allKeys()) {
        try {
          if (k.state() == KeyState.PENDING_DELETION && k.deletionDate() != null && !k.deletionDate().isAfter(now)) {
            destroy(k);
          } else if (!stores.connected(k)) {
            continue;
          } else if (k.state() == KeyState.ENABLED && k.rotation().enabled() && k.rotation().nextRotation() != null
              && !k.rotation().nextRotation().isAfter(now)) {
            KeyRecord rotated = rotate(k, "AUTOMATIC");
            LOG.info(() -> "key " + k.arn() + " rotated automatically to version " + rotated.currentVersion()
                + "; next rotation " + rotated.rotation().nextRotation());
            events.record("RotateKey", k.arn(), Map.of("keyVersion", rotated.currentVersion(),
                "nextRotationDate", String.valueOf(rotated.rotation().nextRotation())));
          }
        } catch (RuntimeException e) {
          LOG.log(Level.WARNING, "lifecycle task for " + k.arn() + " failed; it is retried at the next run", e);
        }
      }
      return null;
    });
  }

  /**
   * Destroys every version's HSM object, then the metadata (with aliases and tags). A crash between the two is
   * finished at the next run: destroying an object that is already gone is not an error. When the key's store is
   * not connected, the objects to destroy are recorded with the deletion and destroyed at its next connection.
   */
  private void destroy(KeyRecord k) {
    destroyNow(k);
    events.record("DeleteKey", k.arn(), Map.of("deletionDate", String.valueOf(k.deletionDate()),
        "keyStoreId", k.keyStoreId(), "versions", k.versions().size()));
  }

  private void destroyNow(KeyRecord k) {
    if (!stores.connected(k)) {
      store.deleteKeyRecordingDestruction(k.keyId(), k.keyStoreId(), k.versions());
      cache.remove(k.keyId());
      aliases.forgetKey(k.keyId());
      authz.forgetKey(k.keyId());
      LOG.warning(() -> "key " + k.arn() + " deleted at the end of its waiting period; its key store "
          + k.keyStoreId() + " is not connected, so its " + k.versions().size()
          + " HSM objects are destroyed at the next connection");
      return;
    }
    KeyStoreConnection hsm = stores.of(k);
    for (KeyVersion v : k.versions()) {
      HsmKey object = new HsmKey(v.hsmLabel(), v.hsmId());
      Completions.await(hsm.run(ErrorCode.KMS_INVALID_STATE, k.arn(), s -> {
        s.destroy(object);
        return null;
      }));
    }
    store.deleteKey(k.keyId());
    cache.remove(k.keyId());
    aliases.forgetKey(k.keyId());
    authz.forgetKey(k.keyId());
    LOG.warning(() -> "key " + k.arn() + " deleted at the end of its waiting period (" + k.deletionDate()
        + "): its " + k.versions().size() + " HSM objects are destroyed");
  }
}
