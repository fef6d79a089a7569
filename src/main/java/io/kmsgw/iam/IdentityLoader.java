package io.kmsgw.iam;

import io.kmsgw.auth.AccessKey;
import io.kmsgw.hsm.Hsm;
import io.kmsgw.hsm.HsmException;
import io.kmsgw.iam.Identities.Policy;
import io.kmsgw.iam.Identities.Role;
import io.kmsgw.iam.Identities.Session;
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
import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Brings the stored identities into memory at start, in two steps: {@link #load} reads every row (users, roles and
 * policies work at once; keys and sessions are known but sealed), then {@link #unseal} decrypts the secrets in the
 * HSM, which the gateway runs when the default key store first connects, before that store counts as connected.
 */
public final class IdentityLoader {
  private static final Logger LOG = Logger.getLogger(IdentityLoader.class.getName());
  /** What a stored policy that no longer parses is replaced with: it may have denied, so deny everything. */
  static final String DENY_ALL = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Deny\",\"Action\":\"*\","
      + "\"Resource\":\"*\"}]}";

  private final Identities identities;
  private final IdentityStore store;
  private final SecretSealer sealer;
  private final Clock clock;

  public IdentityLoader(Identities identities, IdentityStore store, SecretSealer sealer, Clock clock) {
    this.identities = identities;
    this.store = store;
    this.sealer = sealer;
    this.clock = clock;
  }

  /** Reads every identity from the store (blocking; at start, before serving). */
  public void load() {
    IdentityStore.Contents c = store.loadAll();
    Map<String, TreeMap<String, Policy>> policies = new HashMap<>();
    for (IdentityStore.PolicyRow p : c.policies()) {
      policies.computeIfAbsent(p.ownerId(), k -> new TreeMap<>()).put(p.policyName(),
          new Policy(p.policyName(), parse(p.document(), PolicyParser.Kind.IDENTITY, p.ownerId() + "/"
              + p.policyName())));
    }
    Map<String, User> users = new HashMap<>();
    for (IdentityStore.UserRow u : c.users()) {
      users.put(u.userId(), new User(u.userId(), u.accountId(), u.userName(), u.path(), u.createdAt(),
          policies.getOrDefault(u.userId(), new TreeMap<>())));
    }
    Map<String, Role> roles = new HashMap<>();
    for (IdentityStore.RoleRow r : c.roles()) {
      roles.put(r.roleId(), new Role(r.roleId(), r.accountId(), r.roleName(), r.path(),
          parse(r.trustPolicy(), PolicyParser.Kind.TRUST, r.roleId() + " trust policy"), r.description(),
          r.maxSessionSeconds(), r.createdAt(), policies.getOrDefault(r.roleId(), new TreeMap<>())));
    }
    Map<String, UserKey> keys = new HashMap<>();
    for (IdentityStore.KeyRow k : c.keys()) {
      if (users.containsKey(k.userId())) {
        keys.put(k.accessKeyId(), new UserKey(k.accessKeyId(), k.userId(), k.status(), k.createdAt(),
            k.sealedSecret(), null));
      }
    }
    Instant cutoff = clock.instant().minus(StsService.EXPIRED_RETENTION);
    Map<String, Session> sessions = new HashMap<>();
    for (IdentityStore.SessionRow s : c.sessions()) {
      Role role = roles.get(s.roleId());
      if (role != null && !s.expiresAt().isBefore(cutoff)) {
        sessions.put(s.accessKeyId(), new Session(s.accessKeyId(), s.accountId(), s.roleId(), s.sessionName(),
            s.createdAt(), s.expiresAt(), s.tokenHash(), s.sealedSecret(), s.sourceArn(), null));
      }
    }
    identities.update(st -> new Identities.State(Map.copyOf(users), Map.copyOf(roles), Map.copyOf(keys),
        Map.copyOf(sessions), false));
    LOG.info(() -> "identities: " + users.size() + " users, " + roles.size() + " roles, " + keys.size()
        + " access keys, " + sessions.size() + " STS sessions");
  }

  private static PolicyDocument parse(String document, PolicyParser.Kind kind, String where) {
    try {
      return PolicyParser.parse(document, kind);
    } catch (PolicyException e) {
      LOG.severe(() -> "stored policy " + where + " no longer parses (" + e.getMessage() + "); it denies "
          + "everything until it is replaced");
      return kind == PolicyParser.Kind.TRUST
          ? PolicyParser.parse("{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Deny\",\"Principal\":\"*\","
              + "\"Action\":\"*\"}]}", kind)
          : PolicyParser.parse(DENY_ALL, kind);
    }
  }

  /** Decrypts one sealed secret. */
  @FunctionalInterface
  public interface Unsealer {
    byte[] unseal(String owner, byte[] sealed) throws HsmException;
  }

  /** Unseals through an HSM connection being set up (the default key store's, on its connecting thread). */
  public void unseal(Hsm hsm) throws HsmException {
    unseal((owner, sealed) -> sealer.unseal(hsm, owner, sealed));
  }

  /** Unseals through the connected default key store (tests, and a late start). */
  public void unsealConnected() throws HsmException {
    unseal(sealer::unseal);
  }

  /**
   * Decrypts every secret not decrypted yet; a secret that fails (a damaged row) is logged and its key stays
   * unusable. Idempotent: a later connection finds nothing left to do.
   */
  public synchronized void unseal(Unsealer unsealer) throws HsmException {
    Identities.State s = identities.state();
    if (s.unsealed()) {
      return;
    }
    Map<String, AccessKey> keyCredentials = new HashMap<>();
    for (UserKey k : s.keys().values()) {
      User u = s.users().get(k.userId());
      String secret = open(unsealer, IamService.sealOwner(k.accessKeyId()), k.sealedSecret());
      if (u != null && secret != null) {
        keyCredentials.put(k.accessKeyId(), new AccessKey(k.accessKeyId(), secret, IamService.callerOf(u,
            k.accessKeyId())));
      }
    }
    Instant now = clock.instant();
    Map<String, Session> opened = new HashMap<>();
    for (Session x : s.sessions().values()) {
      Role role = s.roles().get(x.roleId());
      if (role == null) {
        continue;
      }
      boolean expired = !x.expiresAt().isAfter(now);
      String secret = expired ? null : open(unsealer, StsService.sealOwner(x.accessKeyId()), x.sealedSecret());
      if (expired || secret != null) {
        Session full = StsService.session(x.accessKeyId(), role, x.sessionName(), x.createdAt(), x.expiresAt(),
            x.tokenHash(), x.sealedSecret(), x.sourceArn(), secret == null ? "unused" : secret);
        opened.put(x.accessKeyId(), expired ? StsService.withoutSecret(full) : full);
      }
    }
    identities.update(st -> {
      Map<String, UserKey> keys = new HashMap<>(st.keys());
      keys.replaceAll((id, k) -> k.credential() != null || !keyCredentials.containsKey(id) ? k
          : new UserKey(k.accessKeyId(), k.userId(), k.status(), k.createdAt(), k.sealedSecret(),
              keyCredentials.get(id)));
      Map<String, Session> sessions = new HashMap<>(st.sessions());
      sessions.replaceAll((id, x) -> x.credential() != null || !opened.containsKey(id) ? x : opened.get(id));
      return new Identities.State(st.users(), st.roles(), Map.copyOf(keys), Map.copyOf(sessions), true);
    });
    LOG.info(() -> "identities: unsealed " + keyCredentials.size() + " access keys and " + opened.size()
        + " STS sessions");
  }

  private static String open(Unsealer unsealer, String owner, byte[] sealed) throws HsmException {
    try {
      byte[] clear = unsealer.unseal(owner, sealed);
      try {
        return new String(clear, StandardCharsets.UTF_8);
      } finally {
        java.util.Arrays.fill(clear, (byte) 0);
      }
    } catch (RuntimeException e) {
      LOG.log(Level.SEVERE, "the sealed secret of " + owner + " cannot be unsealed; it stays unusable", e);
      return null;
    } catch (HsmException e) {
      if (e.kind() == io.kmsgw.hsm.HsmErrorKind.BAD_CIPHERTEXT) {
        LOG.severe(() -> "the sealed secret of " + owner + " does not decrypt; it stays unusable");
        return null;
      }
      throw e;
    }
  }
}
