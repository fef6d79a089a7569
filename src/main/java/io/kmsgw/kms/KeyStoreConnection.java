package io.kmsgw.kms;

import io.kmsgw.error.ErrorCode;
import io.kmsgw.error.KmsException;
import io.kmsgw.hsm.Hsm;
import io.kmsgw.hsm.HsmConnector;
import io.kmsgw.hsm.HsmErrorKind;
import io.kmsgw.hsm.HsmException;
import io.kmsgw.hsm.HsmStats;
import java.time.Duration;
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
 */
public final class KeyStoreConnection implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(KeyStoreConnection.class.getName());

  /** The KMS API's ConnectionStateType. */
  public enum State { DISCONNECTED, CONNECTING, CONNECTED, FAILED, DISCONNECTING }

  /** A snapshot for health checks: state, the error code when FAILED, a message for operators, pool figures. */
  public record Status(String keyStoreId, State state, String errorCode, String message, HsmStats stats) {}

  private final String keyStoreId;
  private final HsmConnector connector;
  private final ScheduledExecutorService scheduler;
  private final Duration initialBackoff;
  private final Duration maxBackoff;
  private final Consumer<Hsm> onConnected;

  /** State, connection and error change together, so readers never see a CONNECTED state without its HSM. */
  private record Snapshot(State state, Hsm hsm, String errorCode, String message) {}

  private volatile Snapshot current = new Snapshot(State.DISCONNECTED, null, null, "");
  private Duration nextBackoff;
  private ScheduledFuture<?> pending;
  private boolean closed;

  /**
   * @param onConnected runs on the scheduler after each successful connection, before the state becomes
   *     CONNECTED (reconciliation at start)
   */
  public KeyStoreConnection(String keyStoreId, HsmConnector connector, ScheduledExecutorService scheduler,
      Duration initialBackoff, Duration maxBackoff, Consumer<Hsm> onConnected) {
    this.keyStoreId = keyStoreId;
    this.connector = connector;
    this.scheduler = scheduler;
    this.initialBackoff = initialBackoff;
    this.maxBackoff = maxBackoff;
    this.nextBackoff = initialBackoff;
    this.onConnected = onConnected;
  }

  /** Starts connecting in the background. */
  public synchronized void connect() {
    State state = current.state();
    if (closed || state == State.CONNECTED || state == State.CONNECTING) {
      return;
    }
    transition(State.CONNECTING, null, null, "connecting to " + connector.describe());
    pending = scheduler.schedule(this::attempt, 0, TimeUnit.MILLISECONDS);
  }

  private void attempt() {
    Hsm connected;
    try {
      connected = connector.connect(this::onFatal);
    } catch (HsmException e) {
      failed(e);
      return;
    } catch (RuntimeException e) {
      failed(new HsmException(HsmErrorKind.OTHER, -1, null, "unexpected failure: " + e, e));
      return;
    }
    try {
      onConnected.accept(connected);
    } catch (RuntimeException e) {
      LOG.log(Level.SEVERE, "key store " + keyStoreId + ": start-up work after connecting failed", e);
    }
    synchronized (this) {
      if (closed) {
        connected.close();
        return;
      }
      nextBackoff = initialBackoff;
      HsmStats s = connected.stats();
      transition(State.CONNECTED, connected, null,
          "connected to " + connector.describe() + " with " + s.open() + " sessions");
    }
  }

  private synchronized void failed(HsmException e) {
    if (closed) {
      return;
    }
    String code = connectionErrorCode(e.kind());
    boolean retry = e.kind() != HsmErrorKind.PIN_INCORRECT && e.kind() != HsmErrorKind.PIN_LOCKED;
    String advice = advice(e.kind());
    if (retry) {
      Duration wait = nextBackoff;
      nextBackoff = nextBackoff.multipliedBy(2).compareTo(maxBackoff) > 0 ? maxBackoff : nextBackoff.multipliedBy(2);
      transition(State.FAILED, null, code, e.getMessage() + "; " + advice + "; retrying in " + wait.toMillis() + " ms");
      pending = scheduler.schedule(() -> {
        synchronized (this) {
          if (closed || current.state() != State.FAILED) {
            return;
          }
          transition(State.CONNECTING, null, null, "retrying " + connector.describe());
        }
        attempt();
      }, wait.toMillis(), TimeUnit.MILLISECONDS);
    } else {
      transition(State.FAILED, null, code, e.getMessage() + "; " + advice + "; not retrying (a retry would count "
          + "against the HSM's PIN attempts): fix the PIN and restart");
    }
  }

  /** Called by the HSM connection when it dies (device error, logged out). */
  private void onFatal(HsmException e) {
    scheduler.execute(() -> {
      Hsm dead;
      synchronized (this) {
        if (closed || current.state() != State.CONNECTED) {
          return;
        }
        dead = current.hsm();
        transition(State.FAILED, null, connectionErrorCode(e.kind()), "connection lost: " + e.getMessage());
      }
      if (dead != null) {
        dead.close();
      }
      try {
        connector.recover();
      } catch (HsmException re) {
        LOG.warning(() -> "key store " + keyStoreId + ": re-initialising the library failed: " + re.getMessage());
      }
      failed(e);
    });
  }

  /** The AWS ConnectionErrorCode for an HSM failure. */
  static String connectionErrorCode(HsmErrorKind kind) {
    return switch (kind) {
      case PIN_INCORRECT -> "INVALID_CREDENTIALS";
      case PIN_LOCKED -> "USER_LOCKED_OUT";
      case ANOTHER_USER_LOGGED_IN -> "USER_LOGGED_IN";
      case TOKEN_NOT_FOUND -> "CLUSTER_NOT_FOUND";
      case DEVICE_ERROR, NOT_LOGGED_IN, SESSION_INVALID -> "NETWORK_ERRORS";
      default -> "INTERNAL_ERROR";
    };
  }

  private static String advice(HsmErrorKind kind) {
    return switch (kind) {
      case PIN_INCORRECT -> "check the crypto user PIN (hsm.pin_file or KMSGW_HSM_PIN)";
      case PIN_LOCKED -> "the crypto user is locked out; the security officer must unlock it or reset its PIN";
      case ANOTHER_USER_LOGGED_IN -> "another user (the security officer?) is logged in to the token; log it out";
      case TOKEN_NOT_FOUND -> "check hsm.token_label and that the token is initialised";
      case LIBRARY_ERROR -> "check hsm.library and the vendor client installation";
      case DEVICE_ERROR, NOT_LOGGED_IN -> "check the HSM and the network path to it";
      default -> "see the log for details";
    };
  }

  private void transition(State next, Hsm hsm, String code, String why) {
    State previous = current.state();
    current = new Snapshot(next, hsm, code, why);
    Level level = next == State.FAILED ? Level.WARNING : Level.INFO;
    LOG.log(level, () -> "key store " + keyStoreId + ": " + previous + " -> " + next
        + (code == null ? "" : " [" + code + "]") + ": " + why);
  }

  public boolean isConnected() {
    return current.state() == State.CONNECTED;
  }

  /**
   * The connected HSM.
   *
   * @throws KmsException when the key store is not connected
   */
  public Hsm hsm(ErrorCode whenUnavailable) {
    Snapshot s = current;
    if (s.state() != State.CONNECTED) {
      throw new KmsException(whenUnavailable, "The key store " + keyStoreId + " is " + s.state()
          + (s.errorCode() == null ? "" : " (" + s.errorCode() + ")") + "; its HSM cannot be used now.");
    }
    return s.hsm();
  }

  public Status status() {
    Snapshot s = current;
    return new Status(keyStoreId, s.state(), s.errorCode(), s.message(), s.hsm() == null ? null : s.hsm().stats());
  }

  @Override
  public synchronized void close() {
    closed = true;
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
