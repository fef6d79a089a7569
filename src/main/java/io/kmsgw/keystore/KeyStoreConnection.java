package io.kmsgw.keystore;

import io.kmsgw.async.Completions;
import io.kmsgw.domain.ServiceEvents;
import io.kmsgw.error.ErrorCode;
import io.kmsgw.error.KmsException;
import io.kmsgw.hsm.Hsm;
import io.kmsgw.hsm.HsmConnector;
import io.kmsgw.hsm.HsmErrorKind;
import io.kmsgw.hsm.HsmException;
import io.kmsgw.hsm.HsmStats;
import io.kmsgw.hsm.TokenMechanisms;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The connection of one key store to its HSM, with the states of the KMS API's {@code ConnectionStateType}.
 *
 * <p>Connecting runs on the given scheduler, never on a caller's thread. A failed connection is {@code FAILED}
 * with a {@code ConnectionErrorCode}, and is retried with exponential backoff, except for a wrong or locked PIN:
 * retrying those would count against the HSM's PIN retry limit and can lock the crypto user out, so they wait
 * for an operator. A connection that dies of a device error re-initialises the library and reconnects.
 *
 * <p>A transient failure (a device, session or resource error, or a library that loaded but whose
 * {@code C_Initialize} failed) is retried within {@link #TRANSIENT_MAX_BACKOFF} however long it lasted, and a request
 * that finds the store FAILED starts the next attempt at once: a process that ran out of file descriptors sees its
 * PKCS#11 calls fail with such codes, and must be serving again within seconds of getting them back, not after a
 * backoff grown to minutes (issue #15).
 */
public final class KeyStoreConnection implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(KeyStoreConnection.class.getName());

  /** The longest wait before retrying after a transient failure, whatever {@code maxBackoff} is. */
  static final Duration TRANSIENT_MAX_BACKOFF = Duration.ofSeconds(2);
  /** Requests that find the store FAILED start an attempt at most this often. */
  private static final long DEMAND_RETRY_NANOS = TimeUnit.MILLISECONDS.toNanos(500);

  /** The KMS API's ConnectionStateType. */
  public enum State { DISCONNECTED, CONNECTING, CONNECTED, FAILED, DISCONNECTING }

  /**
   * A snapshot for health checks: state, the error code when FAILED, a message for operators, pool figures, and the
   * mechanisms the token offered at the last connection that got that far ({@link TokenMechanisms#NONE} before).
   */
  public record Status(String keyStoreId, State state, String errorCode, String message, HsmStats stats,
      TokenMechanisms mechanisms) {}

  private final String keyStoreId;
  private final HsmConnector connector;
  private final ScheduledExecutorService scheduler;
  private final Duration initialBackoff;
  private final Duration maxBackoff;
  private final Consumer<Hsm> onConnected;
  private final HsmWorkers workers;
  private final boolean autoReconnect;
  private volatile boolean recoverFirst;
  private volatile Runnable onClose = () -> {};
  private volatile ServiceEvents events = ServiceEvents.NONE;
  /** What the token offered at the last connection that got that far (kept when it then failed the check). */
  private volatile TokenMechanisms mechanisms = TokenMechanisms.NONE;

  /** State, connection and error change together, so readers never see a CONNECTED state without its HSM. */
  private record Snapshot(State state, Hsm hsm, String errorCode, String message) {}

  private volatile Snapshot current = new Snapshot(State.DISCONNECTED, null, null, "");
  private Duration nextBackoff;
  /** Incremented by each Connect and Disconnect; an attempt acts only while its epoch is current. */
  private long epoch;
  private ScheduledFuture<?> pending;
  private volatile boolean closed;
  /** FAILED with a retry scheduled: a request may bring that retry forward. */
  private volatile boolean awaitingRetry;
  /** The failure being retried may end by itself within seconds (TransientFailures): keys stay usable meanwhile. */
  private volatile boolean transientOutage;
  private final java.util.concurrent.atomic.AtomicLong lastDemandRetry =
      new java.util.concurrent.atomic.AtomicLong(System.nanoTime() - DEMAND_RETRY_NANOS);

  /**
   * @param workers the worker pool for this store's PKCS#11 calls, sized to its sessions
   * @param autoReconnect retry a failed connection with backoff (the default key store); when false (custom key
   *     stores, as AWS) a FAILED store stays FAILED until it is disconnected and connected again
   * @param onConnected runs on the scheduler after each successful connection, before the state becomes
   *     CONNECTED (reconciliation at start)
   */
  public KeyStoreConnection(String keyStoreId, HsmConnector connector, ScheduledExecutorService scheduler,
      Duration initialBackoff, Duration maxBackoff, HsmWorkers workers, boolean autoReconnect,
      Consumer<Hsm> onConnected) {
    this.workers = workers;
    this.autoReconnect = autoReconnect;
    this.keyStoreId = keyStoreId;
    this.connector = connector;
    this.scheduler = scheduler;
    this.initialBackoff = initialBackoff;
    this.maxBackoff = maxBackoff;
    this.nextBackoff = initialBackoff;
    this.onConnected = onConnected;
  }

  /**
   * Starts connecting in the background. Each Connect starts a new attempt epoch: an attempt of an older epoch
   * (one that was under way when the store was disconnected) can neither publish its connection nor fail the
   * store; it closes what it opened.
   */
  public synchronized void connect() {
    State state = current.state();
    if (closed || state == State.CONNECTED || state == State.CONNECTING || state == State.DISCONNECTING) {
      return;
    }
    long attemptEpoch = ++epoch;
    nextBackoff = initialBackoff;
    transition(State.CONNECTING, null, null, "connecting to " + connector.describe());
    pending = scheduler.schedule(() -> attempt(attemptEpoch), 0, TimeUnit.MILLISECONDS);
  }

  private synchronized boolean current(long attemptEpoch, State expected) {
    return !closed && attemptEpoch == epoch && current.state() == expected;
  }

  private void attempt(long attemptEpoch) {
    if (!current(attemptEpoch, State.CONNECTING)) {
      return;
    }
    Hsm connected;
    try {
      if (recoverFirst) {
        recoverFirst = false;
        connector.recover();
      }
      connected = connector.connect(this::onFatal);
    } catch (HsmException e) {
      failed(e, attemptEpoch);
      return;
    } catch (KmsException e) {
      // the PIN supplier: a custom store's password is unsealed by the default key store's HSM
      failed(new HsmException(HsmErrorKind.OTHER, -1, null, "cannot get the PIN: " + e.getMessage(), e), attemptEpoch);
      return;
    } catch (RuntimeException e) {
      failed(new HsmException(HsmErrorKind.OTHER, -1, null, "unexpected failure: " + e, e), attemptEpoch);
      return;
    }
    mechanisms = connected.mechanisms();
    LOG.info(() -> "key store " + keyStoreId + ": the token offers " + mechanisms.summary());
    try {
      // what the token offers first: the GCM IV self-test needs AES-GCM, and a missing mechanism says more
      MechanismCheck.require(keyStoreId, connected);
      // a store whose gcm_iv_from_hsm does not match its HSM never serves (GcmIvSelfTest)
      GcmIvSelfTest.run(keyStoreId, connected);
    } catch (HsmException e) {
      connected.close();
      failed(e, attemptEpoch);
      return;
    } catch (RuntimeException e) {
      connected.close();
      failed(new HsmException(HsmErrorKind.OTHER, -1, null, "unexpected failure: " + e, e), attemptEpoch);
      return;
    }
    if (current(attemptEpoch, State.CONNECTING)) {
      try {
        onConnected.accept(connected);
      } catch (RuntimeException e) {
        LOG.log(Level.SEVERE, "key store " + keyStoreId + ": start-up work after connecting failed", e);
      }
    }
    synchronized (this) {
      if (!current(attemptEpoch, State.CONNECTING)) {
        // closed, disconnected or connected anew while this attempt was under way
        connected.close();
        return;
      }
      nextBackoff = initialBackoff;
      transientOutage = false;
      HsmStats s = connected.stats();
      transition(State.CONNECTED, connected, null,
          "connected to " + connector.describe() + " with " + s.open() + " sessions");
    }
  }

  /** A failed attempt of the current epoch: FAILED, and retried later unless it waits for an operator. */
  private synchronized void failed(HsmException e, long attemptEpoch) {
    if (!current(attemptEpoch, State.CONNECTING)) {
      return;
    }
    String code = connectionErrorCode(e.kind());
    boolean pin = e.kind() == HsmErrorKind.PIN_INCORRECT || e.kind() == HsmErrorKind.PIN_LOCKED;
    transientOutage = transientOutage && TransientFailures.isTransient(e);
    String advice = advice(e.kind());
    if (pin) {
      transition(State.FAILED, null, code, e.getMessage() + "; " + advice + "; not retrying (a retry would count "
          + "against the HSM's PIN attempts)");
    } else if (!autoReconnect) {
      transition(State.FAILED, null, code, e.getMessage() + "; " + advice
          + "; disconnect and connect the key store to try again");
    } else {
      transition(State.FAILED, null, code, e.getMessage() + TransientFailures.descriptorHint() + "; " + advice + "; retrying in "
          + retryLater(attemptEpoch, TransientFailures.isTransient(e)).toMillis() + " ms");
    }
  }

  /**
   * Schedules the next attempt of this epoch after the backoff, at most {@link #TRANSIENT_MAX_BACKOFF} after a
   * transient failure; returns the wait.
   */
  private synchronized Duration retryLater(long attemptEpoch, boolean transientFailure) {
    Duration cap = transientFailure && TRANSIENT_MAX_BACKOFF.compareTo(maxBackoff) < 0 ? TRANSIENT_MAX_BACKOFF
        : maxBackoff;
    Duration wait = nextBackoff.compareTo(cap) > 0 ? cap : nextBackoff;
    nextBackoff = nextBackoff.multipliedBy(2).compareTo(maxBackoff) > 0 ? maxBackoff : nextBackoff.multipliedBy(2);
    awaitingRetry = true;
    pending = scheduler.schedule(() -> retry(attemptEpoch, "retrying " + connector.describe()), wait.toMillis(),
        TimeUnit.MILLISECONDS);
    return wait;
  }

  /** The scheduled (or a request's) retry of a FAILED store. */
  private void retry(long attemptEpoch, String why) {
    synchronized (this) {
      if (!current(attemptEpoch, State.FAILED) || !awaitingRetry) {
        return;
      }
      if (pending != null) {
        pending.cancel(false);
      }
      transition(State.CONNECTING, null, null, why);
    }
    attempt(attemptEpoch);
  }

  /**
   * A request found the store FAILED: if it waits for a retry (not for an operator), the retry starts now instead
   * of at the end of its backoff. Never blocks: the attempt runs on the scheduler.
   */
  private void retryOnDemand() {
    long now = System.nanoTime();
    long last = lastDemandRetry.get();
    if (!awaitingRetry || now - last < DEMAND_RETRY_NANOS || !lastDemandRetry.compareAndSet(last, now)) {
      return;
    }
    try {
      scheduler.execute(() -> {
        long attemptEpoch;
        synchronized (this) {
          attemptEpoch = epoch;
        }
        retry(attemptEpoch, "retrying " + connector.describe() + " at once: a request needs it");
      });
    } catch (java.util.concurrent.RejectedExecutionException closedStore) {
      // the store is closed: nothing to retry
    }
  }

  /** Called by the HSM connection when it dies (device error, logged out, library re-initialised). */
  private void onFatal(HsmException e) {
    try {
      scheduler.execute(() -> connectionLost(e));
    } catch (java.util.concurrent.RejectedExecutionException closedStore) {
      // the store is closed (deleted, or the gateway is stopping): nothing to reconnect
    }
  }

  private void connectionLost(HsmException e) {
    Hsm dead;
    long attemptEpoch;
    boolean reinitialised = e.kind() == HsmErrorKind.LIBRARY_REINITIALISED;
    synchronized (this) {
      if (closed || current.state() != State.CONNECTED) {
        return;
      }
      dead = current.hsm();
      attemptEpoch = epoch;
      transientOutage = reinitialised || TransientFailures.isTransient(e);
      if (reinitialised) {
        // another store on the same library recovered; nothing is known to be wrong with this one: log in again
        transition(State.CONNECTING, null, null, "the shared PKCS#11 library was re-initialised; reconnecting to "
            + connector.describe());
      } else if (!autoReconnect) {
        // a device fault: the library is re-initialised when an operator connects the store again (a lost login
        // needs only a new one, and re-initialising would cut every other store on the library)
        recoverFirst = e.kind() == HsmErrorKind.DEVICE_ERROR;
        transition(State.FAILED, null, connectionErrorCode(e.kind()), "connection lost: " + e.getMessage() + "; "
            + advice(e.kind()) + "; disconnect and connect the key store to try again");
      } else {
        transition(State.FAILED, null, connectionErrorCode(e.kind()), "connection lost: " + e.getMessage());
      }
    }
    if (dead != null) {
      dead.close();
    }
    if (reinitialised) {
      attempt(attemptEpoch);
    } else if (autoReconnect) {
      try {
        if (e.kind() != HsmErrorKind.TOKEN_REMOVED) {
          // a removed token is not the library's fault: re-initialising would cut every other store on it
          connector.recover();
        }
      } catch (HsmException | RuntimeException re) {
        LOG.warning(() -> "key store " + keyStoreId + ": re-initialising the library failed: " + re.getMessage());
      }
      synchronized (this) {
        if (current(attemptEpoch, State.FAILED)) {
          Duration wait = retryLater(attemptEpoch, TransientFailures.isTransient(e));
          transition(State.FAILED, null, connectionErrorCode(e.kind()), "connection lost: " + e.getMessage()
              + TransientFailures.descriptorHint() + "; " + advice(e.kind()) + "; retrying in " + wait.toMillis() + " ms");
        }
      }
    }
  }

  /** The AWS ConnectionErrorCode for an HSM failure ({@link ConnectionFailures}). */
  static String connectionErrorCode(HsmErrorKind kind) {
    return ConnectionFailures.errorCode(kind);
  }

  private String advice(HsmErrorKind kind) {
    return ConnectionFailures.advice(kind, !io.kmsgw.domain.KeyRecord.DEFAULT_KEY_STORE.equals(keyStoreId));
  }

  private void transition(State next, Hsm hsm, String code, String why) {
    State previous = current.state();
    if (next != State.FAILED) {
      awaitingRetry = false;
    }
    current = new Snapshot(next, hsm, code, why);
    Level level = next == State.FAILED ? Level.WARNING : Level.INFO;
    LOG.log(level, () -> "key store " + keyStoreId + ": " + previous + " -> " + next
        + (code == null ? "" : " [" + code + "]") + ": " + why);
    if (previous != next) {
      Map<String, Object> details = new java.util.LinkedHashMap<>();
      details.put("customKeyStoreId", keyStoreId);
      details.put("previousState", previous.name());
      details.put("state", next.name());
      if (code != null) {
        details.put("connectionErrorCode", code);
      }
      events.record("KmsgwKeyStoreStateChanged", null, details);
    }
  }

  /** Where state changes are recorded (the audit trail). */
  public KeyStoreConnection serviceEvents(ServiceEvents sink) {
    this.events = sink;
    return this;
  }

  public boolean isConnected() {
    return current.state() == State.CONNECTED;
  }

  /**
   * Waits (blocking, off the event loop) until the store is CONNECTED, at most the timeout, or while it is
   * connecting or retrying; returns at once if it is DISCONNECTED or waits for an operator.
   */
  public boolean awaitConnected(Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      Snapshot s = current;
      if (s.state() == State.CONNECTED) {
        return true;
      }
      if (s.state() == State.DISCONNECTED || s.state() == State.DISCONNECTING || closed) {
        return false;
      }
      try {
        Thread.sleep(20);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return false;
      }
    }
    return false;
  }

  /**
   * The connected HSM.
   *
   * @throws KmsException when the key store is not connected
   */
  public Hsm hsm(ErrorCode whenUnavailable) {
    Snapshot s = current;
    if (s.state() != State.CONNECTED) {
      if (s.state() == State.FAILED) {
        retryOnDemand();
      }
      // a store that reconnects by itself will serve again soon: a key operation may be retried (docs/decisions.md)
      ErrorCode code = reconnectsByItself(s) && whenUnavailable == ErrorCode.KMS_INVALID_STATE ? ErrorCode.KEY_UNAVAILABLE
          : whenUnavailable;
      throw new KmsException(code, "The key store " + keyStoreId + " is " + s.state()
          + (s.errorCode() == null ? "" : " (" + s.errorCode() + ")") + "; its HSM cannot be used now.");
    }
    return s.hsm();
  }

  /**
   * Whether the store is CONNECTED, or on its way back by itself after losing a working connection to a failure
   * that may end within seconds (a device error, a removed token, ...): its keys stay usable in the API's eyes, and
   * a request that meets it now gets a retryable KeyUnavailableException rather than a key shown Unavailable. A
   * store that never connected, or whose failure needs an operator, has its keys Unavailable (docs/decisions.md).
   */
  public boolean servesOrReconnects() {
    Snapshot s = current;
    return s.state() == State.CONNECTED || reconnectsByItself(s);
  }

  /** Lost a working connection to a failure that may end by itself, and is reconnecting without an operator. */
  private boolean reconnectsByItself(Snapshot s) {
    return autoReconnect && transientOutage && !closed
        && (s.state() == State.CONNECTING || s.state() == State.FAILED);
  }

  /**
   * Refuses an operation this store's token cannot do, by what it offered when it connected: the key specs and
   * algorithms that need more than AES-GCM (HMAC, RSA, ECC; issue #17) ask here before they touch the HSM.
   *
   * @throws KmsException {@code UnsupportedOperationException} naming the missing mechanism (as AWS refuses key specs
   *     a CloudHSM key store cannot hold)
   */
  public void require(io.kmsgw.hsm.Capability capability) {
    if (!mechanisms.offers(capability)) {
      throw new KmsException(ErrorCode.UNSUPPORTED_OPERATION, "The HSM of key store " + keyStoreId
          + " does not offer " + capability.requirement() + ".");
    }
  }

  /** What the token offered at the last connection that got that far: {@link #status()}'s, without the pool stats. */
  public io.kmsgw.hsm.TokenMechanisms mechanisms() {
    return mechanisms;
  }

  /** Runs HSM work on this store's worker pool; the store must be CONNECTED, else {@code whenUnavailable}. */
  public <T> java.util.concurrent.CompletableFuture<T> run(ErrorCode whenUnavailable, String keyArn,
      Hsm.SessionWork<T> work) {
    return workers.run(hsm(whenUnavailable), keyArn, work);
  }

  /** {@link #run}, also telling when the worker is done with the call ({@link HsmWorkers.Tracked}). */
  public <T> HsmWorkers.Tracked<T> runTracked(ErrorCode whenUnavailable, String keyArn, Hsm.SessionWork<T> work) {
    return workers.runTracked(hsm(whenUnavailable), keyArn, work);
  }

  /** This store's worker pool, for background work on it that must not be dropped. */
  public java.util.concurrent.Executor executor() {
    return workers.executor();
  }

  /**
   * The periodic health check of a CONNECTED store, run on its worker pool: token info, login state and a round
   * trip through the pool. A failure that kills the connection moves the store to FAILED (through the connection's
   * fatal-error listener); a transient one is only logged.
   */
  public java.util.concurrent.CompletableFuture<Void> probe() {
    Snapshot s = current;
    if (s.state() != State.CONNECTED) {
      return java.util.concurrent.CompletableFuture.completedFuture(null);
    }
    return Completions.on(workers.executor(), () -> {
      try {
        s.hsm().probe();
      } catch (HsmException e) {
        LOG.warning(() -> "key store " + keyStoreId + ": health check failed: " + e.getMessage());
      }
      return null;
    });
  }

  public String id() {
    return keyStoreId;
  }

  /**
   * DisconnectCustomKeyStore: DISCONNECTING at once, then the sessions are closed on this store's own connecting
   * thread (never the caller's: a hung HSM must not hold up other work) and the store is DISCONNECTED. The future
   * completes then. Connecting again is allowed once it is DISCONNECTED.
   */
  public CompletableFuture<Void> disconnect() {
    Hsm h;
    long disconnectEpoch;
    synchronized (this) {
      if (pending != null) {
        pending.cancel(false);
        pending = null;
      }
      disconnectEpoch = ++epoch;
      if (current.state() == State.DISCONNECTED) {
        return CompletableFuture.completedFuture(null);
      }
      h = current.hsm();
      transition(State.DISCONNECTING, null, null, "disconnecting");
    }
    CompletableFuture<Void> done = new CompletableFuture<>();
    Runnable close = () -> {
      try {
        if (h != null) {
          h.close();
        }
      } finally {
        synchronized (this) {
          if (disconnectEpoch == epoch && current.state() == State.DISCONNECTING) {
            transition(State.DISCONNECTED, null, null, "disconnected");
          }
        }
        done.complete(null);
      }
    };
    try {
      scheduler.execute(close);
    } catch (java.util.concurrent.RejectedExecutionException e) {
      close.run();
    }
    return done;
  }

  public Status status() {
    Snapshot s = current;
    return new Status(keyStoreId, s.state(), s.errorCode(), s.message(), s.hsm() == null ? null : s.hsm().stats(),
        mechanisms);
  }

  /** Runs when the connection is closed for good (to release its threads). */
  public KeyStoreConnection onClose(Runnable hook) {
    this.onClose = hook;
    return this;
  }

  @Override
  public void close() {
    synchronized (this) {
      closeConnection();
    }
    onClose.run();
  }

  private void closeConnection() {
    closed = true;
    epoch++;
    if (pending != null) {
      pending.cancel(false);
    }
    Hsm h = current.hsm();
    if (h != null) {
      transition(State.DISCONNECTING, null, null, "shutting down");
      h.close();
    }
    transition(State.DISCONNECTED, null, null, "closed");
  }
}
