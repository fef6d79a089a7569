package io.kmsgw.store;

import java.time.Instant;
import java.util.List;

/**
 * Where identities persist: IAM users and roles, their inline policies, users' access keys and STS sessions. Every
 * method blocks (JDBC) and commits before it returns; callers run it on the store executor. Secrets arrive sealed.
 */
public interface IdentityStore {
  record UserRow(String userId, String accountId, String userName, String path, Instant createdAt) {}

  record RoleRow(String roleId, String accountId, String roleName, String path, String trustPolicy,
      String description, int maxSessionSeconds, Instant createdAt) {}

  /** An inline policy of a user or a role ({@code ownerId} is the user id or the role id). */
  record PolicyRow(String ownerId, String policyName, String document, Instant updatedAt) {}

  record KeyRow(String accessKeyId, String userId, String status, byte[] sealedSecret, Instant createdAt) {}

  record SessionRow(String accessKeyId, String accountId, String roleId, String sessionName, byte[] sealedSecret,
      byte[] tokenHash, String sourceArn, Instant createdAt, Instant expiresAt) {}

  record Contents(List<UserRow> users, List<RoleRow> roles, List<PolicyRow> policies, List<KeyRow> keys,
      List<SessionRow> sessions) {}

  /** Everything, read at start. */
  Contents loadAll();

  void insertUser(UserRow user);

  /** Deletes a user (its keys and policies must be gone already). */
  void deleteUser(String userId);

  void insertRole(RoleRow role);

  /** Deletes a role and its sessions (its policies must be gone already). */
  void deleteRole(String roleId);

  /** Creates or replaces an inline policy. */
  void putPolicy(PolicyRow policy);

  void deletePolicy(String ownerId, String policyName);

  void insertKey(KeyRow key);

  void deleteKey(String accessKeyId);

  void insertSession(SessionRow session);

  /** Deletes the sessions that expired before the instant; returns how many. */
  int deleteSessionsExpiredBefore(Instant before);
}
