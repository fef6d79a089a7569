package io.kmsgw.store.jdbc;

import io.kmsgw.domain.Alias;
import io.kmsgw.domain.CustomKeyStore;
import io.kmsgw.domain.Grant;
import io.kmsgw.domain.KeyRecord;
import io.kmsgw.domain.KeyRotation;
import io.kmsgw.domain.KeySpec;
import io.kmsgw.domain.KeyState;
import io.kmsgw.domain.KeyUsage;
import io.kmsgw.domain.KeyVersion;
import io.kmsgw.domain.Origin;
import io.kmsgw.domain.Tag;
import io.kmsgw.store.MetadataStore;
import io.kmsgw.store.StoreException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Types;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

/**
 * {@link MetadataStore} over JDBC: embedded H2 by default, any database with standard SQL behind a JDBC URL.
 * Each write runs in one transaction and is committed before the method returns.
 */
public final class JdbcMetadataStore implements MetadataStore {
  private static final String KEY_COLUMNS =
      "key_id, account_id, region, created_at, description, key_state, key_usage, key_spec, origin, key_store_id,"
          + " current_version, deletion_date, pending_window_days, rotation_enabled, rotation_period_days,"
          + " next_rotation_at";

  private final ConnectionPool connections;

  public JdbcMetadataStore(ConnectionPool connections) {
    this.connections = connections;
  }

  /** The identity store (IAM users, roles, access keys, STS sessions), on the same connections. */
  public JdbcIdentityStore identities() {
    return new JdbcIdentityStore(connections);
  }

  /** The store of imported key material's metadata, on the same connections. */
  public JdbcImportStore imports() {
    return new JdbcImportStore(connections);
  }

  private <T> T inTransaction(String what, ConnectionPool.Work<T> work) {
    return connections.inTransaction("metadata store: " + what, work);
  }

  @Override
  public void insertKey(KeyRecord key) {
    insertKey(key, null);
  }

  @Override
  public void insertKey(KeyRecord key, String keyPolicy) {
    inTransaction("insert key", c -> {
      try (PreparedStatement ps = c.prepareStatement(
          "INSERT INTO kms_key (" + KEY_COLUMNS + ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)")) {
        ps.setString(1, key.keyId().toString());
        ps.setString(2, key.accountId());
        ps.setString(3, key.region());
        ps.setLong(4, key.createdAt().toEpochMilli());
        ps.setString(5, key.description());
        ps.setString(6, key.state().name());
        ps.setString(7, key.keyUsage().name());
        ps.setString(8, key.keySpec().name());
        ps.setString(9, key.origin().name());
        ps.setString(10, key.keyStoreId());
        ps.setInt(11, key.currentVersion());
        setInstant(ps, 12, key.deletionDate());
        ps.setInt(13, key.pendingWindowDays());
        ps.setBoolean(14, key.rotation().enabled());
        ps.setInt(15, key.rotation().periodDays());
        setInstant(ps, 16, key.rotation().nextRotation());
        ps.executeUpdate();
      }
      for (KeyVersion v : key.versions()) {
        insertVersion(c, key.keyId(), v);
      }
      insertTags(c, key.keyId(), key.tags());
      if (keyPolicy != null) {
        insertPolicy(c, key.keyId(), keyPolicy, key.createdAt());
      }
      return null;
    });
  }

  private static void insertPolicy(Connection c, UUID keyId, String document, Instant at) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(
        "INSERT INTO kms_key_policy (key_id, policy_name, document, updated_at) VALUES (?,?,?,?)")) {
      ps.setString(1, keyId.toString());
      ps.setString(2, "default");
      ps.setString(3, document);
      ps.setLong(4, at.toEpochMilli());
      ps.executeUpdate();
    }
  }

  @Override
  public boolean putKeyPolicy(UUID keyId, String document, Instant at) {
    return inTransaction("put key policy", c -> {
      try (PreparedStatement ps = c.prepareStatement("SELECT 1 FROM kms_key WHERE key_id = ? FOR UPDATE")) {
        ps.setString(1, keyId.toString());
        try (ResultSet rs = ps.executeQuery()) {
          if (!rs.next()) {
            return false;
          }
        }
      }
      try (PreparedStatement ps = c.prepareStatement("DELETE FROM kms_key_policy WHERE key_id = ?")) {
        ps.setString(1, keyId.toString());
        ps.executeUpdate();
      }
      insertPolicy(c, keyId, document, at);
      return true;
    });
  }

  @Override
  public java.util.Map<UUID, String> keyPolicies() {
    return inTransaction("load key policies", c -> {
      java.util.Map<UUID, String> out = new java.util.HashMap<>();
      try (PreparedStatement ps = c.prepareStatement("SELECT key_id, document FROM kms_key_policy");
          ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          out.put(UUID.fromString(rs.getString(1)), rs.getString(2));
        }
      }
      return out;
    });
  }

  private static void setInstant(PreparedStatement ps, int index, Instant t) throws SQLException {
    if (t == null) {
      ps.setNull(index, Types.BIGINT);
    } else {
      ps.setLong(index, t.toEpochMilli());
    }
  }

  private static Instant instant(ResultSet rs, int index) throws SQLException {
    long v = rs.getLong(index);
    return rs.wasNull() ? null : Instant.ofEpochMilli(v);
  }

  private static void insertVersion(Connection c, UUID keyId, KeyVersion v) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement("INSERT INTO kms_key_version (key_id, version, hsm_label, hsm_id,"
        + " created_at, rotation_type) VALUES (?,?,?,?,?,?)")) {
      ps.setString(1, keyId.toString());
      ps.setInt(2, v.version());
      ps.setString(3, v.hsmLabel());
      ps.setBytes(4, v.hsmId());
      ps.setLong(5, v.createdAt().toEpochMilli());
      ps.setString(6, v.rotationType());
      ps.executeUpdate();
    }
  }

  private static void insertTags(Connection c, UUID keyId, List<Tag> tags) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(
        "INSERT INTO kms_key_tag (key_id, position, tag_key, tag_value) VALUES (?,?,?,?)")) {
      int position = 0;
      for (Tag t : tags) {
        ps.setString(1, keyId.toString());
        ps.setInt(2, position++);
        ps.setString(3, t.key());
        ps.setString(4, t.value());
        ps.addBatch();
      }
      ps.executeBatch();
    }
  }

  @Override
  public boolean updateKey(KeyRecord key, KeyState expected) {
    return inTransaction("update key", c -> {
      try (PreparedStatement ps = c.prepareStatement("UPDATE kms_key SET description = ?, key_state = ?,"
          + " deletion_date = ?, pending_window_days = ?, rotation_enabled = ?, rotation_period_days = ?,"
          + " next_rotation_at = ? WHERE key_id = ? AND key_state = ?")) {
        ps.setString(1, key.description());
        ps.setString(2, key.state().name());
        setInstant(ps, 3, key.deletionDate());
        ps.setInt(4, key.pendingWindowDays());
        ps.setBoolean(5, key.rotation().enabled());
        ps.setInt(6, key.rotation().periodDays());
        setInstant(ps, 7, key.rotation().nextRotation());
        ps.setString(8, key.keyId().toString());
        ps.setString(9, expected.name());
        return ps.executeUpdate() == 1;
      }
    });
  }

  @Override
  public void addVersion(UUID keyId, KeyVersion version, KeyRotation rotation) {
    inTransaction("add key version", c -> {
      insertVersion(c, keyId, version);
      try (PreparedStatement ps = c.prepareStatement("UPDATE kms_key SET current_version = ?, rotation_enabled = ?,"
          + " rotation_period_days = ?, next_rotation_at = ? WHERE key_id = ? AND current_version = ?")) {
        ps.setInt(1, version.version());
        ps.setBoolean(2, rotation.enabled());
        ps.setInt(3, rotation.periodDays());
        setInstant(ps, 4, rotation.nextRotation());
        ps.setString(5, keyId.toString());
        ps.setInt(6, version.version() - 1);
        if (ps.executeUpdate() != 1) {
          throw new SQLException("key " + keyId + " is not at version " + (version.version() - 1));
        }
      }
      return null;
    });
  }

  @Override
  public void replaceTags(UUID keyId, List<Tag> tags) {
    inTransaction("replace tags", c -> {
      try (PreparedStatement ps = c.prepareStatement("DELETE FROM kms_key_tag WHERE key_id = ?")) {
        ps.setString(1, keyId.toString());
        ps.executeUpdate();
      }
      insertTags(c, keyId, tags);
      return null;
    });
  }

  @Override
  public int countKeys(String accountId) {
    return inTransaction("count keys", c -> {
      try (PreparedStatement ps = c.prepareStatement(
          "SELECT COUNT(*) FROM kms_key WHERE account_id = ? AND key_state <> 'CREATING'")) {
        ps.setString(1, accountId);
        try (ResultSet rs = ps.executeQuery()) {
          rs.next();
          return rs.getInt(1);
        }
      }
    });
  }

  @Override
  public boolean insertAlias(Alias alias) {
    return inTransaction("insert alias", c -> {
      try (PreparedStatement check = c.prepareStatement(
          "SELECT 1 FROM kms_alias WHERE account_id = ? AND alias_name = ?")) {
        check.setString(1, alias.accountId());
        check.setString(2, alias.name());
        try (ResultSet rs = check.executeQuery()) {
          if (rs.next()) {
            return false;
          }
        }
      }
      try (PreparedStatement ps = c.prepareStatement("INSERT INTO kms_alias (account_id, alias_name, target_key_id,"
          + " created_at, updated_at) VALUES (?,?,?,?,?)")) {
        ps.setString(1, alias.accountId());
        ps.setString(2, alias.name());
        ps.setString(3, alias.targetKeyId().toString());
        ps.setLong(4, alias.createdAt().toEpochMilli());
        ps.setLong(5, alias.updatedAt().toEpochMilli());
        ps.executeUpdate();
      }
      return true;
    });
  }

  @Override
  public boolean updateAlias(Alias alias) {
    return inTransaction("update alias", c -> {
      try (PreparedStatement ps = c.prepareStatement("UPDATE kms_alias SET target_key_id = ?, updated_at = ?"
          + " WHERE account_id = ? AND alias_name = ?")) {
        ps.setString(1, alias.targetKeyId().toString());
        ps.setLong(2, alias.updatedAt().toEpochMilli());
        ps.setString(3, alias.accountId());
        ps.setString(4, alias.name());
        return ps.executeUpdate() == 1;
      }
    });
  }

  @Override
  public boolean deleteAlias(String accountId, String name) {
    return inTransaction("delete alias", c -> {
      try (PreparedStatement ps = c.prepareStatement(
          "DELETE FROM kms_alias WHERE account_id = ? AND alias_name = ?")) {
        ps.setString(1, accountId);
        ps.setString(2, name);
        return ps.executeUpdate() == 1;
      }
    });
  }

  @Override
  public Optional<Alias> findAlias(String accountId, String name) {
    return inTransaction("find alias", c -> {
      List<Alias> found = aliases(c, " WHERE account_id = ? AND alias_name = ?", ps -> {
        ps.setString(1, accountId);
        ps.setString(2, name);
      });
      return found.isEmpty() ? Optional.empty() : Optional.of(found.get(0));
    });
  }

  @Override
  public List<Alias> listAliases(String accountId, UUID keyId, String afterName, int limit) {
    return inTransaction("list aliases", c -> {
      StringBuilder where = new StringBuilder(" WHERE account_id = ?");
      if (keyId != null) {
        where.append(" AND target_key_id = ?");
      }
      if (afterName != null) {
        where.append(" AND alias_name > ?");
      }
      where.append(" ORDER BY alias_name LIMIT ?");
      return aliases(c, where.toString(), ps -> {
        int i = 1;
        ps.setString(i++, accountId);
        if (keyId != null) {
          ps.setString(i++, keyId.toString());
        }
        if (afterName != null) {
          ps.setString(i++, afterName);
        }
        ps.setInt(i, limit);
      });
    });
  }

  @Override
  public void deleteKeyRecordingDestruction(UUID keyId, String keyStoreId, List<KeyVersion> versions) {
    inTransaction("delete key, recording its HSM objects", c -> {
      try (PreparedStatement ps = c.prepareStatement("MERGE INTO kms_pending_destruction (key_store_id, hsm_label,"
          + " hsm_id, recorded_at) KEY (key_store_id, hsm_label) VALUES (?,?,?,?)")) {
        for (KeyVersion v : versions) {
          ps.setString(1, keyStoreId);
          ps.setString(2, v.hsmLabel());
          ps.setBytes(3, v.hsmId());
          ps.setLong(4, System.currentTimeMillis());
          ps.addBatch();
        }
        ps.executeBatch();
      }
      deleteKeyRows(c, keyId);
      return null;
    });
  }

  @Override
  public Map<String, byte[]> pendingDestruction(String keyStoreId) {
    return inTransaction("list pending destruction", c -> {
      Map<String, byte[]> out = new LinkedHashMap<>();
      try (PreparedStatement ps = c.prepareStatement(
          "SELECT hsm_label, hsm_id FROM kms_pending_destruction WHERE key_store_id = ? ORDER BY hsm_label")) {
        ps.setString(1, keyStoreId);
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            out.put(rs.getString(1), rs.getBytes(2));
          }
        }
      }
      return out;
    });
  }

  @Override
  public void destroyed(String keyStoreId, String hsmLabel) {
    inTransaction("remove pending destruction", c -> {
      try (PreparedStatement ps = c.prepareStatement(
          "DELETE FROM kms_pending_destruction WHERE key_store_id = ? AND hsm_label = ?")) {
        ps.setString(1, keyStoreId);
        ps.setString(2, hsmLabel);
        ps.executeUpdate();
      }
      return null;
    });
  }

  private static boolean nameTaken(Connection c, CustomKeyStore cks) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(
        "SELECT 1 FROM kms_custom_key_store WHERE account_id = ? AND name = ? AND key_store_id <> ?")) {
      ps.setString(1, cks.accountId());
      ps.setString(2, cks.name());
      ps.setString(3, cks.id());
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next();
      }
    }
  }

  @Override
  public boolean insertCustomKeyStore(CustomKeyStore cks) {
    return inTransaction("insert custom key store", c -> {
      if (nameTaken(c, cks)) {
        return false;
      }
      try (PreparedStatement ps = c.prepareStatement("INSERT INTO kms_custom_key_store (key_store_id, account_id, name,"
          + " cluster_id, trust_anchor, sealed_pin, created_at, connect_wanted) VALUES (?,?,?,?,?,?,?,?)")) {
        ps.setString(1, cks.id());
        ps.setString(2, cks.accountId());
        ps.setString(3, cks.name());
        ps.setString(4, cks.clusterId());
        ps.setString(5, cks.trustAnchor());
        ps.setBytes(6, cks.sealedPin());
        ps.setLong(7, cks.createdAt().toEpochMilli());
        ps.setBoolean(8, cks.connectWanted());
        ps.executeUpdate();
      }
      return true;
    });
  }

  @Override
  public boolean updateCustomKeyStore(CustomKeyStore cks) {
    return inTransaction("update custom key store", c -> {
      if (nameTaken(c, cks)) {
        return false;
      }
      try (PreparedStatement ps = c.prepareStatement("UPDATE kms_custom_key_store SET name = ?, cluster_id = ?,"
          + " sealed_pin = ?, connect_wanted = ? WHERE key_store_id = ?")) {
        ps.setString(1, cks.name());
        ps.setString(2, cks.clusterId());
        ps.setBytes(3, cks.sealedPin());
        ps.setBoolean(4, cks.connectWanted());
        ps.setString(5, cks.id());
        ps.executeUpdate();
      }
      return true;
    });
  }

  @Override
  public boolean deleteCustomKeyStore(String keyStoreId) {
    return inTransaction("delete custom key store", c -> {
      // objects still waiting for destruction stay in the HSM, as key material does when AWS deletes a key store
      try (PreparedStatement ps = c.prepareStatement("DELETE FROM kms_pending_destruction WHERE key_store_id = ?")) {
        ps.setString(1, keyStoreId);
        ps.executeUpdate();
      }
      try (PreparedStatement ps = c.prepareStatement("DELETE FROM kms_custom_key_store WHERE key_store_id = ?")) {
        ps.setString(1, keyStoreId);
        return ps.executeUpdate() == 1;
      }
    });
  }

  @Override
  public List<CustomKeyStore> customKeyStores(String accountId) {
    return inTransaction("list custom key stores", c -> {
      List<CustomKeyStore> out = new ArrayList<>();
      try (PreparedStatement ps = c.prepareStatement("SELECT key_store_id, account_id, name, cluster_id, trust_anchor,"
          + " sealed_pin, created_at, connect_wanted FROM kms_custom_key_store WHERE account_id = ?"
          + " ORDER BY key_store_id")) {
        ps.setString(1, accountId);
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            out.add(new CustomKeyStore(rs.getString(1), rs.getString(2), rs.getString(3), rs.getString(4),
                rs.getString(5), rs.getBytes(6), Instant.ofEpochMilli(rs.getLong(7)), rs.getBoolean(8)));
          }
        }
      }
      return out;
    });
  }

  @Override
  public int countKeysInStore(String keyStoreId) {
    return inTransaction("count keys in a key store", c -> {
      try (PreparedStatement ps = c.prepareStatement(
          "SELECT COUNT(*) FROM kms_key WHERE key_store_id = ?")) {
        ps.setString(1, keyStoreId);
        try (ResultSet rs = ps.executeQuery()) {
          rs.next();
          return rs.getInt(1);
        }
      }
    });
  }

  private static List<Alias> aliases(Connection c, String where, Binder binder) throws SQLException {
    List<Alias> out = new ArrayList<>();
    try (PreparedStatement ps = c.prepareStatement(
        "SELECT account_id, alias_name, target_key_id, created_at, updated_at FROM kms_alias" + where)) {
      binder.bind(ps);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          out.add(new Alias(rs.getString(1), rs.getString(2), UUID.fromString(rs.getString(3)),
              Instant.ofEpochMilli(rs.getLong(4)), Instant.ofEpochMilli(rs.getLong(5))));
        }
      }
    }
    return out;
  }

  @Override
  public boolean updateKeyState(UUID keyId, KeyState expected, KeyState next) {
    return inTransaction("update key state", c -> {
      try (PreparedStatement ps =
          c.prepareStatement("UPDATE kms_key SET key_state = ? WHERE key_id = ? AND key_state = ?")) {
        ps.setString(1, next.name());
        ps.setString(2, keyId.toString());
        ps.setString(3, expected.name());
        return ps.executeUpdate() == 1;
      }
    });
  }

  @Override
  public boolean deleteKey(UUID keyId) {
    return inTransaction("delete key", c -> deleteKeyRows(c, keyId));
  }

  private static boolean deleteKeyRows(Connection c, UUID keyId) throws SQLException {
    {
      // children first: not every database honours ON DELETE CASCADE the same way
      for (String table : List.of("kms_alias", "kms_key_tag", "kms_key_version", "kms_key_policy",
          "kms_grant_constraint", "kms_grant", "kms_key_import")) {
        String column = table.equals("kms_alias") ? "target_key_id" : "key_id";
        try (PreparedStatement ps = c.prepareStatement("DELETE FROM " + table + " WHERE " + column + " = ?")) {
          ps.setString(1, keyId.toString());
          ps.executeUpdate();
        }
      }
      try (PreparedStatement ps = c.prepareStatement("DELETE FROM kms_key WHERE key_id = ?")) {
        ps.setString(1, keyId.toString());
        return ps.executeUpdate() == 1;
      }
    }
  }

  @Override
  public boolean insertGrant(Grant grant) {
    return inTransaction("insert grant", c -> {
      try (PreparedStatement ps = c.prepareStatement("SELECT 1 FROM kms_key WHERE key_id = ? FOR UPDATE")) {
        ps.setString(1, grant.keyId().toString());
        try (ResultSet rs = ps.executeQuery()) {
          if (!rs.next()) {
            return false;
          }
        }
      }
      try (PreparedStatement ps = c.prepareStatement("INSERT INTO kms_grant (grant_id, key_id, name, created_at,"
          + " grantee_principal, retiring_principal, issuing_account, operations) VALUES (?,?,?,?,?,?,?,?)")) {
        ps.setString(1, grant.grantId());
        ps.setString(2, grant.keyId().toString());
        ps.setString(3, grant.name());
        ps.setLong(4, grant.createdAt().toEpochMilli());
        ps.setString(5, grant.granteePrincipal());
        ps.setString(6, grant.retiringPrincipal());
        ps.setString(7, grant.issuingAccount());
        ps.setString(8, String.join(",", grant.operations()));
        ps.executeUpdate();
      }
      try (PreparedStatement ps = c.prepareStatement("INSERT INTO kms_grant_constraint (grant_id, key_id, kind,"
          + " ctx_key, ctx_value) VALUES (?,?,?,?,?)")) {
        addConstraintRows(ps, grant, "EQUALS", grant.constraints().encryptionContextEquals());
        addConstraintRows(ps, grant, "SUBSET", grant.constraints().encryptionContextSubset());
        ps.executeBatch();
      }
      return true;
    });
  }

  private static void addConstraintRows(PreparedStatement ps, Grant grant, String kind, Map<String, String> pairs)
      throws SQLException {
    if (pairs == null) {
      return;
    }
    if (pairs.isEmpty()) {
      // an empty constraint (EncryptionContextEquals = {}) is not the same as none: a marker row with no pair
      pairs = Map.of("", "");
      kind = kind + "0";
    }
    for (Map.Entry<String, String> e : pairs.entrySet()) {
      ps.setString(1, grant.grantId());
      ps.setString(2, grant.keyId().toString());
      ps.setString(3, kind);
      ps.setString(4, e.getKey());
      ps.setString(5, e.getValue());
      ps.addBatch();
    }
  }

  @Override
  public boolean deleteGrant(UUID keyId, String grantId) {
    return inTransaction("delete grant", c -> {
      try (PreparedStatement ps = c.prepareStatement("DELETE FROM kms_grant_constraint WHERE grant_id = ?")) {
        ps.setString(1, grantId);
        ps.executeUpdate();
      }
      try (PreparedStatement ps = c.prepareStatement("DELETE FROM kms_grant WHERE grant_id = ? AND key_id = ?")) {
        ps.setString(1, grantId);
        ps.setString(2, keyId.toString());
        return ps.executeUpdate() == 1;
      }
    });
  }

  @Override
  public List<Grant> allGrants() {
    return inTransaction("load grants", c -> {
      Map<String, Map<String, String>> equals = new HashMap<>();
      Map<String, Map<String, String>> subsets = new HashMap<>();
      try (PreparedStatement ps = c.prepareStatement(
              "SELECT grant_id, kind, ctx_key, ctx_value FROM kms_grant_constraint");
          ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          String kind = rs.getString(2);
          Map<String, Map<String, String>> into = kind.startsWith("EQUALS") ? equals : subsets;
          Map<String, String> pairs = into.computeIfAbsent(rs.getString(1), id -> new HashMap<>());
          if (!kind.endsWith("0")) {
            pairs.put(rs.getString(3), rs.getString(4));
          }
        }
      }
      List<Grant> out = new ArrayList<>();
      try (PreparedStatement ps = c.prepareStatement("SELECT grant_id, key_id, name, created_at, grantee_principal,"
              + " retiring_principal, issuing_account, operations FROM kms_grant ORDER BY created_at, grant_id");
          ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          String id = rs.getString(1);
          out.add(new Grant(UUID.fromString(rs.getString(2)), id, rs.getString(3), Instant.ofEpochMilli(rs.getLong(4)),
              rs.getString(5), rs.getString(6), rs.getString(7), List.of(rs.getString(8).split(",")),
              new Grant.Constraints(equals.get(id), subsets.get(id))));
        }
      }
      return out;
    });
  }

  @Override
  public Optional<KeyRecord> findKey(UUID keyId) {
    return inTransaction("find key", c -> {
      List<KeyRecord> found = loadKeys(c, " WHERE key_id = ?", ps -> ps.setString(1, keyId.toString()));
      return found.isEmpty() ? Optional.empty() : Optional.of(found.get(0));
    });
  }

  @Override
  public List<KeyRecord> listKeys(String accountId, String afterKeyId, int limit) {
    return inTransaction("list keys", c -> {
      String where = afterKeyId == null
          ? " WHERE account_id = ? ORDER BY key_id LIMIT ?"
          : " WHERE account_id = ? AND key_id > ? ORDER BY key_id LIMIT ?";
      return loadKeys(c, where, ps -> {
        ps.setString(1, accountId);
        if (afterKeyId == null) {
          ps.setInt(2, limit);
        } else {
          ps.setString(2, afterKeyId);
          ps.setInt(3, limit);
        }
      });
    });
  }

  @Override
  public List<KeyRecord> allKeys() {
    return inTransaction("load all keys", c -> loadKeys(c, " ORDER BY key_id", null));
  }

  @FunctionalInterface
  private interface Binder {
    void bind(PreparedStatement ps) throws SQLException;
  }

  private record KeyRow(
      UUID keyId, String accountId, String region, Instant createdAt, String description, KeyState state,
      KeyUsage keyUsage, KeySpec keySpec, Origin origin, String keyStoreId, int currentVersion, Instant deletionDate,
      int pendingWindowDays, KeyRotation rotation) {}

  /**
   * Loads the keys a WHERE clause selects, then their versions and tags in two more queries. A null binder
   * means every key: the child tables are then read whole rather than through a huge IN list.
   */
  private static List<KeyRecord> loadKeys(Connection c, String whereAndOrder, Binder binder) throws SQLException {
    Map<String, KeyRow> rows = new LinkedHashMap<>();
    try (PreparedStatement ps = c.prepareStatement("SELECT " + KEY_COLUMNS + " FROM kms_key" + whereAndOrder)) {
      if (binder != null) {
        binder.bind(ps);
      }
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          KeyRow row = new KeyRow(UUID.fromString(rs.getString(1)), rs.getString(2), rs.getString(3),
              Instant.ofEpochMilli(rs.getLong(4)), rs.getString(5), KeyState.valueOf(rs.getString(6)),
              KeyUsage.valueOf(rs.getString(7)), KeySpec.valueOf(rs.getString(8)), Origin.valueOf(rs.getString(9)),
              rs.getString(10), rs.getInt(11), instant(rs, 12),
              rs.getInt(13), new KeyRotation(rs.getBoolean(14), rs.getInt(15), instant(rs, 16)));
          rows.put(row.keyId().toString(), row);
        }
      }
    }
    if (rows.isEmpty()) {
      return List.of();
    }
    Map<String, List<KeyVersion>> versions = new HashMap<>();
    Map<String, List<Tag>> tags = new HashMap<>();
    String in = binder == null ? "" : " WHERE key_id IN " + inClause(rows.size());
    try (PreparedStatement ps = c.prepareStatement(
        "SELECT key_id, version, hsm_label, hsm_id, created_at, rotation_type FROM kms_key_version" + in
            + " ORDER BY key_id, version")) {
      if (binder != null) {
        bindIds(ps, rows.keySet());
      }
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          versions.computeIfAbsent(rs.getString(1), k -> new ArrayList<>()).add(
              new KeyVersion(rs.getInt(2), rs.getString(3), rs.getBytes(4), Instant.ofEpochMilli(rs.getLong(5)),
                  rs.getString(6)));
        }
      }
    }
    try (PreparedStatement ps = c.prepareStatement(
        "SELECT key_id, tag_key, tag_value FROM kms_key_tag" + in + " ORDER BY key_id, position")) {
      if (binder != null) {
        bindIds(ps, rows.keySet());
      }
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          tags.computeIfAbsent(rs.getString(1), k -> new ArrayList<>()).add(new Tag(rs.getString(2), rs.getString(3)));
        }
      }
    }
    List<KeyRecord> out = new ArrayList<>(rows.size());
    for (KeyRow r : rows.values()) {
      String id = r.keyId().toString();
      out.add(new KeyRecord(r.keyId(), r.accountId(), r.region(), r.createdAt(), r.description(), r.state(),
          r.keyUsage(), r.keySpec(), r.origin(), r.keyStoreId(), r.currentVersion(), r.deletionDate(),
          r.pendingWindowDays(), r.rotation(), versions.getOrDefault(id, List.of()), tags.getOrDefault(id, List.of())));
    }
    return out;
  }

  private static String inClause(int n) {
    StringBuilder sb = new StringBuilder("(");
    for (int i = 0; i < n; i++) {
      sb.append(i == 0 ? "?" : ",?");
    }
    return sb.append(')').toString();
  }

  private static void bindIds(PreparedStatement ps, Iterable<String> ids) throws SQLException {
    int i = 1;
    for (String id : ids) {
      ps.setString(i++, id);
    }
  }

  @Override
  public void close() {
    connections.close();
  }
}
