package io.kmsgw.iam;

import io.kmsgw.auth.AccessKey;
import io.kmsgw.domain.Caller;
import io.kmsgw.error.ErrorCode;
import io.kmsgw.error.KmsException;
import io.kmsgw.iam.Identities.Role;
import io.kmsgw.iam.Identities.Session;
import io.kmsgw.keystore.SecretSealer;
import io.kmsgw.policy.PolicyEvaluator;
import io.kmsgw.policy.RequestContext;
import io.kmsgw.store.IdentityStore;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.logging.Logger;

/**
 * STS: AssumeRole, which issues temporary credentials for a role when its trust policy and (for a principal that is
 * not an account root) the caller's identity policies allow {@code sts:AssumeRole}, and GetCallerIdentity.
 *
 * <p>A session's secret is sealed in the store and its token kept only as a SHA-256, so a restart keeps it valid
 * until it expires. An expired session is kept (without its secret in memory) for {@link #EXPIRED_RETENTION}, so
 * that its users get ExpiredToken (which AWS SDKs take as the cue to refresh credentials) rather than an unknown
 * key; after that it is deleted.
 */
public final class StsService {
  private static final Logger LOG = Logger.getLogger(StsService.class.getName());
  static final int MIN_DURATION = 900;
  static final int MAX_DURATION = 43200;
  /** AWS's limit for a role session assumed with a role session's credentials (role chaining). */
  static final int CHAINED_MAX_DURATION = 3600;
  public static final Duration EXPIRED_RETENTION = Duration.ofHours(24);

  private final Identities identities;
  private final IamService iam;
  private final IdentityStore store;
  private final SecretSealer sealer;
  private final Clock clock;

  /**
   * @param clock the clock sessions start and expire by (the same one the signature check uses for expiry)
   */
  public StsService(Identities identities, IamService iam, IdentityStore store, SecretSealer sealer, Clock clock) {
    this.identities = identities;
    this.iam = iam;
    this.store = store;
    this.sealer = sealer;
    this.clock = clock;
  }

  /** What GetCallerIdentity answers. */
  public record CallerIdentity(String userId, String account, String arn) {}

  public CallerIdentity getCallerIdentity(Caller caller) {
    return new CallerIdentity(caller.principalId(), caller.accountId(), caller.arn());
  }

  /** Temporary credentials and the session they belong to. */
  public record Credentials(String accessKeyId, String secretAccessKey, String sessionToken, Instant expiration,
      String assumedRoleId, String assumedRoleArn) {
    @Override
    public String toString() {
      return "Credentials[" + accessKeyId + ", " + assumedRoleArn + ", expires " + expiration + "]";
    }
  }

  /** AssumeRole's parameters that kmsgw supports. */
  public record AssumeRole(String roleArn, String roleSessionName, Integer durationSeconds, String externalId) {}

  public CompletableFuture<Credentials> assumeRole(Caller caller, AssumeRole request) {
    if ("Root".equals(caller.type())) {
      // AWS refuses an account root's credentials here, whatever the trust policy says
      throw new KmsException(ErrorCode.ACCESS_DENIED, "Roles may not be assumed by root accounts.");
    }
    String roleArn = Checks.string("roleArn", request.roleArn(), 20, 2048, null);
    String sessionName = Checks.string("roleSessionName", request.roleSessionName(), 2, 64, Checks.SESSION_NAME);
    Integer duration = Checks.integer("durationSeconds", request.durationSeconds(), MIN_DURATION, MAX_DURATION);
    String externalId = Checks.optional("externalId", request.externalId(), 2, 1224, Checks.EXTERNAL_ID);
    Role role = roleOf(roleArn);
    RequestContext ctx = Checks.context(clock, caller, "sts:AssumeRole", roleArn)
        .put("sts:RoleSessionName", sessionName)
        .put("sts:ExternalId", externalId)
        .build();
    PolicyEvaluator.Outcome outcome = role == null ? PolicyEvaluator.Outcome.NO_RESOURCE_ALLOW
        : PolicyEvaluator.evaluate(ctx, role.accountId(), role.trustPolicy(), identities.of(caller), false);
    if (!outcome.allowed()) {
      // the same answer whether or not the role exists, as AWS gives
      throw new KmsException(ErrorCode.ACCESS_DENIED, "User: " + caller.arn() + " is not authorized to perform: "
          + "sts:AssumeRole on resource: " + roleArn);
    }
    int seconds = duration == null ? 3600 : duration;
    if (seconds > role.maxSessionSeconds()) {
      throw Checks.invalid("The requested DurationSeconds exceeds the MaxSessionDuration set for this role.");
    }
    if ("AssumedRole".equals(caller.type()) && seconds > CHAINED_MAX_DURATION) {
      throw Checks.invalid("The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by "
          + "role chaining.");
    }
    String id = iam.newAccessKeyId(true);
    String secret = Ids.secret();
    String token = Ids.sessionToken();
    byte[] tokenHash = AccessKey.hashToken(token);
    byte[] clear = secret.getBytes(StandardCharsets.UTF_8);
    return sealer.sealAsync(sealOwner(id), clear, ErrorCode.KMS_INTERNAL)
        .whenComplete((r, e) -> java.util.Arrays.fill(clear, (byte) 0))
        .thenCompose(sealed -> iam.writes().submit(() -> {
          Role current = identities.state().roles().get(role.roleId());
          if (current == null) {
            throw new KmsException(ErrorCode.ACCESS_DENIED, "User: " + caller.arn() + " is not authorized to "
                + "perform: sts:AssumeRole on resource: " + roleArn);
          }
          Instant now = clock.instant().truncatedTo(ChronoUnit.SECONDS);
          Instant expires = now.plusSeconds(seconds);
          store.insertSession(new IdentityStore.SessionRow(id, current.accountId(), current.roleId(), sessionName,
              sealed, tokenHash, caller.arn(), now, expires));
          Session session = session(id, current, sessionName, now, expires, tokenHash, sealed, caller.arn(), secret);
          identities.update(st -> st.with(st.users(), st.roles(), st.keys(), IamService.put(st.sessions(), id,
              session)));
          return new Credentials(id, secret, token, expires, session.credential().identity().principalId(),
              session.credential().identity().arn());
        }));
  }

  static String sealOwner(String accessKeyId) {
    return "session/" + accessKeyId;
  }

  static Session session(String id, Role role, String sessionName, Instant created, Instant expires,
      byte[] tokenHash, byte[] sealed, String sourceArn, String secret) {
    Caller identity = new Caller("arn:aws:sts::" + role.accountId() + ":assumed-role/" + role.name() + "/"
        + sessionName, role.accountId(), role.roleId() + ":" + sessionName, id, "AssumedRole");
    return new Session(id, role.accountId(), role.roleId(), sessionName, created, expires, tokenHash, sealed,
        sourceArn, AccessKey.temporary(id, secret, identity, tokenHash, expires));
  }

  /** The role an ARN names, among the configured accounts' roles; null if none. */
  private Role roleOf(String arn) {
    String[] p = arn.split(":", 6);
    if (p.length != 6 || !p[0].equals("arn") || !p[2].equals("iam") || !p[5].startsWith("role/")) {
      throw Checks.invalid(arn + " is not a valid role ARN (arn:aws:iam::<account>:role/<name>)");
    }
    String name = p[5].substring("role/".length());
    Role r = identities.state().role(p[4], name).orElse(null);
    return r != null && r.arn().equals(arn) ? r : null;
  }

  /**
   * Drops the secrets of sessions that have expired and deletes those expired longer than
   * {@link #EXPIRED_RETENTION} ago, in the store and in memory. Run periodically.
   */
  public CompletableFuture<Integer> purgeExpired() {
    return iam.writes().submit(() -> {
      Instant now = clock.instant();
      Instant cutoff = now.minus(EXPIRED_RETENTION);
      int deleted = store.deleteSessionsExpiredBefore(cutoff);
      identities.update(st -> {
        Map<String, Session> sessions = new HashMap<>();
        for (Session s : st.sessions().values()) {
          if (s.expiresAt().isBefore(cutoff)) {
            continue;
          }
          sessions.put(s.accessKeyId(), !s.expiresAt().isAfter(now) && s.credential() != null
              ? withoutSecret(s) : s);
        }
        return st.with(st.users(), st.roles(), st.keys(), sessions);
      });
      if (deleted > 0) {
        LOG.fine(() -> "deleted " + deleted + " STS sessions expired before " + cutoff);
      }
      return deleted;
    });
  }

  /** The session as kept after expiry: enough to answer ExpiredToken, no secret. */
  static Session withoutSecret(Session s) {
    AccessKey old = s.credential();
    return new Session(s.accessKeyId(), s.accountId(), s.roleId(), s.sessionName(), s.createdAt(), s.expiresAt(),
        s.tokenHash(), s.sealedSecret(), s.sourceArn(), AccessKey.temporary(s.accessKeyId(), null, old.identity(),
        s.tokenHash(), s.expiresAt()));
  }
}
