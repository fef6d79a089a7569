package io.kmsgw.store.jdbc;

import io.kmsgw.domain.ImportedMaterial;
import io.kmsgw.domain.KeyState;
import io.kmsgw.store.ImportStore;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Types;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;

/** {@link ImportStore} over the metadata store's connections (table {@code kms_key_import}, migration V8). */
public final class JdbcImportStore implements ImportStore {
  private final ConnectionPool connections;

  JdbcImportStore(ConnectionPool connections) {
    this.connections = connections;
  }

  @Override
  public boolean recordImport(UUID keyId, KeyState expected, KeyState next, ImportedMaterial m) {
    return connections.inTransaction("metadata store: record imported material", c -> {
      try (PreparedStatement ps = c.prepareStatement(
          "UPDATE kms_key SET key_state = ? WHERE key_id = ? AND key_state = ?")) {
        ps.setString(1, next.name());
        ps.setString(2, keyId.toString());
        ps.setString(3, expected.name());
        if (ps.executeUpdate() != 1) {
          return false;
        }
      }
      try (PreparedStatement ps = c.prepareStatement("MERGE INTO kms_key_import (key_id, expiration_model, valid_to,"
          + " check_value, imported_at) KEY (key_id) VALUES (?,?,?,?,?)")) {
        ps.setString(1, keyId.toString());
        ps.setString(2, m.expirationModel() == null ? null : m.expirationModel().name());
        if (m.validTo() == null) {
          ps.setNull(3, Types.BIGINT);
        } else {
          ps.setLong(3, m.validTo().toEpochMilli());
        }
        ps.setBytes(4, m.checkValue());
        ps.setLong(5, m.importedAt().toEpochMilli());
        ps.executeUpdate();
      }
      return true;
    });
  }

  @Override
  public Map<UUID, ImportedMaterial> allImports() {
    return connections.inTransaction("metadata store: load imported material", c -> {
      Map<UUID, ImportedMaterial> out = new LinkedHashMap<>();
      try (PreparedStatement ps = c.prepareStatement(
          "SELECT key_id, expiration_model, valid_to, check_value, imported_at FROM kms_key_import");
          ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          String model = rs.getString(2);
          long validTo = rs.getLong(3);
          Instant to = rs.wasNull() ? null : Instant.ofEpochMilli(validTo);
          out.put(UUID.fromString(rs.getString(1)), new ImportedMaterial(
              model == null ? null : ImportedMaterial.ExpirationModel.valueOf(model), to, rs.getBytes(4),
              Instant.ofEpochMilli(rs.getLong(5))));
        }
      }
      return out;
    });
  }
}
