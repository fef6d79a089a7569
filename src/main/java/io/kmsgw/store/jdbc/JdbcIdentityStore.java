package io.kmsgw.store.jdbc;

import io.kmsgw.store.IdentityStore;
import io.kmsgw.store.StoreException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** {@link IdentityStore} over JDBC, sharing the metadata store's connections. One transaction per method. */
public final class JdbcIdentityStore implements IdentityStore {
  private final ConnectionPool connections;

  JdbcIdentityStore(ConnectionPool connections) {
    this.connections = connections;
  }

  private <T> T inTransaction(String what, ConnectionPool.Work<T> work) {
    return connections.inTransaction("identity store: " + what, work);
  }

  private static int update(Connection c, String sql, Object... args) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(sql)) {
      for (int i = 0; i < args.length; i++) {
        Object a = args[i];
        if (a instanceof Instant t) {
          ps.setLong(i + 1, t.toEpochMilli());
        } else if (a instanceof byte[] b) {
          ps.setBytes(i + 1, b);
        } else {
          ps.setObject(i + 1, a);
        }
      }
      return ps.executeUpdate();
    }
  }

  private static Instant instant(ResultSet rs, String column) throws SQLException {
    return Instant.ofEpochMilli(rs.getLong(column));
  }

  @Override
  public Contents loadAll() {
    return inTransaction("load identities", c -> {
      List<UserRow> users = new ArrayList<>();
      List<RoleRow> roles = new ArrayList<>();
      List<PolicyRow> policies = new ArrayList<>();
      List<KeyRow> keys = new ArrayList<>();
      List<SessionRow> sessions = new ArrayList<>();
      try (PreparedStatement ps = c.prepareStatement(
          "SELECT user_id, account_id, user_name, path, created_at FROM iam_user ORDER BY created_at");
          ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          users.add(new UserRow(rs.getString("user_id"), rs.getString("account_id"), rs.getString("user_name"),
              rs.getString("path"), instant(rs, "created_at")));
        }
      }
      try (PreparedStatement ps = c.prepareStatement("SELECT role_id, account_id, role_name, path, trust_policy,"
          + " description, max_session_seconds, created_at FROM iam_role ORDER BY created_at");
          ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          roles.add(new RoleRow(rs.getString("role_id"), rs.getString("account_id"), rs.getString("role_name"),
              rs.getString("path"), rs.getString("trust_policy"), rs.getString("description"),
              rs.getInt("max_session_seconds"), instant(rs, "created_at")));
        }
      }
      try (PreparedStatement ps = c.prepareStatement(
          "SELECT owner_id, policy_name, document, updated_at FROM iam_inline_policy");
          ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          policies.add(new PolicyRow(rs.getString("owner_id"), rs.getString("policy_name"), rs.getString("document"),
              instant(rs, "updated_at")));
        }
      }
      try (PreparedStatement ps = c.prepareStatement(
          "SELECT access_key_id, user_id, status, sealed_secret, created_at FROM iam_access_key ORDER BY created_at");
          ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          keys.add(new KeyRow(rs.getString("access_key_id"), rs.getString("user_id"), rs.getString("status"),
              rs.getBytes("sealed_secret"), instant(rs, "created_at")));
        }
      }
      try (PreparedStatement ps = c.prepareStatement("SELECT access_key_id, account_id, role_id, session_name,"
          + " sealed_secret, token_hash, source_arn, created_at, expires_at FROM sts_session");
          ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          sessions.add(new SessionRow(rs.getString("access_key_id"), rs.getString("account_id"),
              rs.getString("role_id"), rs.getString("session_name"), rs.getBytes("sealed_secret"),
              rs.getBytes("token_hash"), rs.getString("source_arn"), instant(rs, "created_at"),
              instant(rs, "expires_at")));
        }
      }
      return new Contents(users, roles, policies, keys, sessions);
    });
  }

  private static String nameKey(String name) {
    return name.toLowerCase(Locale.ROOT);
  }

  @Override
  public void insertUser(UserRow u) {
    inTransaction("insert user", c -> update(c, "INSERT INTO iam_user (user_id, account_id, user_name, name_key, path,"
        + " created_at) VALUES (?,?,?,?,?,?)", u.userId(), u.accountId(), u.userName(), nameKey(u.userName()),
        u.path(), u.createdAt()));
  }

  @Override
  public void deleteUser(String userId) {
    inTransaction("delete user", c -> update(c, "DELETE FROM iam_user WHERE user_id = ?", userId));
  }

  @Override
  public void insertRole(RoleRow r) {
    inTransaction("insert role", c -> update(c, "INSERT INTO iam_role (role_id, account_id, role_name, name_key, path,"
        + " trust_policy, description, max_session_seconds, created_at) VALUES (?,?,?,?,?,?,?,?,?)", r.roleId(),
        r.accountId(), r.roleName(), nameKey(r.roleName()), r.path(), r.trustPolicy(), r.description(),
        r.maxSessionSeconds(), r.createdAt()));
  }

  @Override
  public void deleteRole(String roleId) {
    inTransaction("delete role", c -> {
      update(c, "DELETE FROM sts_session WHERE role_id = ?", roleId);
      return update(c, "DELETE FROM iam_role WHERE role_id = ?", roleId);
    });
  }

  @Override
  public void putPolicy(PolicyRow p) {
    inTransaction("put inline policy", c -> {
      int n = update(c, "UPDATE iam_inline_policy SET document = ?, updated_at = ? WHERE owner_id = ? AND"
          + " policy_name = ?", p.document(), p.updatedAt(), p.ownerId(), p.policyName());
      if (n == 0) {
        update(c, "INSERT INTO iam_inline_policy (owner_id, policy_name, document, updated_at) VALUES (?,?,?,?)",
            p.ownerId(), p.policyName(), p.document(), p.updatedAt());
      }
      return null;
    });
  }

  @Override
  public void deletePolicy(String ownerId, String policyName) {
    inTransaction("delete inline policy", c -> update(c,
        "DELETE FROM iam_inline_policy WHERE owner_id = ? AND policy_name = ?", ownerId, policyName));
  }

  @Override
  public void insertKey(KeyRow k) {
    inTransaction("insert access key", c -> update(c, "INSERT INTO iam_access_key (access_key_id, user_id, status,"
        + " sealed_secret, created_at) VALUES (?,?,?,?,?)", k.accessKeyId(), k.userId(), k.status(),
        k.sealedSecret(), k.createdAt()));
  }

  @Override
  public void deleteKey(String accessKeyId) {
    inTransaction("delete access key", c -> update(c, "DELETE FROM iam_access_key WHERE access_key_id = ?",
        accessKeyId));
  }

  @Override
  public void insertSession(SessionRow s) {
    inTransaction("insert session", c -> update(c, "INSERT INTO sts_session (access_key_id, account_id, role_id,"
        + " session_name, sealed_secret, token_hash, source_arn, created_at, expires_at) VALUES (?,?,?,?,?,?,?,?,?)",
        s.accessKeyId(), s.accountId(), s.roleId(), s.sessionName(), s.sealedSecret(), s.tokenHash(), s.sourceArn(),
        s.createdAt(), s.expiresAt()));
  }

  @Override
  public int deleteSessionsExpiredBefore(Instant before) {
    return inTransaction("purge sessions", c -> update(c, "DELETE FROM sts_session WHERE expires_at < ?", before));
  }
}
