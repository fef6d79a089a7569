package io.kmsgw.store.jdbc;

import io.kmsgw.store.StoreException;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;

/**
 * A fixed set of JDBC connections, one per store worker thread, with auto-commit off. A connection that fails
 * its validity check when taken is replaced.
 */
public final class ConnectionPool implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(ConnectionPool.class.getName());

  private final String url;
  private final Properties properties;
  private final BlockingQueue<Connection> idle;
  private final List<Connection> all = new ArrayList<>();

  public ConnectionPool(String url, String user, String password, int size) {
    this.url = url;
    this.properties = new Properties();
    if (user != null && !user.isEmpty()) {
      properties.setProperty("user", user);
    }
    if (password != null && !password.isEmpty()) {
      properties.setProperty("password", password);
    }
    this.idle = new ArrayBlockingQueue<>(size);
    for (int i = 0; i < size; i++) {
      idle.add(open());
    }
  }

  private Connection open() {
    try {
      Connection c = DriverManager.getConnection(url, properties);
      c.setAutoCommit(false);
      synchronized (all) {
        all.add(c);
      }
      return c;
    } catch (SQLException e) {
      throw new StoreException("cannot open the metadata store (" + redact(url) + "): " + e.getMessage(), e);
    }
  }

  /** The URL without anything that looks like a password parameter. */
  static String redact(String url) {
    return url.replaceAll("(?i)(password|pwd)=[^;&]*", "$1=***");
  }

  Connection take() {
    try {
      Connection c = idle.poll(30, TimeUnit.SECONDS);
      if (c == null) {
        throw new StoreException("no metadata store connection free within 30 s");
      }
      if (!c.isValid(5)) {
        LOG.warning("metadata store connection failed its check; replacing it");
        closeQuietly(c);
        c = open();
      }
      return c;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new StoreException("interrupted waiting for a metadata store connection");
    } catch (SQLException e) {
      throw new StoreException("metadata store connection check failed: " + e.getMessage(), e);
    }
  }

  void give(Connection c) {
    idle.offer(c);
  }

  private void closeQuietly(Connection c) {
    synchronized (all) {
      all.remove(c);
    }
    try {
      c.close();
    } catch (SQLException ignored) {
      // closing a broken connection
    }
  }

  @Override
  public void close() {
    List<Connection> copy;
    synchronized (all) {
      copy = new ArrayList<>(all);
    }
    copy.forEach(this::closeQuietly);
  }
}
