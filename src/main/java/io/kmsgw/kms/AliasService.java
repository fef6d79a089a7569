package io.kmsgw.kms;

import io.kmsgw.async.Completions;
import io.kmsgw.domain.Alias;
import io.kmsgw.domain.Caller;
import io.kmsgw.domain.KeyRecord;
import io.kmsgw.error.ErrorCode;
import io.kmsgw.error.KmsException;
import io.kmsgw.keystore.KeyStores;
import io.kmsgw.policy.KeyStateRules;
import io.kmsgw.policy.KeyStateRules.Op;
import io.kmsgw.store.MetadataStore;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Base64;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;

/**
 * Aliases: {@code alias/<name>} pointing at one key of the account. Held in memory as well as in the store, so
 * that crypto calls naming an alias do no database read. Changes run on the lifecycle thread with the key changes.
 */
public final class AliasService {
  /** AWS reserves this prefix for AWS managed keys. */
  static final String RESERVED_PREFIX = "alias/aws/";
  private static final String MARKER_PREFIX = "a1:";

  private final KmsSettings settings;
  private final MetadataStore store;
  private final KeyReads keys;
  private final KeyStores stores;
  private final Executor lifecycle;
  private final Executor storeExecutor;
  private final Clock clock;
  private final ConcurrentHashMap<String, Alias> byName = new ConcurrentHashMap<>();

  /** How the alias service reads keys (the key service's lookup). */
  @FunctionalInterface
  public interface KeyReads {
    CompletableFuture<KeyRecord> lookup(UUID keyId);
  }

  private final Authorizer authz;

  public AliasService(KmsSettings settings, MetadataStore store, KeyReads keys, KeyStores stores,
      Executor lifecycle, Executor storeExecutor, Clock clock, Authorizer authz) {
    this.authz = authz;
    this.settings = settings;
    this.store = store;
    this.keys = keys;
    this.stores = stores;
    this.lifecycle = lifecycle;
    this.storeExecutor = storeExecutor;
    this.clock = clock;
  }

  /** Loads every alias of the account into memory (at start). */
  public void load() {
    byName.clear();
    String after = null;
    while (true) {
      List<Alias> page = store.listAliases(settings.accountId(), null, after, 1000);
      page.forEach(a -> byName.put(a.name(), a));
      if (page.size() < 1000) {
        return;
      }
      after = page.get(page.size() - 1).name();
    }
  }

  /** The key an alias names; NotFoundException if there is no such alias. */
  public UUID resolve(String aliasName) {
    Alias a = byName.get(aliasName);
    if (a == null) {
      throw KmsException.notFound("Alias " + arn(aliasName) + " is not found.");
    }
    return a.targetKeyId();
  }

  /** The names of a key's aliases (kms:ResourceAliases), from memory. */
  public List<String> namesOf(UUID keyId) {
    List<String> names = new java.util.ArrayList<>();
    for (Alias a : byName.values()) {
      if (a.targetKeyId().equals(keyId)) {
        names.add(a.name());
      }
    }
    return names;
  }

  /**
   * AWS checks alias operations twice: the caller's IAM policies on the alias, and the key policy of each key the
   * alias points to (or will).
   */
  private void authorizeAlias(Caller caller, String operation, String name, KeyRecord... keysInvolved) {
    authz.onAccount(caller, "kms:" + operation, arn(name), null);
    for (KeyRecord k : keysInvolved) {
      authz.onKey(caller, operation, k, null);
    }
  }

  String arn(String aliasName) {
    return "arn:aws:kms:" + settings.region() + ":" + settings.accountId() + ":"
        + (aliasName.length() > 300 ? aliasName.substring(0, 300) + "..." : aliasName);
  }

  private static void checkName(String name) {
    if (!name.startsWith("alias/") || name.length() == "alias/".length()) {
      throw new KmsException(ErrorCode.INVALID_ALIAS_NAME, "Alias names must begin with alias/ followed by a name.");
    }
    if (name.startsWith(RESERVED_PREFIX)) {
      throw new KmsException(ErrorCode.INVALID_ALIAS_NAME,
          "Alias names beginning with alias/aws/ are reserved for AWS managed keys.");
    }
  }

  private Instant now() {
    return clock.instant().truncatedTo(ChronoUnit.MILLIS);
  }

  public CompletableFuture<Alias> create(Caller caller, String name, UUID targetKeyId) {
    checkName(name);
    return keys.lookup(targetKeyId).thenCompose(target -> Completions.on(lifecycle, () -> {
      authorizeAlias(caller, "CreateAlias", name, target);
      KeyStateRules.require(Op.MANAGE, target, stores.connected(target));
      Instant now = now();
      Alias alias = new Alias(settings.accountId(), name, targetKeyId, now, now);
      if (!store.insertAlias(alias)) {
        throw new KmsException(ErrorCode.ALREADY_EXISTS, "An alias with the name " + arn(name) + " already exists.");
      }
      byName.put(name, alias);
      return alias;
    }));
  }

  /**
   * UpdateAlias: the new key must be usable as an alias target (not pending deletion), of the same type (symmetric
   * encryption, asymmetric or HMAC) and of the same key usage as the current one, as AWS requires (UpdateAlias: "The
   * current and new KMS key must be the same type ... and they must have the same key usage"); the key specs may
   * differ (an ECC_NIST_P256 signing key may replace an RSA_2048 one). The current one may be pending deletion.
   */
  public CompletableFuture<Alias> update(Caller caller, String name, UUID newTargetKeyId) {
    checkName(name);
    Alias current = byName.get(name);
    if (current == null) {
      throw KmsException.notFound("Alias " + arn(name) + " is not found.");
    }
    return keys.lookup(newTargetKeyId).thenCombine(keys.lookup(current.targetKeyId()), (target, old) -> {
      authorizeAlias(caller, "UpdateAlias", name, old, target);
      KeyStateRules.require(Op.ALIAS_TARGET, target, stores.connected(target));
      if (!keyType(target).equals(keyType(old)) || !target.keyUsage().equals(old.keyUsage())) {
        throw KmsException.validation("The new key must be of the same type (" + keyType(old) + ") and have the same "
            + "KeyUsage (" + old.keyUsage() + ") as the key the alias points to now.");
      }
      return target;
    }).thenCompose(target -> Completions.on(lifecycle, () -> {
      Alias updated = new Alias(current.accountId(), name, newTargetKeyId, current.createdAt(), now());
      if (!store.updateAlias(updated)) {
        throw KmsException.notFound("Alias " + arn(name) + " is not found.");
      }
      byName.put(name, updated);
      return updated;
    }));
  }

  /** AWS's key types as UpdateAlias compares them. */
  private static String keyType(KeyRecord key) {
    if (key.keySpec().asymmetric()) {
      return "asymmetric";
    }
    return key.keySpec().family() == io.kmsgw.domain.KeySpec.Family.HMAC ? "HMAC" : "symmetric encryption";
  }

  public CompletableFuture<Void> delete(Caller caller, String name) {
    checkName(name);
    Alias current = byName.get(name);
    if (current == null) {
      throw KmsException.notFound("Alias " + arn(name) + " is not found.");
    }
    return keys.lookup(current.targetKeyId()).thenCompose(target -> Completions.on(lifecycle, () -> {
      authorizeAlias(caller, "DeleteAlias", name, target);
      if (!store.deleteAlias(settings.accountId(), name)) {
        throw KmsException.notFound("Alias " + arn(name) + " is not found.");
      }
      byName.remove(name);
      return null;
    }));
  }

  /** The key was deleted: its aliases went with it in the store. */
  void forgetKey(UUID keyId) {
    byName.values().removeIf(a -> a.targetKeyId().equals(keyId));
  }

  /** One page of ListAliases. */
  public record Page(List<Alias> aliases, String nextMarker) {}

  public CompletableFuture<Page> list(Caller caller, UUID keyId, String marker, int limit) {
    authz.onAccount(caller, "kms:ListAliases", "*", null);
    String after = decodeMarker(marker);
    return Completions.on(storeExecutor, () -> {
      List<Alias> raw = store.listAliases(settings.accountId(), keyId, after, limit + 1);
      boolean truncated = raw.size() > limit;
      List<Alias> page = truncated ? raw.subList(0, limit) : raw;
      return new Page(List.copyOf(page), truncated ? encodeMarker(page.get(limit - 1).name()) : null);
    });
  }

  static String encodeMarker(String lastName) {
    return Base64.getUrlEncoder().withoutPadding()
        .encodeToString((MARKER_PREFIX + lastName).getBytes(StandardCharsets.UTF_8));
  }

  static String decodeMarker(String marker) {
    if (marker == null) {
      return null;
    }
    try {
      String s = new String(Base64.getUrlDecoder().decode(marker), StandardCharsets.UTF_8);
      if (s.startsWith(MARKER_PREFIX + "alias/")) {
        return s.substring(MARKER_PREFIX.length());
      }
    } catch (IllegalArgumentException e) {
      // falls through
    }
    throw new KmsException(ErrorCode.INVALID_MARKER, "The Marker is not one that ListAliases returned.");
  }

}
