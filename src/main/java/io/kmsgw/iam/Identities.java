package io.kmsgw.iam;

import io.kmsgw.auth.AccessKey;
import io.kmsgw.auth.CredentialStore;
import io.kmsgw.domain.Caller;
import io.kmsgw.error.ErrorCode;
import io.kmsgw.error.KmsException;
import io.kmsgw.policy.IdentityPolicies;
import io.kmsgw.policy.PolicyDocument;
import java.time.Instant;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.function.UnaryOperator;

/**
 * Every identity the gateway knows, in memory: the account roots (from configuration), IAM users and roles with
 * their inline policies, users' access keys and STS sessions. Readers (the signature check and policy evaluation,
 * on the event loop, for every request) take one immutable {@link State} from a volatile field: no lock, no I/O.
 * Writers (the identity services, one at a time through a serial executor) publish a new state after the durable
 * write.
 */
public final class Identities implements CredentialStore, IdentityPolicies {
  /** An inline policy as submitted and as parsed. */
  public record Policy(String name, PolicyDocument document) {}

  public record User(String userId, String accountId, String name, String path, Instant createdAt,
      SortedMap<String, Policy> policies) {
    public User {
      policies = Collections.unmodifiableSortedMap(new TreeMap<>(policies));
    }

    public String arn() {
      return "arn:aws:iam::" + accountId + ":user" + path + name;
    }

    User withPolicies(SortedMap<String, Policy> p) {
      return new User(userId, accountId, name, path, createdAt, p);
    }
  }

  public record Role(String roleId, String accountId, String name, String path, PolicyDocument trustPolicy,
      String description, int maxSessionSeconds, Instant createdAt, SortedMap<String, Policy> policies) {
    public Role {
      policies = Collections.unmodifiableSortedMap(new TreeMap<>(policies));
    }

    public String arn() {
      return "arn:aws:iam::" + accountId + ":role" + path + name;
    }

    Role withPolicies(SortedMap<String, Policy> p) {
      return new Role(roleId, accountId, name, path, trustPolicy, description, maxSessionSeconds, createdAt, p);
    }
  }

  /**
   * A user's access key. {@code credential} is null until its sealed secret has been unsealed (the HSM that seals
   * secrets had not connected yet).
   */
  public record UserKey(String accessKeyId, String userId, String status, Instant createdAt, byte[] sealedSecret,
      AccessKey credential) {}

  /** An STS session; {@code credential} as for {@link UserKey}. */
  public record Session(String accessKeyId, String accountId, String roleId, String sessionName, Instant createdAt,
      Instant expiresAt, byte[] tokenHash, byte[] sealedSecret, String sourceArn, AccessKey credential) {}

  /** One consistent view of every identity. Maps are never changed once published. */
  public record State(Map<String, User> users, Map<String, Role> roles, Map<String, UserKey> keys,
      Map<String, Session> sessions, boolean unsealed) {
    static final State EMPTY = new State(Map.of(), Map.of(), Map.of(), Map.of(), false);

    /** The user of that name in the account (names are unique without regard to case). */
    public Optional<User> user(String accountId, String name) {
      for (User u : users.values()) {
        if (u.accountId().equals(accountId) && u.name().equalsIgnoreCase(name)) {
          return Optional.of(u);
        }
      }
      return Optional.empty();
    }

    public Optional<Role> role(String accountId, String name) {
      for (Role r : roles.values()) {
        if (r.accountId().equals(accountId) && r.name().equalsIgnoreCase(name)) {
          return Optional.of(r);
        }
      }
      return Optional.empty();
    }

    /** The keys of a user, oldest first. */
    public List<UserKey> keysOf(String userId) {
      return keys.values().stream().filter(k -> k.userId().equals(userId))
          .sorted(java.util.Comparator.comparing(UserKey::createdAt).thenComparing(UserKey::accessKeyId)).toList();
    }

    State with(Map<String, User> u, Map<String, Role> r, Map<String, UserKey> k, Map<String, Session> s) {
      return new State(Map.copyOf(u), Map.copyOf(r), Map.copyOf(k), Map.copyOf(s), unsealed);
    }
  }

  /** Account id to its root's access key: fixed at start. */
  private final Map<String, AccessKey> roots;
  private final Map<String, String> rootKeyIds;
  private volatile State state = State.EMPTY;
  /** Inline policies by user ARN and by role id, rebuilt at each change so that reading them allocates nothing. */
  private volatile Map<String, List<PolicyDocument>> userPolicies = Map.of();
  private volatile Map<String, List<PolicyDocument>> rolePolicies = Map.of();

  /** @param roots the root access key of each account (the default account's is the bootstrap administrator) */
  public Identities(List<AccessKey> roots) {
    Map<String, AccessKey> byId = new HashMap<>();
    Map<String, String> accounts = new HashMap<>();
    for (AccessKey k : roots) {
      byId.put(k.accessKeyId(), k);
      accounts.put(k.identity().accountId(), k.accessKeyId());
    }
    this.roots = Map.copyOf(byId);
    this.rootKeyIds = Map.copyOf(accounts);
  }

  public State state() {
    return state;
  }

  /** Whether the account is one of the configured accounts. */
  public boolean hasAccount(String accountId) {
    return rootKeyIds.containsKey(accountId);
  }

  /** Whether an access key id is taken, by a root, a user or a session. */
  boolean accessKeyIdTaken(String id) {
    State s = state;
    return roots.containsKey(id) || s.keys().containsKey(id) || s.sessions().containsKey(id);
  }

  /** Publishes a new state (writers only, one at a time). */
  synchronized void update(UnaryOperator<State> change) {
    State next = change.apply(state);
    Map<String, List<PolicyDocument>> byUser = new HashMap<>();
    next.users().values().forEach(u -> byUser.put(u.arn(), documents(u.policies())));
    Map<String, List<PolicyDocument>> byRole = new HashMap<>();
    next.roles().values().forEach(r -> byRole.put(r.roleId(), documents(r.policies())));
    userPolicies = Map.copyOf(byUser);
    rolePolicies = Map.copyOf(byRole);
    state = next;
  }

  @Override
  public Optional<AccessKey> find(String accessKeyId) {
    AccessKey root = roots.get(accessKeyId);
    if (root != null) {
      return Optional.of(root);
    }
    State s = state;
    AccessKey found;
    UserKey k = s.keys().get(accessKeyId);
    Session session = k == null ? s.sessions().get(accessKeyId) : null;
    if (k != null) {
      if (!"Active".equals(k.status())) {
        return Optional.empty();
      }
      found = k.credential();
    } else if (session != null) {
      found = session.credential();
    } else {
      return Optional.empty();
    }
    if (found == null && s.unsealed()) {
      return Optional.empty(); // its sealed secret was damaged (logged at start)
    }
    if (found == null) {
      throw new KmsException(ErrorCode.KMS_INTERNAL, "The credentials of access key " + accessKeyId
          + " are not available yet: the HSM that seals them has not been reached since the gateway started. "
          + "Retry later.");
    }
    return Optional.of(found);
  }

  @Override
  public List<PolicyDocument> of(Caller caller) {
    switch (caller.type()) {
      case "IAMUser" -> {
        return userPolicies.getOrDefault(caller.arn(), List.of());
      }
      case "AssumedRole" -> {
        Session session = state.sessions().get(caller.accessKeyId());
        return session == null ? List.of() : rolePolicies.getOrDefault(session.roleId(), List.of());
      }
      default -> {
        return List.of();
      }
    }
  }

  private static List<PolicyDocument> documents(SortedMap<String, Policy> policies) {
    if (policies.isEmpty()) {
      return List.of();
    }
    return policies.values().stream().map(Policy::document).toList();
  }

  static String nameKey(String name) {
    return name.toLowerCase(Locale.ROOT);
  }
}
