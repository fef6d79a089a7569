package io.kmsgw.store.jdbc;

import io.kmsgw.store.StoreException;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;

/**
 * At most {@code size} JDBC connections, one per store worker thread, with auto-commit off. Connections are opened
 * when needed; one that fails its validity check is replaced. A permit, not a connection, is what a caller waits
 * for, so a database outage that makes reopening fail never shrinks the pool: the next caller simply tries again.
 */
public final class ConnectionPool implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(ConnectionPool.class.getName());

  private final String url;
  private final Properties properties;
  private final Semaphore permits;
  private final ConcurrentLinkedDeque<Connection> idle = new ConcurrentLinkedDeque<>();
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
    this.permits = new Semaphore(size);
    // fail at start-up, with a clear message, if the store cannot be opened at all
    idle.add(open());
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
      if (!permits.tryAcquire(30, TimeUnit.SECONDS)) {
        throw new StoreException("no metadata store connection free within 30 s");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new StoreException("interrupted waiting for a metadata store connection");
    }
    try {
      Connection c = idle.pollFirst();
      if (c != null && !isValid(c)) {
        LOG.warning("metadata store connection failed its check; replacing it");
        closeQuietly(c);
        c = null;
      }
      return c != null ? c : open();
    } catch (RuntimeException e) {
      permits.release();
      throw e;
    }
  }

  private static boolean isValid(Connection c) {
    try {
      return c.isValid(5);
    } catch (SQLException e) {
      return false;
    }
  }

  void give(Connection c) {
    idle.addFirst(c);
    permits.release();
  }

  /** Connections open now (for tests). */
  int openConnections() {
    synchronized (all) {
      return all.size();
    }
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

  /** Work on one connection inside a transaction. */
  @FunctionalInterface
  interface Work<T> {
    T run(Connection c) throws SQLException;
  }

  /**
   * Runs work in one transaction: committed when it returns, rolled back when it throws, the connection given back
   * either way; a SQLException becomes a StoreException naming {@code what}.
   */
  <T> T inTransaction(String what, Work<T> work) {
    Connection c = take();
    boolean ok = false;
    try {
      T result = work.run(c);
      c.commit();
      ok = true;
      return result;
    } catch (SQLException e) {
      throw new StoreException(what + " failed: " + e.getMessage(), e);
    } finally {
      if (!ok) {
        try {
          c.rollback();
        } catch (SQLException ignored) {
          // the connection is returned anyway; the next use will fail loudly if it is broken
        }
      }
      give(c);
    }
  }

  @Override
  public void close() {
    List<Connection> copy;
    synchronized (all) {
      copy = new ArrayList<>(all);
    }
    copy.forEach(this::closeQuietly);
    idle.clear();
  }
}
