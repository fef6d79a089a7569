package io.kmsgw.kms;

import io.kmsgw.async.Completions;
import io.kmsgw.domain.Caller;
import io.kmsgw.domain.Grant;
import io.kmsgw.domain.Grant.Constraints;
import io.kmsgw.domain.KeyRecord;
import io.kmsgw.domain.KeyState;
import io.kmsgw.error.ErrorCode;
import io.kmsgw.error.KmsException;
import io.kmsgw.format.GrantToken;
import io.kmsgw.keystore.KeyStores;
import io.kmsgw.policy.GrantRules;
import io.kmsgw.policy.KeyStateRules;
import io.kmsgw.policy.KeyStateRules.Op;
import io.kmsgw.policy.Principal;
import io.kmsgw.store.MetadataStore;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.logging.Logger;
import java.util.regex.Pattern;

/**
 * Grants: CreateGrant, ListGrants, ListRetirableGrants, RetireGrant, RevokeGrant, and the {@link GrantAuthority}
 * the authorizer asks when no policy allows a request.
 *
 * <p>Every grant is held in memory (key id to an immutable list, replaced whole), so the authorizer reads it on the
 * event loop without a lock or a database read. Changes run on the lifecycle thread, one at a time and serialized
 * with key deletion; each is durable in the store before it is visible in memory. A grant takes effect as soon as
 * CreateGrant answers: there is no eventual consistency, so grant tokens are checked for form and otherwise only
 * name a grant (RetireGrant).
 */
public final class GrantService implements GrantAuthority {
  private static final Logger LOG = Logger.getLogger(GrantService.class.getName());
  /** AWS KMS quota: grants per KMS key. */
  public static final int DEFAULT_MAX_GRANTS_PER_KEY = 50_000;
  private static final Pattern GRANT_ID = Pattern.compile("[0-9a-f]{64}");

  private final KmsSettings settings;
  private final MetadataStore store;
  private final KeyService keys;
  private final KeyStores stores;
  private final Authorizer authz;
  private final Executor lifecycle;
  private final Clock clock;
  private final int maxGrantsPerKey;
  private final SecureRandom random = new SecureRandom();
  private final ConcurrentHashMap<UUID, List<Grant>> byKey = new ConcurrentHashMap<>();

  public GrantService(KmsSettings settings, MetadataStore store, KeyService keys, KeyStores stores, Authorizer authz,
      Executor lifecycle, Clock clock, int maxGrantsPerKey) {
    this.settings = settings;
    this.store = store;
    this.keys = keys;
    this.stores = stores;
    this.authz = authz;
    this.lifecycle = lifecycle;
    this.clock = clock;
    this.maxGrantsPerKey = maxGrantsPerKey;
  }

  /** What CreateGrant asks for, after the API layer has checked it against the model. */
  public record NewGrant(String granteePrincipal, String retiringPrincipal, List<String> operations,
      Constraints constraints, String name, boolean dryRun) {
    public NewGrant {
      operations = List.copyOf(operations);
      constraints = constraints == null ? Constraints.NONE : constraints;
    }
  }

  /** A grant CreateGrant made (or found, for a retry) and a new token for it. */
  public record Created(Grant grant, String grantToken) {}

  /** Loads every grant into memory (at start). */
  public void load() {
    Map<UUID, List<Grant>> all = new HashMap<>();
    for (Grant g : store.allGrants()) {
      all.computeIfAbsent(g.keyId(), k -> new ArrayList<>()).add(g);
    }
    byKey.clear();
    all.forEach((k, list) -> byKey.put(k, List.copyOf(list)));
  }

  // ---- GrantAuthority

  /**
   * A grant on the key whose grantee is the caller (a grant to a role covers its sessions), that lists the operation,
   * and whose constraints the encryption context satisfies. CreateGrant and RetireGrant are never answered here: the
   * grant service decides them with the request in hand ({@link #createGrant}, {@link #retireGrant}).
   */
  @Override
  public boolean allows(KeyRecord key, Caller caller, String operation, Map<String, String> encryptionContext) {
    List<Grant> grants = byKey.get(key.keyId());
    return grants != null && anyAllows(grants, caller, operation, encryptionContext);
  }

  /** Whether one of these grants (of one key) allows the caller this operation with this encryption context. */
  static boolean anyAllows(List<Grant> grants, Caller caller, String operation,
      Map<String, String> encryptionContext) {
    if (operation.equals("CreateGrant") || operation.equals("RetireGrant")) {
      return false;
    }
    Principal p = Principal.of(caller.arn());
    for (Grant g : grants) {
      if (g.operations().contains(operation) && GrantRules.names(g.granteePrincipal(), p)
          && GrantRules.satisfied(g.constraints(), operation, encryptionContext)) {
        return true;
      }
    }
    return false;
  }

  @Override
  public void forgetKey(UUID keyId) {
    byKey.remove(keyId);
  }

  // ---- operations

  /**
   * CreateGrant. Allowed by a policy ({@code kms:CreateGrant}, with {@code kms:GrantOperations},
   * {@code kms:GranteePrincipal}, {@code kms:RetiringPrincipal}, {@code kms:GrantConstraintType} and the constraint
   * pairs as {@code kms:EncryptionContext:*}), or by a grant to the caller that includes CreateGrant and covers the new
   * grant's operations and constraints. A request with a Name that matches an existing grant in every property is a
   * retry: it answers that grant's id, with a new token.
   */
  public CompletableFuture<Created> createGrant(Caller caller, UUID keyId, NewGrant request) {
    GrantRules.checkPrincipal("GranteePrincipal", request.granteePrincipal());
    if (request.retiringPrincipal() != null) {
      GrantRules.checkPrincipal("RetiringPrincipal", request.retiringPrincipal());
    }
    List<String> requested = List.copyOf(new java.util.LinkedHashSet<>(request.operations()));
    Constraints constraints = request.constraints();
    return Completions.on(lifecycle, () -> {
      KeyRecord k = fresh(keyId);
      authz.onKey(caller, "CreateGrant", k, constraintContext(constraints), b -> {
        b.putAll("kms:GrantOperations", requested)
            .put("kms:GranteePrincipal", request.granteePrincipal())
            .put("kms:RetiringPrincipal", request.retiringPrincipal())
            .put("kms:GrantIsForAWSResource", "false");
        List<String> types = new ArrayList<>();
        if (constraints.encryptionContextEquals() != null) {
          types.add("EncryptionContextEquals");
        }
        if (constraints.encryptionContextSubset() != null) {
          types.add("EncryptionContextSubset");
        }
        if (!types.isEmpty()) {
          b.putAll("kms:GrantConstraintType", types);
        }
      }, (key, c, op, ctx) -> parentGrantCovers(key, c, requested, constraints));
      KeyStateRules.require(Op.CREATE_GRANT, k, stores.connected(k));
      List<String> ops = GrantRules.check(k, requested, constraints);
      Grant existing = request.name() == null ? null : retryOf(k.keyId(), request, ops);
      if (existing == null && grantsOf(k.keyId()).size() >= maxGrantsPerKey) {
        throw new KmsException(ErrorCode.LIMIT_EXCEEDED, k.arn() + " has " + maxGrantsPerKey
            + " grants, the most a key may have; retire or revoke some first.");
      }
      dryRunStop(request.dryRun());
      if (existing != null) {
        return new Created(existing, GrantToken.issue(existing.grantId()));
      }
      Grant g = new Grant(k.keyId(), newGrantId(), request.name(), now(), request.granteePrincipal(),
          request.retiringPrincipal(), Principal.rootArn(k.accountId()), ops, constraints);
      if (!store.insertGrant(g)) {
        throw KmsException.notFound(k.arn() + " does not exist.");
      }
      List<Grant> next = new ArrayList<>(grantsOf(k.keyId()));
      next.add(g);
      byKey.put(k.keyId(), List.copyOf(next));
      LOG.info(() -> "grant " + g.grantId() + " on " + k.arn() + " to " + g.granteePrincipal() + " for "
          + g.operations() + " created by " + caller.arn());
      return new Created(g, GrantToken.issue(g.grantId()));
    });
  }

  /** The constraint pairs, as the encryption context condition keys of a CreateGrant request see them. */
  private static Map<String, String> constraintContext(Constraints c) {
    Map<String, String> pairs = new LinkedHashMap<>();
    if (c.encryptionContextSubset() != null) {
      pairs.putAll(c.encryptionContextSubset());
    }
    if (c.encryptionContextEquals() != null) {
      pairs.putAll(c.encryptionContextEquals());
    }
    return pairs;
  }

  private boolean parentGrantCovers(KeyRecord key, Caller caller, List<String> ops, Constraints constraints) {
    Principal p = Principal.of(caller.arn());
    for (Grant g : grantsOf(key.keyId())) {
      if (GrantRules.names(g.granteePrincipal(), p) && GrantRules.covers(g, ops, constraints)) {
        return true;
      }
    }
    return false;
  }

  private Grant retryOf(UUID keyId, NewGrant r, List<String> ops) {
    for (Grant g : grantsOf(keyId)) {
      if (r.name().equals(g.name()) && r.granteePrincipal().equals(g.granteePrincipal())
          && java.util.Objects.equals(r.retiringPrincipal(), g.retiringPrincipal())
          && new HashSet<>(ops).equals(new HashSet<>(g.operations()))
          && r.constraints().equals(g.constraints())) {
        return g;
      }
    }
    return null;
  }

  /**
   * ListGrants: the key's grants, oldest first, optionally only the one with {@code grantId} or only those to
   * {@code granteePrincipal}. Works in every key state.
   */
  public CompletableFuture<List<Grant>> listGrants(Caller caller, UUID keyId, String grantId,
      String granteePrincipal) {
    if (grantId != null) {
      checkGrantId(grantId);
    }
    return keys.lookup(keyId).thenApply(k -> {
      authz.onKey(caller, "ListGrants", k, null);
      KeyStateRules.require(Op.GRANTS, k, stores.connected(k));
      return grantsOf(k.keyId()).stream()
          .filter(g -> grantId == null || g.grantId().equals(grantId))
          .filter(g -> granteePrincipal == null || g.granteePrincipal().equals(granteePrincipal))
          .toList();
    });
  }

  /**
   * ListRetirableGrants: every grant whose retiring principal is {@code retiringPrincipal} (a principal of the
   * caller's account), oldest first. Needs {@code kms:ListRetirableGrants} from the caller's IAM policies.
   */
  public CompletableFuture<List<Grant>> listRetirableGrants(Caller caller, String retiringPrincipal) {
    GrantRules.checkPrincipal("RetiringPrincipal", retiringPrincipal);
    authz.onAccount(caller, "kms:ListRetirableGrants", "*", null);
    if (!Authorizer.internal(caller) && !Principal.of(retiringPrincipal).account().equals(caller.accountId())) {
      throw new KmsException(ErrorCode.ACCESS_DENIED, "User: " + caller.arn() + " is not authorized to list the "
          + "retirable grants of " + retiringPrincipal + ": name a principal of your own account.");
    }
    List<Grant> out = new ArrayList<>();
    for (List<Grant> grants : byKey.values()) {
      for (Grant g : grants) {
        if (retiringPrincipal.equals(g.retiringPrincipal())) {
          out.add(g);
        }
      }
    }
    out.sort(Comparator.comparing(Grant::createdAt).thenComparing(Grant::grantId));
    return CompletableFuture.completedFuture(List.copyOf(out));
  }

  /**
   * RetireGrant, naming the grant by its token or by key and grant id. The grant's retiring principal may retire it,
   * and its grantee when the grant includes RetireGrant; anyone else needs {@code kms:RetireGrant} from a policy
   * (the key's account has it through the default key policy). An explicit Deny in a policy wins over the grant.
   *
   * @param keyId the key, or null when the token names the grant
   */
  public CompletableFuture<Void> retireGrant(Caller caller, String grantToken, UUID keyId, String grantId,
      boolean dryRun) {
    String id;
    if (grantToken != null) {
      id = GrantToken.grantId(grantToken);
      if (grantId != null && !grantId.equals(id)) {
        throw KmsException.validation("The GrantToken and the GrantId name different grants.");
      }
    } else {
      if (grantId == null || keyId == null) {
        throw KmsException.validation("Name the grant to retire with a GrantToken, or with a KeyId and a GrantId.");
      }
      checkGrantId(grantId);
      id = grantId;
    }
    return Completions.on(lifecycle, () -> {
      Grant g = find(keyId, id);
      KeyRecord k = fresh(g.keyId());
      authz.onKey(caller, "RetireGrant", k, null, b -> b.put("kms:GrantIsForAWSResource", "false"),
          (key, c, op, ctx) -> mayRetire(g, c));
      KeyStateRules.require(Op.GRANTS, k, stores.connected(k));
      dryRunStop(dryRun);
      delete(g);
      LOG.info(() -> "grant " + g.grantId() + " on " + k.arn() + " retired by " + caller.arn());
      return null;
    });
  }

  private static boolean mayRetire(Grant g, Caller caller) {
    Principal p = Principal.of(caller.arn());
    return GrantRules.names(g.retiringPrincipal(), p)
        || (g.operations().contains("RetireGrant") && GrantRules.names(g.granteePrincipal(), p));
  }

  /** RevokeGrant: needs {@code kms:RevokeGrant} on the key from a policy. */
  public CompletableFuture<Void> revokeGrant(Caller caller, UUID keyId, String grantId, boolean dryRun) {
    checkGrantId(grantId);
    return Completions.on(lifecycle, () -> {
      KeyRecord k = fresh(keyId);
      authz.onKey(caller, "RevokeGrant", k, null);
      KeyStateRules.require(Op.GRANTS, k, stores.connected(k));
      Grant g = find(keyId, grantId);
      dryRunStop(dryRun);
      delete(g);
      LOG.info(() -> "grant " + g.grantId() + " on " + k.arn() + " revoked by " + caller.arn());
      return null;
    });
  }

  // ---- helpers

  /** The grants of a key as they are now (an immutable list, possibly empty). */
  public List<Grant> grantsOf(UUID keyId) {
    List<Grant> grants = byKey.get(keyId);
    return grants == null ? List.of() : grants;
  }

  /** The grant with this id (on this key, when given); NotFoundException otherwise. */
  private Grant find(UUID keyId, String grantId) {
    if (keyId != null) {
      for (Grant g : grantsOf(keyId)) {
        if (g.grantId().equals(grantId)) {
          return g;
        }
      }
    } else {
      for (List<Grant> grants : byKey.values()) {
        for (Grant g : grants) {
          if (g.grantId().equals(grantId)) {
            return g;
          }
        }
      }
    }
    throw KmsException.notFound("Grant " + grantId + " does not exist"
        + (keyId == null ? "." : " on " + KeyRecord.arn(settings.region(), settings.accountId(), keyId) + "."));
  }

  private void delete(Grant g) {
    if (!store.deleteGrant(g.keyId(), g.grantId())) {
      throw KmsException.notFound("Grant " + g.grantId() + " does not exist.");
    }
    List<Grant> next = new ArrayList<>(grantsOf(g.keyId()));
    next.removeIf(x -> x.grantId().equals(g.grantId()));
    if (next.isEmpty()) {
      byKey.remove(g.keyId());
    } else {
      byKey.put(g.keyId(), List.copyOf(next));
    }
  }

  /** The key as the store has it now (on the lifecycle thread, so no key change interleaves). */
  private KeyRecord fresh(UUID keyId) {
    KeyRecord k = store.findKey(keyId).orElse(null);
    if (k == null || k.state() == KeyState.CREATING) {
      throw KmsException.notFound(KeyRecord.arn(settings.region(), settings.accountId(), keyId) + " does not exist.");
    }
    return k;
  }

  /** Grant ids are what CreateGrant makes: 64 lower-case hex characters. */
  static void checkGrantId(String grantId) {
    if (!GRANT_ID.matcher(grantId).matches()) {
      throw new KmsException(ErrorCode.INVALID_GRANT_ID, "The GrantId is not valid: grant ids are the 64 hex "
          + "characters CreateGrant returns.");
    }
  }

  private String newGrantId() {
    byte[] b = new byte[32];
    random.nextBytes(b);
    return java.util.HexFormat.of().formatHex(b);
  }

  private Instant now() {
    return clock.instant().truncatedTo(ChronoUnit.MILLIS);
  }

  private static void dryRunStop(boolean dryRun) {
    if (dryRun) {
      throw new KmsException(ErrorCode.DRY_RUN_OPERATION,
          "The request would have succeeded, but the DryRun parameter was set.");
    }
  }
}
