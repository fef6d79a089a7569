package io.kmsgw.iam;

import static io.kmsgw.iam.Checks.NAME;
import static io.kmsgw.iam.Checks.PATH;
import static io.kmsgw.iam.Checks.POLICY_TEXT;

import io.kmsgw.auth.AccessKey;
import io.kmsgw.domain.Caller;
import io.kmsgw.error.ErrorCode;
import io.kmsgw.error.KmsException;
import io.kmsgw.iam.Identities.Policy;
import io.kmsgw.iam.Identities.Role;
import io.kmsgw.iam.Identities.User;
import io.kmsgw.iam.Identities.UserKey;
import io.kmsgw.keystore.SecretSealer;
import io.kmsgw.policy.PolicyDocument;
import io.kmsgw.policy.PolicyException;
import io.kmsgw.policy.PolicyParser;
import io.kmsgw.store.IdentityStore;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.function.Function;

/**
 * The IAM operations on users, access keys, roles and inline policies, in the caller's own account. An account root
 * may do everything there; other principals need an identity policy that allows the action ({@code iam:CreateUser}
 * on the user's ARN, ...). Reads answer from memory; changes are validated, authorized, written to the store and
 * then published in memory, so they take effect for the next request.
 */
public final class IamService {
  /** IAM's default quotas. */
  static final int USERS_PER_ACCOUNT = 5000;
  static final int ROLES_PER_ACCOUNT = 1000;
  static final int KEYS_PER_USER = 2;
  /** Aggregate size of a user's (a role's) inline policies, and of a trust policy, in non-whitespace characters. */
  static final int USER_POLICY_CHARS = 2048;
  static final int ROLE_POLICY_CHARS = 10240;
  static final int TRUST_POLICY_CHARS = 2048;
  public static final int DEFAULT_MAX_SESSION_SECONDS = 3600;

  private final Identities identities;
  private final IdentityStore store;
  private final SecretSealer sealer;
  private final IdentityWrites writes;
  private final Clock clock;

  public IamService(Identities identities, IdentityStore store, SecretSealer sealer, Executor storeExecutor,
      Clock clock) {
    this.identities = identities;
    this.store = store;
    this.sealer = sealer;
    this.writes = new IdentityWrites(storeExecutor);
    this.clock = clock;
  }

  IdentityWrites writes() {
    return writes;
  }

  /** A page of results and the marker of the next one (null when this is the last). */
  public record Page<T>(List<T> items, String nextMarker) {}

  /** A new access key with its secret, shown once. */
  public record NewAccessKey(UserKey key, String userName, String secretAccessKey) {}

  private Instant now() {
    return clock.instant().truncatedTo(ChronoUnit.SECONDS);
  }

  private void authorize(Caller caller, String action, String resource) {
    Checks.authorize(identities, clock, caller, action, resource, null);
  }

  private static KmsException noSuchUser(String name) {
    return new KmsException(ErrorCode.NOT_FOUND, "The user with name " + name + " cannot be found.");
  }

  private static KmsException noSuchRole(String name) {
    return new KmsException(ErrorCode.NOT_FOUND, "The role with name " + name + " cannot be found.");
  }

  private static String userArn(Caller caller, String path, String name) {
    return "arn:aws:iam::" + caller.accountId() + ":user" + path + name;
  }

  private static String roleArn(Caller caller, String name) {
    return "arn:aws:iam::" + caller.accountId() + ":role/" + name;
  }

  // ---- users

  public CompletableFuture<User> createUser(Caller caller, String userName, String path) {
    String name = Checks.string("userName", userName, 1, 64, NAME);
    String p = path == null ? "/" : Checks.string("path", path, 1, 512, PATH);
    authorize(caller, "iam:CreateUser", userArn(caller, p, name));
    return writes.submit(() -> {
      Identities.State s = identities.state();
      if (s.user(caller.accountId(), name).isPresent()) {
        throw new KmsException(ErrorCode.ALREADY_EXISTS, "User with name " + name + " already exists.");
      }
      if (s.users().values().stream().filter(u -> u.accountId().equals(caller.accountId())).count()
          >= USERS_PER_ACCOUNT) {
        throw new KmsException(ErrorCode.LIMIT_EXCEEDED, "Cannot exceed quota for UsersPerAccount: "
            + USERS_PER_ACCOUNT);
      }
      String id = Ids.userId();
      User user = new User(id, caller.accountId(), name, p, now(), new TreeMap<>());
      store.insertUser(new IdentityStore.UserRow(id, user.accountId(), name, p, user.createdAt()));
      identities.update(st -> st.with(put(st.users(), id, user), st.roles(), st.keys(), st.sessions()));
      return user;
    });
  }

  /** The named user, or the calling user itself when no name is given. */
  public User getUser(Caller caller, String userName) {
    User u = target(caller, userName, "GetUser");
    authorize(caller, "iam:GetUser", u.arn());
    return u;
  }

  public CompletableFuture<Void> deleteUser(Caller caller, String userName) {
    String name = Checks.string("userName", userName, 1, 128, NAME);
    User u = existingUser(caller, name);
    authorize(caller, "iam:DeleteUser", u.arn());
    return writes.submit(() -> {
      Identities.State s = identities.state();
      User current = s.user(caller.accountId(), name).orElseThrow(() -> noSuchUser(name));
      if (!s.keysOf(current.userId()).isEmpty() || !current.policies().isEmpty()) {
        throw new KmsException(ErrorCode.CONFLICT, "Cannot delete entity, must "
            + (current.policies().isEmpty() ? "delete access keys" : "delete policies") + " first.");
      }
      store.deleteUser(current.userId());
      identities.update(st -> st.with(remove(st.users(), current.userId()), st.roles(), st.keys(), st.sessions()));
      return null;
    });
  }

  public Page<User> listUsers(Caller caller, String pathPrefix, String marker, Integer maxItems) {
    String prefix = pathPrefix == null ? "/" : Checks.string("pathPrefix", pathPrefix, 1, 512, Checks.PATH_PREFIX);
    authorize(caller, "iam:ListUsers", "arn:aws:iam::" + caller.accountId() + ":user/*");
    List<User> all = identities.state().users().values().stream()
        .filter(u -> u.accountId().equals(caller.accountId()) && u.path().startsWith(prefix))
        .sorted(java.util.Comparator.comparing(u -> Identities.nameKey(u.name()))).toList();
    return page(all, u -> Identities.nameKey(u.name()), marker, maxItems);
  }

  private static <T> Page<T> page(List<T> sorted, Function<T, String> key, String marker, Integer maxItems) {
    Checks.optional("marker", marker, 1, 320, null);
    int max = maxItems == null ? 100 : Checks.integer("maxItems", maxItems, 1, 1000);
    List<T> out = new ArrayList<>();
    for (T t : sorted) {
      if (marker != null && key.apply(t).compareTo(marker) <= 0) {
        continue;
      }
      if (out.size() == max) {
        return new Page<>(out, key.apply(out.get(out.size() - 1)));
      }
      out.add(t);
    }
    return new Page<>(out, null);
  }

  private User existingUser(Caller caller, String name) {
    return identities.state().user(caller.accountId(), name).orElseThrow(() -> noSuchUser(name));
  }

  /**
   * The user an access key operation is about: the named one, or, without a name, the calling user itself (IAM
   * works out the user from the signing key). An account root has no IAM user; its keys come from configuration.
   */
  private User target(Caller caller, String userName, String operation) {
    if (userName != null) {
      return existingUser(caller, Checks.string("userName", userName, 1, 128, NAME));
    }
    if (!"IAMUser".equals(caller.type())) {
      throw Checks.invalid("Must specify userName when calling " + operation + " with non-User credentials"
          + ("Root".equals(caller.type()) ? " (kmsgw takes an account root's access key from its configuration)" : ""));
    }
    User self = identities.state().users().values().stream().filter(u -> u.arn().equals(caller.arn())).findFirst()
        .orElseThrow(() -> noSuchUser(caller.arn()));
    return self;
  }

  // ---- access keys

  public CompletableFuture<NewAccessKey> createAccessKey(Caller caller, String userName) {
    User u = target(caller, userName, "CreateAccessKey");
    authorize(caller, "iam:CreateAccessKey", u.arn());
    if (identities.state().keysOf(u.userId()).size() >= KEYS_PER_USER) {
      throw keyLimit();
    }
    String id = newAccessKeyId(false);
    String secret = Ids.secret();
    byte[] clear = secret.getBytes(StandardCharsets.UTF_8);
    return sealer.sealAsync(sealOwner(id), clear, ErrorCode.KMS_INTERNAL)
        .whenComplete((r, e) -> java.util.Arrays.fill(clear, (byte) 0))
        .thenCompose(sealed -> writes.submit(() -> {
          Identities.State s = identities.state();
          User current = s.users().get(u.userId());
          if (current == null) {
            throw noSuchUser(u.name());
          }
          if (s.keysOf(u.userId()).size() >= KEYS_PER_USER) {
            throw keyLimit();
          }
          Instant at = now();
          store.insertKey(new IdentityStore.KeyRow(id, u.userId(), "Active", sealed, at));
          UserKey key = new UserKey(id, u.userId(), "Active", at, sealed, new AccessKey(id, secret, callerOf(u, id)));
          identities.update(st -> st.with(st.users(), st.roles(), put(st.keys(), id, key), st.sessions()));
          return new NewAccessKey(key, u.name(), secret);
        }));
  }

  private static KmsException keyLimit() {
    return new KmsException(ErrorCode.LIMIT_EXCEEDED, "Cannot exceed quota for AccessKeysPerUser: " + KEYS_PER_USER);
  }

  static String sealOwner(String accessKeyId) {
    return "access-key/" + accessKeyId;
  }

  static Caller callerOf(User u, String accessKeyId) {
    return new Caller(u.arn(), u.accountId(), u.userId(), accessKeyId, "IAMUser");
  }

  /** A fresh access key id that no root, user key or session has. */
  String newAccessKeyId(boolean temporary) {
    while (true) {
      String id = temporary ? Ids.temporaryAccessKeyId() : Ids.accessKeyId();
      if (!identities.accessKeyIdTaken(id)) {
        return id;
      }
    }
  }

  public CompletableFuture<Void> deleteAccessKey(Caller caller, String userName, String accessKeyId) {
    String keyId = Checks.string("accessKeyId", accessKeyId, 16, 128, Checks.ACCESS_KEY_ID);
    User u = target(caller, userName, "DeleteAccessKey");
    authorize(caller, "iam:DeleteAccessKey", u.arn());
    return writes.submit(() -> {
      UserKey k = identities.state().keys().get(keyId);
      if (k == null || !k.userId().equals(u.userId())) {
        throw new KmsException(ErrorCode.NOT_FOUND, "The Access Key with id " + keyId + " cannot be found.");
      }
      store.deleteKey(keyId);
      identities.update(st -> st.with(st.users(), st.roles(), remove(st.keys(), keyId), st.sessions()));
      return null;
    });
  }

  /** A user's access keys and the user's name. */
  public record KeyList(String userName, List<UserKey> keys) {}

  public KeyList listAccessKeys(Caller caller, String userName) {
    User u = target(caller, userName, "ListAccessKeys");
    authorize(caller, "iam:ListAccessKeys", u.arn());
    return new KeyList(u.name(), identities.state().keysOf(u.userId()));
  }

  // ---- inline policies

  /** The policy parsed as an identity policy; MalformedPolicyDocument with the parser's message otherwise. */
  static PolicyDocument parse(String document, PolicyParser.Kind kind) {
    try {
      return PolicyParser.parse(document, kind);
    } catch (PolicyException e) {
      throw new KmsException(ErrorCode.MALFORMED_POLICY_DOCUMENT, e.getMessage());
    }
  }

  static int chars(String document) {
    int n = 0;
    for (int i = 0; i < document.length(); i++) {
      if (!Character.isWhitespace(document.charAt(i))) {
        n++;
      }
    }
    return n;
  }

  private static int aggregate(Map<String, Policy> policies, String replaced, String document) {
    int n = chars(document);
    for (Policy p : policies.values()) {
      if (!p.name().equals(replaced)) {
        n += chars(p.document().source());
      }
    }
    return n;
  }

  public CompletableFuture<Void> putUserPolicy(Caller caller, String userName, String policyName, String document) {
    String name = Checks.string("userName", userName, 1, 128, NAME);
    String pn = Checks.string("policyName", policyName, 1, 128, NAME);
    String doc = Checks.string("policyDocument", document, 1, 131072, POLICY_TEXT);
    User u = existingUser(caller, name);
    authorize(caller, "iam:PutUserPolicy", u.arn());
    PolicyDocument parsed = parse(doc, PolicyParser.Kind.IDENTITY);
    return writes.submit(() -> {
      User current = identities.state().users().get(u.userId());
      if (current == null) {
        throw noSuchUser(name);
      }
      if (aggregate(current.policies(), pn, doc) > USER_POLICY_CHARS) {
        throw new KmsException(ErrorCode.LIMIT_EXCEEDED, "Maximum policy size of " + USER_POLICY_CHARS
            + " bytes exceeded for user " + current.name());
      }
      store.putPolicy(new IdentityStore.PolicyRow(current.userId(), pn, doc, now()));
      TreeMap<String, Policy> policies = new TreeMap<>(current.policies());
      policies.put(pn, new Policy(pn, parsed));
      identities.update(st -> st.with(put(st.users(), current.userId(), st.users().get(current.userId())
          .withPolicies(policies)), st.roles(), st.keys(), st.sessions()));
      return null;
    });
  }

  /** An inline policy and the name of the user or role it belongs to. */
  public record OwnedPolicy(String owner, Policy policy) {}

  public OwnedPolicy getUserPolicy(Caller caller, String userName, String policyName) {
    String name = Checks.string("userName", userName, 1, 128, NAME);
    String pn = Checks.string("policyName", policyName, 1, 128, NAME);
    User u = existingUser(caller, name);
    authorize(caller, "iam:GetUserPolicy", u.arn());
    Policy p = u.policies().get(pn);
    if (p == null) {
      throw new KmsException(ErrorCode.NOT_FOUND, "The user policy with name " + pn + " cannot be found.");
    }
    return new OwnedPolicy(u.name(), p);
  }

  public List<String> listUserPolicies(Caller caller, String userName) {
    User u = existingUser(caller, Checks.string("userName", userName, 1, 128, NAME));
    authorize(caller, "iam:ListUserPolicies", u.arn());
    return List.copyOf(u.policies().keySet());
  }

  public CompletableFuture<Void> deleteUserPolicy(Caller caller, String userName, String policyName) {
    String name = Checks.string("userName", userName, 1, 128, NAME);
    String pn = Checks.string("policyName", policyName, 1, 128, NAME);
    User u = existingUser(caller, name);
    authorize(caller, "iam:DeleteUserPolicy", u.arn());
    return writes.submit(() -> {
      User current = identities.state().users().get(u.userId());
      if (current == null) {
        throw noSuchUser(name);
      }
      if (!current.policies().containsKey(pn)) {
        throw new KmsException(ErrorCode.NOT_FOUND, "The user policy with name " + pn + " cannot be found.");
      }
      store.deletePolicy(current.userId(), pn);
      TreeMap<String, Policy> policies = new TreeMap<>(current.policies());
      policies.remove(pn);
      identities.update(st -> st.with(put(st.users(), current.userId(), st.users().get(current.userId())
          .withPolicies(policies)), st.roles(), st.keys(), st.sessions()));
      return null;
    });
  }

  // ---- roles

  /** A new role's parameters as CreateRole takes them. */
  public record NewRole(String roleName, String path, String trustPolicy, String description,
      Integer maxSessionDuration) {}

  public CompletableFuture<Role> createRole(Caller caller, NewRole r) {
    String name = Checks.string("roleName", r.roleName(), 1, 64, NAME);
    String path = r.path() == null ? "/" : Checks.string("path", r.path(), 1, 512, PATH);
    if (!path.equals("/")) {
      // Principal.of derives a session's role ARN from the session ARN, which carries no path
      throw Checks.invalid("kmsgw supports roles only at the path / (a role session's ARN has no path, so a key "
          + "policy naming a role with a path could not match its sessions)");
    }
    String doc = Checks.string("assumeRolePolicyDocument", r.trustPolicy(), 1, 131072, POLICY_TEXT);
    String description = Checks.optional("description", r.description(), 0, 1000, Checks.DESCRIPTION);
    Integer max = Checks.integer("maxSessionDuration", r.maxSessionDuration(), 3600, 43200);
    String arn = roleArn(caller, name);
    authorize(caller, "iam:CreateRole", arn);
    if (chars(doc) > TRUST_POLICY_CHARS) {
      throw new KmsException(ErrorCode.LIMIT_EXCEEDED, "Cannot exceed quota for ACLSizePerRole: "
          + TRUST_POLICY_CHARS);
    }
    PolicyDocument trust = parse(doc, PolicyParser.Kind.TRUST);
    return writes.submit(() -> {
      Identities.State s = identities.state();
      if (s.role(caller.accountId(), name).isPresent()) {
        throw new KmsException(ErrorCode.ALREADY_EXISTS, "Role with name " + name + " already exists.");
      }
      if (s.roles().values().stream().filter(x -> x.accountId().equals(caller.accountId())).count()
          >= ROLES_PER_ACCOUNT) {
        throw new KmsException(ErrorCode.LIMIT_EXCEEDED, "Cannot exceed quota for RolesPerAccount: "
            + ROLES_PER_ACCOUNT);
      }
      String id = Ids.roleId();
      Role role = new Role(id, caller.accountId(), name, "/", trust, description,
          max == null ? DEFAULT_MAX_SESSION_SECONDS : max, now(), new TreeMap<>());
      store.insertRole(new IdentityStore.RoleRow(id, role.accountId(), name, "/", doc, description,
          role.maxSessionSeconds(), role.createdAt()));
      identities.update(st -> st.with(st.users(), put(st.roles(), id, role), st.keys(), st.sessions()));
      return role;
    });
  }

  private Role existingRole(Caller caller, String name) {
    return identities.state().role(caller.accountId(), name).orElseThrow(() -> noSuchRole(name));
  }

  public Role getRole(Caller caller, String roleName) {
    Role r = existingRole(caller, Checks.string("roleName", roleName, 1, 64, NAME));
    authorize(caller, "iam:GetRole", r.arn());
    return r;
  }

  public Page<Role> listRoles(Caller caller, String pathPrefix, String marker, Integer maxItems) {
    String prefix = pathPrefix == null ? "/" : Checks.string("pathPrefix", pathPrefix, 1, 512, Checks.PATH_PREFIX);
    authorize(caller, "iam:ListRoles", "arn:aws:iam::" + caller.accountId() + ":role/*");
    List<Role> all = identities.state().roles().values().stream()
        .filter(r -> r.accountId().equals(caller.accountId()) && r.path().startsWith(prefix))
        .sorted(java.util.Comparator.comparing(r -> Identities.nameKey(r.name()))).toList();
    return page(all, r -> Identities.nameKey(r.name()), marker, maxItems);
  }

  /** Deletes a role without inline policies; its sessions stop working at once. */
  public CompletableFuture<Void> deleteRole(Caller caller, String roleName) {
    String name = Checks.string("roleName", roleName, 1, 64, NAME);
    Role r = existingRole(caller, name);
    authorize(caller, "iam:DeleteRole", r.arn());
    return writes.submit(() -> {
      Role current = identities.state().roles().get(r.roleId());
      if (current == null) {
        throw noSuchRole(name);
      }
      if (!current.policies().isEmpty()) {
        throw new KmsException(ErrorCode.CONFLICT, "Cannot delete entity, must delete policies first.");
      }
      store.deleteRole(current.roleId());
      identities.update(st -> {
        Map<String, Identities.Session> sessions = new HashMap<>(st.sessions());
        sessions.values().removeIf(x -> x.roleId().equals(current.roleId()));
        return st.with(st.users(), remove(st.roles(), current.roleId()), st.keys(), sessions);
      });
      return null;
    });
  }

  public CompletableFuture<Void> putRolePolicy(Caller caller, String roleName, String policyName, String document) {
    String name = Checks.string("roleName", roleName, 1, 64, NAME);
    String pn = Checks.string("policyName", policyName, 1, 128, NAME);
    String doc = Checks.string("policyDocument", document, 1, 131072, POLICY_TEXT);
    Role r = existingRole(caller, name);
    authorize(caller, "iam:PutRolePolicy", r.arn());
    PolicyDocument parsed = parse(doc, PolicyParser.Kind.IDENTITY);
    return writes.submit(() -> {
      Role current = identities.state().roles().get(r.roleId());
      if (current == null) {
        throw noSuchRole(name);
      }
      if (aggregate(current.policies(), pn, doc) > ROLE_POLICY_CHARS) {
        throw new KmsException(ErrorCode.LIMIT_EXCEEDED, "Maximum policy size of " + ROLE_POLICY_CHARS
            + " bytes exceeded for role " + current.name());
      }
      store.putPolicy(new IdentityStore.PolicyRow(current.roleId(), pn, doc, now()));
      TreeMap<String, Policy> policies = new TreeMap<>(current.policies());
      policies.put(pn, new Policy(pn, parsed));
      identities.update(st -> st.with(st.users(), put(st.roles(), current.roleId(),
          st.roles().get(current.roleId()).withPolicies(policies)), st.keys(), st.sessions()));
      return null;
    });
  }

  public OwnedPolicy getRolePolicy(Caller caller, String roleName, String policyName) {
    Role r = existingRole(caller, Checks.string("roleName", roleName, 1, 64, NAME));
    String pn = Checks.string("policyName", policyName, 1, 128, NAME);
    authorize(caller, "iam:GetRolePolicy", r.arn());
    Policy p = r.policies().get(pn);
    if (p == null) {
      throw new KmsException(ErrorCode.NOT_FOUND, "The role policy with name " + pn + " cannot be found.");
    }
    return new OwnedPolicy(r.name(), p);
  }

  public List<String> listRolePolicies(Caller caller, String roleName) {
    Role r = existingRole(caller, Checks.string("roleName", roleName, 1, 64, NAME));
    authorize(caller, "iam:ListRolePolicies", r.arn());
    return List.copyOf(r.policies().keySet());
  }

  public CompletableFuture<Void> deleteRolePolicy(Caller caller, String roleName, String policyName) {
    String name = Checks.string("roleName", roleName, 1, 64, NAME);
    String pn = Checks.string("policyName", policyName, 1, 128, NAME);
    Role r = existingRole(caller, name);
    authorize(caller, "iam:DeleteRolePolicy", r.arn());
    return writes.submit(() -> {
      Role current = identities.state().roles().get(r.roleId());
      if (current == null) {
        throw noSuchRole(name);
      }
      if (!current.policies().containsKey(pn)) {
        throw new KmsException(ErrorCode.NOT_FOUND, "The role policy with name " + pn + " cannot be found.");
      }
      store.deletePolicy(current.roleId(), pn);
      TreeMap<String, Policy> policies = new TreeMap<>(current.policies());
      policies.remove(pn);
      identities.update(st -> st.with(st.users(), put(st.roles(), current.roleId(),
          st.roles().get(current.roleId()).withPolicies(policies)), st.keys(), st.sessions()));
      return null;
    });
  }

  // ---- helpers

  static <K, V> Map<K, V> put(Map<K, V> m, K k, V v) {
    Map<K, V> copy = new HashMap<>(m);
    copy.put(k, v);
    return copy;
  }

  static <K, V> Map<K, V> remove(Map<K, V> m, K k) {
    Map<K, V> copy = new HashMap<>(m);
    copy.remove(k);
    return copy;
  }
}
