package io.kmsgw.store.jdbc;

import io.kmsgw.store.StoreException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.logging.Logger;

/**
 * Versioned schema migrations: {@code /db/V<n>__<name>.sql} on the class path, applied in order, each in its
 * own transaction together with its row in {@code schema_version}. A database newer than this build is
 * refused rather than used.
 */
public final class Migrations {
  private static final Logger LOG = Logger.getLogger(Migrations.class.getName());

  /**
   * Every migration of this build, in order; a script's recorded version is its position here. Append; never edit
   * one that has shipped.
   */
  static final List<String> SCRIPTS = List.of("V1__keys.sql", "V2__lifecycle.sql", "V3__custom_key_stores.sql",
      "V4__custom_key_store_names.sql", "V5__key_policies.sql", "V6__identities.sql", "V7__grants.sql",
      "V8__key_imports.sql");

  private Migrations() {}

  public static void apply(ConnectionPool pool) {
    Connection c = pool.take();
    try {
      try (Statement s = c.createStatement()) {
        s.execute("CREATE TABLE IF NOT EXISTS schema_version ("
            + "version INT NOT NULL PRIMARY KEY, script VARCHAR(200) NOT NULL, applied_at BIGINT NOT NULL)");
      }
      c.commit();
      int current = 0;
      try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT MAX(version) FROM schema_version")) {
        if (rs.next()) {
          current = rs.getInt(1);
        }
      }
      if (current > SCRIPTS.size()) {
        throw new StoreException("the metadata store has schema version " + current
            + " but this kmsgw knows only up to " + SCRIPTS.size() + "; use a newer kmsgw");
      }
      for (int v = current + 1; v <= SCRIPTS.size(); v++) {
        String script = SCRIPTS.get(v - 1);
        for (String sql : statements(read(script))) {
          try (Statement s = c.createStatement()) {
            s.execute(sql);
          }
        }
        try (PreparedStatement ps =
            c.prepareStatement("INSERT INTO schema_version (version, script, applied_at) VALUES (?,?,?)")) {
          ps.setInt(1, v);
          ps.setString(2, script);
          ps.setLong(3, System.currentTimeMillis());
          ps.executeUpdate();
        }
        c.commit();
        int applied = v;
        LOG.info(() -> "metadata store: applied schema migration " + applied + " (" + script + ")");
      }
    } catch (SQLException e) {
      try {
        c.rollback();
      } catch (SQLException ignored) {
        // reporting the original failure
      }
      throw new StoreException("schema migration failed: " + e.getMessage(), e);
    } finally {
      pool.give(c);
    }
  }

  private static String read(String script) {
    try (InputStream in = Migrations.class.getResourceAsStream("/db/" + script)) {
      if (in == null) {
        throw new StoreException("migration script missing from the build: " + script);
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new StoreException("cannot read migration " + script, e);
    }
  }

  /** Splits a script on semicolons that end a line, dropping comment lines. */
  static List<String> statements(String script) {
    List<String> out = new ArrayList<>();
    StringBuilder current = new StringBuilder();
    for (String line : script.split("\n")) {
      String trimmed = line.strip();
      if (trimmed.startsWith("--") || trimmed.isEmpty()) {
        continue;
      }
      current.append(line).append('\n');
      if (trimmed.endsWith(";")) {
        String sql = current.toString().strip();
        out.add(sql.substring(0, sql.length() - 1));
        current.setLength(0);
      }
    }
    if (!current.toString().isBlank()) {
      out.add(current.toString().strip());
    }
    return out;
  }
}
