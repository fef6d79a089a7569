package io.kmsgw.kms;

import io.kmsgw.async.Completions;
import io.kmsgw.domain.Caller;
import io.kmsgw.domain.KeyRecord;
import io.kmsgw.domain.KeyRotation;
import io.kmsgw.domain.KeySpec;
import io.kmsgw.domain.KeySpecTable;
import io.kmsgw.domain.KeyState;
import io.kmsgw.domain.KeyUsage;
import io.kmsgw.domain.KeyVersion;
import io.kmsgw.domain.Origin;
import io.kmsgw.domain.Tag;
import io.kmsgw.error.ErrorCode;
import io.kmsgw.error.KmsException;
import io.kmsgw.hsm.HsmKey;
import io.kmsgw.keystore.KeyStoreConnection;
import io.kmsgw.keystore.KeyStores;
import io.kmsgw.policy.KeyStateRules;
import io.kmsgw.policy.PolicyDocument;
import io.kmsgw.policy.RequestContext;
import io.kmsgw.policy.TagRules;
import io.kmsgw.store.MetadataStore;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Key management operations: CreateKey, DescribeKey, ListKeys, and looking keys up for the crypto operations.
 *
 * <p>CreateKey is crash-safe. It commits a {@code Creating} row first (never shown by the API), then generates the
 * material in the HSM, then commits the row as {@code Enabled} and only then answers. A crash between any two steps
 * leaves a {@code Creating} row that {@link Reconciler} rolls back at the next start (destroying the HSM object if
 * it was made): no client ever received that key's id, so nothing usable is lost and nothing unusable is shown.
 */
public final class KeyService {
  private static final Logger LOG = Logger.getLogger(KeyService.class.getName());
  private static final String MARKER_PREFIX = "k1:";

  private final KmsSettings settings;
  private final MetadataStore store;
  private final KeyCache cache;
  private final KeyStores stores;
  private final Executor storeExecutor;
  private final Clock clock;
  private final int keyQuota;
  private final Authorizer authz;
  private final Object quotaLock = new Object();
  /** Keys this process is creating now: their {@code Creating} rows are not the leftovers of a killed process. */
  private final java.util.Set<UUID> creatingHere = java.util.concurrent.ConcurrentHashMap.newKeySet();

  /**
   * @param clock the lifecycle clock (creation dates)
   * @param keyQuota keys per account, those pending deletion included (AWS's default quota is 1000)
   */
  public KeyService(KmsSettings settings, MetadataStore store, KeyCache cache, KeyStores stores,
      Executor storeExecutor, Clock clock, int keyQuota, Authorizer authz) {
    this.keyQuota = keyQuota;
    this.authz = authz;
    this.settings = settings;
    this.store = store;
    this.cache = cache;
    this.stores = stores;
    this.storeExecutor = storeExecutor;
    this.clock = clock;
  }

  /**
   * What CreateKey asks for, after the API layer has checked the request against the model.
   *
   * @param policy the key policy, or null for the AWS default key policy
   */
  public record NewKey(String description, KeySpec keySpec, KeyUsage keyUsage, Origin origin, List<Tag> tags,
      String customKeyStoreId, boolean multiRegion, String policy, boolean bypassPolicyLockoutSafetyCheck) {
    public NewKey(String description, KeySpec keySpec, KeyUsage keyUsage, Origin origin, List<Tag> tags,
        String customKeyStoreId, boolean multiRegion) {
      this(description, keySpec, keyUsage, origin, tags, customKeyStoreId, multiRegion, null, false);
    }
  }

  public Authorizer authorizer() {
    return authz;
  }

  public CompletableFuture<KeyRecord> createKey(Caller caller, NewKey request) {
    if (!Authorizer.internal(caller) && !caller.accountId().equals(settings.accountId())) {
      throw new KmsException(ErrorCode.UNSUPPORTED_OPERATION, "kmsgw keeps KMS keys in its own account "
          + settings.accountId() + "; principals of account " + caller.accountId() + " can use keys whose key "
          + "policy allows them but cannot create keys.");
    }
    authz.onAccount(caller, "kms:CreateKey", "*", b -> b
        .put("kms:KeySpec", request.keySpec().name())
        .put("kms:KeyUsage", request.keyUsage().name())
        .put("kms:KeyOrigin", request.origin().name())
        .put("kms:BypassPolicyLockoutSafetyCheck", Boolean.toString(request.bypassPolicyLockoutSafetyCheck())));
    // parsed only for a caller who may create keys
    PolicyDocument policy = request.policy() == null ? null : KeyPolicies.parse(request.policy());
    checkCreatable(request);
    KeyStoreConnection target;
    String keyStoreId;
    Origin origin;
    if (request.customKeyStoreId() != null) {
      target = stores.custom(request.customKeyStoreId()).orElseThrow(() -> new KmsException(
          ErrorCode.CUSTOM_KEY_STORE_NOT_FOUND, "Custom key store " + request.customKeyStoreId() + " does not exist."));
      if (!target.isConnected()) {
        throw new KmsException(ErrorCode.CUSTOM_KEY_STORE_INVALID_STATE, "The custom key store "
            + request.customKeyStoreId() + " is " + target.status().state() + "; keys can be created only in a "
            + "CONNECTED key store.");
      }
      keyStoreId = request.customKeyStoreId();
      origin = Origin.AWS_CLOUDHSM;
    } else {
      target = stores.defaultStore();
      target.hsm(ErrorCode.DEPENDENCY_TIMEOUT);
      keyStoreId = KeyRecord.DEFAULT_KEY_STORE;
      origin = request.origin() == Origin.EXTERNAL ? Origin.EXTERNAL : Origin.AWS_KMS;
    }
    // a spec the store's token cannot hold is refused before anything is written (UnsupportedOperationException)
    for (io.kmsgw.hsm.Capability needed : KeyMaterial.required(request.keySpec(), request.keyUsage())) {
      target.require(needed);
    }
    UUID keyId = UUID.randomUUID();
    Instant now = clock.instant().truncatedTo(ChronoUnit.MILLIS);
    String label = HsmLabels.label(keyId, 1);
    byte[] hsmId = HsmLabels.id(keyId, 1);
    KeyRecord creating = new KeyRecord(keyId, settings.accountId(), settings.region(), now,
        request.description() == null ? "" : request.description(), KeyState.CREATING, request.keyUsage(),
        request.keySpec(), origin, keyStoreId, 1, null, 0, KeyRotation.DISABLED,
        List.of(new KeyVersion(1, label, hsmId, now, null)), request.tags());
    String arn = creating.arn();
    String policyText = policy == null ? KeyPolicies.defaultPolicy(creating.accountId()) : policy.source();
    PolicyDocument effective = policy == null ? authz.policies().of(creating) : policy;
    if (policy != null && !request.bypassPolicyLockoutSafetyCheck()
        && !authz.keepsPutKeyPolicy(caller, creating, policy)) {
      throw new KmsException(ErrorCode.MALFORMED_POLICY_DOCUMENT, KeyPolicies.LOCKOUT_MESSAGE);
    }

    if (origin == Origin.EXTERNAL) {
      // no material yet: the key is PendingImport until ImportKeyMaterial (nothing in the HSM to roll back)
      KeyRecord pending = creating.withState(KeyState.PENDING_IMPORT);
      return Completions.on(storeExecutor, () -> {
        insertWithinQuota(pending, policyText);
        authz.policies().put(keyId, effective);
        cache.put(pending);
        LOG.info(() -> "created key " + arn + " for imported material, for " + caller.arn());
        return pending;
      });
    }
    creatingHere.add(keyId);
    // the generation call of this request, once queued: a rollback waits for its worker to be done with it, since a
    // call that outlived its timeout may still create the object after the request failed
    java.util.concurrent.atomic.AtomicReference<CompletableFuture<Void>> generation =
        new java.util.concurrent.atomic.AtomicReference<>(CompletableFuture.completedFuture(null));
    return Completions.on(storeExecutor, () -> {
          insertWithinQuota(creating, policyText);
          // in memory before the key becomes visible; a key in Creating is invisible to every request
          authz.policies().put(keyId, effective);
          return creating;
        })
        .thenCompose(k -> {
          io.kmsgw.keystore.HsmWorkers.Tracked<HsmKey> call =
              target.runTracked(ErrorCode.DEPENDENCY_TIMEOUT, null,
                  s -> KeyMaterial.generate(s, request.keySpec(), request.keyUsage(), label, hsmId));
          generation.set(call.ended());
          return call.answer();
        })
        .thenCompose(generated -> Completions.on(storeExecutor, () -> {
          if (!store.updateKeyState(keyId, KeyState.CREATING, KeyState.ENABLED)) {
            throw KmsException.internal("CreateKey lost its metadata row for " + arn, null);
          }
          KeyRecord enabled = creating.withState(KeyState.ENABLED);
          cache.put(enabled);
          LOG.info(() -> "created key " + arn + " (HSM object " + label + ") for " + caller.arn());
          return enabled;
        }))
        .whenComplete((ok, failure) -> {
          if (failure != null) {
            generation.get().whenComplete((x, y) ->
                rollBack(target, creating, new HsmKey(label, hsmId), Completions.unwrap(failure)));
          } else {
            creatingHere.remove(keyId);
          }
        });
  }

  private void insertWithinQuota(KeyRecord key, String policyText) {
    // counting and inserting under one lock: two CreateKey calls cannot both take the last slot
    synchronized (quotaLock) {
      if (store.countKeys(settings.accountId()) >= keyQuota) {
        throw new KmsException(ErrorCode.LIMIT_EXCEEDED, "The account " + settings.accountId() + " has "
            + keyQuota + " KMS keys in " + settings.region() + ", the most it may have (keys pending deletion "
            + "count). Schedule unused keys for deletion or raise limits.keys_per_account.");
      }
      store.insertKey(key, policyText);
    }
  }

  /** Whether this process is creating the key now (its {@code Creating} row is not a killed process's). */
  public boolean isCreatingHere(UUID keyId) {
    return creatingHere.contains(keyId);
  }

  /** Undoes a CreateKey that failed halfway; what cannot be undone now is left to the reconciler. */
  private void rollBack(KeyStoreConnection target, KeyRecord creating, HsmKey object, Throwable cause) {
    LOG.log(Level.WARNING, "CreateKey of " + creating.keyId() + " failed; rolling back: " + cause.getMessage());
    Completions.on(target.executor(), () -> {
      try {
        target.hsm(ErrorCode.KMS_INTERNAL).withSession(s -> {
          s.destroy(object);
          return null;
        });
      } catch (Exception e) {
        LOG.warning(() -> "rollback of " + creating.keyId() + ": could not destroy " + object.label()
            + " now (" + e.getMessage() + "); the next start will");
        return false;
      }
      return true;
    }).thenAccept(destroyed -> {
      if (destroyed) {
        Completions.on(storeExecutor, () -> store.deleteKey(creating.keyId()))
            .whenComplete((r, e) -> creatingHere.remove(creating.keyId()));
      } else {
        // left to the reconciler, at the next connection of the store
        creatingHere.remove(creating.keyId());
      }
    });
  }

  private void checkCreatable(NewKey r) {
    TagRules.check(r.tags());
    if (r.multiRegion()) {
      throw new KmsException(ErrorCode.UNSUPPORTED_OPERATION, "Multi-Region keys are not supported by kmsgw.");
    }
    // AWS: a key in a CloudHSM key store has Origin AWS_CLOUDHSM, and that origin needs a CustomKeyStoreId
    if (r.customKeyStoreId() != null && r.origin() != Origin.AWS_CLOUDHSM) {
      throw KmsException.validation("A key in a custom key store needs Origin AWS_CLOUDHSM.");
    }
    if (r.customKeyStoreId() == null && r.origin() == Origin.AWS_CLOUDHSM) {
      throw KmsException.validation("Origin AWS_CLOUDHSM needs a CustomKeyStoreId.");
    }
    if (r.origin() == Origin.EXTERNAL && r.keySpec().family() == KeySpec.Family.EDWARDS) {
      throw PrivateKeyMaterial.edwardsRefused(r.keySpec());
    }
    if (r.origin() != Origin.AWS_KMS && r.origin() != Origin.AWS_CLOUDHSM && r.origin() != Origin.EXTERNAL) {
      throw new KmsException(ErrorCode.UNSUPPORTED_OPERATION, "Origin " + r.origin() + " is not supported yet; "
          + "only AWS_KMS (material generated in the HSM) and EXTERNAL (material imported into the HSM).");
    }
    if (KeySpecTable.row(r.keySpec(), r.keyUsage()).isEmpty()) {
      throw KmsException.validation("KeyUsage " + r.keyUsage() + " is not compatible with KeySpec " + r.keySpec()
          + "; use " + KeySpecTable.usages(r.keySpec()).stream().map(Enum::name)
              .collect(java.util.stream.Collectors.joining(" or ")) + ".");
    }
    KeySpecTable.refusal(r.keySpec()).ifPresent(why -> {
      throw new KmsException(ErrorCode.UNSUPPORTED_OPERATION, why);
    });
  }

  /**
   * The key, once the caller may run {@code operation} on it: {@link #lookup(UUID)}, then the key policy, the
   * caller's IAM policies and grants (AccessDeniedException).
   *
   * @param encryptionContext the request's encryption context, or null for operations without one
   */
  public CompletableFuture<KeyRecord> lookup(Caller caller, String operation, UUID keyId,
      Map<String, String> encryptionContext) {
    return lookup(caller, operation, keyId, encryptionContext, null);
  }

  /** {@link #lookup(Caller, String, UUID, Map)} with operation-specific condition keys. */
  public CompletableFuture<KeyRecord> lookup(Caller caller, String operation, UUID keyId,
      Map<String, String> encryptionContext, java.util.function.Consumer<RequestContext.Builder> extra) {
    return lookup(keyId).thenApply(key -> {
      authz.onKey(caller, operation, key, encryptionContext, extra);
      return key;
    });
  }

  /**
   * The key with this id, from the cache or else the store; NotFoundException if there is none (keys still
   * being created do not exist as far as clients can tell).
   */
  public CompletableFuture<KeyRecord> lookup(UUID keyId) {
    KeyRecord cached = cache.get(keyId);
    if (cached != null) {
      return CompletableFuture.completedFuture(visible(cached, keyId));
    }
    return Completions.on(storeExecutor, () -> {
      KeyRecord found = store.findKey(keyId).orElse(null);
      if (found != null && found.state() != KeyState.CREATING) {
        cache.put(found);
      }
      return visible(found, keyId);
    });
  }

  private KeyRecord visible(KeyRecord key, UUID keyId) {
    if (key == null || key.state() == KeyState.CREATING) {
      throw KmsException.notFound(KeyRecord.arn(settings.region(), settings.accountId(), keyId) + " does not exist.");
    }
    return key;
  }

  /** The key's state as clients see it now (Unavailable while its key store is not connected). */
  public KeyState effectiveState(KeyRecord key) {
    return KeyStateRules.effectiveState(key, stores.connected(key));
  }

  public boolean keyStoreConnected(KeyRecord key) {
    return stores.connected(key);
  }

  /** One page of ListKeys. */
  public record Page(List<KeyRecord> keys, String nextMarker) {}

  public CompletableFuture<Page> listKeys(Caller caller, String marker, int limit) {
    authz.onAccount(caller, "kms:ListKeys", "*", null);
    String after = decodeMarker(marker);
    return Completions.on(storeExecutor, () -> {
      List<KeyRecord> raw = store.listKeys(settings.accountId(), after, limit + 1);
      boolean truncated = raw.size() > limit;
      List<KeyRecord> page = new ArrayList<>();
      for (int i = 0; i < Math.min(limit, raw.size()); i++) {
        if (raw.get(i).state() != KeyState.CREATING) {
          page.add(raw.get(i));
        }
      }
      String next = truncated ? encodeMarker(raw.get(limit - 1).keyId().toString()) : null;
      return new Page(page, next);
    });
  }

  static String encodeMarker(String lastKeyId) {
    return Base64.getUrlEncoder().withoutPadding()
        .encodeToString((MARKER_PREFIX + lastKeyId).getBytes(StandardCharsets.UTF_8));
  }

  static String decodeMarker(String marker) {
    if (marker == null) {
      return null;
    }
    try {
      String s = new String(Base64.getUrlDecoder().decode(marker), StandardCharsets.UTF_8);
      if (s.startsWith(MARKER_PREFIX)) {
        String id = s.substring(MARKER_PREFIX.length());
        if (UUID.fromString(id).toString().equals(id)) {
          return id;
        }
      }
    } catch (IllegalArgumentException e) {
      // falls through to the error below
    }
    throw new KmsException(ErrorCode.INVALID_MARKER, "The Marker is not one that ListKeys returned.");
  }
}
