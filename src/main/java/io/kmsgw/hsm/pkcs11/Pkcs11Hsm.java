package io.kmsgw.hsm.pkcs11;

import io.kmsgw.hsm.Hsm;
import io.kmsgw.hsm.HsmConnector.FatalErrorListener;
import io.kmsgw.hsm.HsmErrorKind;
import io.kmsgw.hsm.HsmException;
import io.kmsgw.hsm.HsmStats;
import io.kmsgw.hsm.TokenMechanisms;
import io.kmsgw.hsm.pool.SessionPool;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.logging.Logger;
import org.xipki.pkcs11.wrapper.PKCS11Constants;
import org.xipki.pkcs11.wrapper.PKCS11Exception;
import org.xipki.pkcs11.wrapper.Session;

/**
 * A connected token: a pool of sessions sharing one login, and a cache of key object handles so that a
 * steady-state operation makes no {@code C_FindObjects} call. Handles are valid for the whole application
 * (PKCS#11 v2.40 §2.4), so one cache serves every session; it dies with the connection.
 */
final class Pkcs11Hsm implements Hsm {
  private static final Logger LOG = Logger.getLogger(Pkcs11Hsm.class.getName());

  private final SharedModule module;
  private final int generation;
  private final String tokenLabel;
  private final Session anchor;
  private final SessionPool<Session> pool;
  private final CkrMapping ckr;
  private final Pkcs11Counters counters;
  private final FatalErrorListener listener;
  private final KeyHandles handles;
  /** How this token takes AES-GCM encryptions (C_Encrypt, or message-based on NSS). */
  private final GcmEncryption gcm;
  private final TokenMechanisms mechanisms;
  private final boolean gcmIvFromHsm;
  private final AtomicBoolean dead = new AtomicBoolean();
  private final AtomicBoolean closed = new AtomicBoolean();
  private volatile HsmException deathCause;
  private final Runnable onReinit = () -> {
    try {
      checkAlive();
    } catch (HsmException e) {
      // reported to the listener by checkAlive
    }
  };

  Pkcs11Hsm(SharedModule module, int generation, String tokenLabel, Session anchor, SessionPool<Session> pool,
      CkrMapping ckr, Pkcs11Counters counters, FatalErrorListener listener, boolean sessionKeyCopies,
      TokenMechanisms mechanisms, boolean gcmIvFromHsm) {
    this.mechanisms = mechanisms;
    this.gcmIvFromHsm = gcmIvFromHsm;
    this.handles = new KeyHandles(sessionKeyCopies, anchor, ckr, counters);
    this.gcm = new GcmEncryption(tokenLabel);
    this.module = module;
    this.generation = generation;
    this.tokenLabel = tokenLabel;
    this.anchor = anchor;
    this.pool = pool;
    this.ckr = ckr;
    this.counters = counters;
    this.listener = listener;
    module.addReinitListener(onReinit);
  }

  @Override
  public <T> T withSession(SessionWork<T> work) throws HsmException {
    try (SharedModule.Usage inside = module.enter()) {
      return withSessionInside(work);
    }
  }

  private <T> T withSessionInside(SessionWork<T> work) throws HsmException {
    for (int attempt = 0; ; attempt++) {
      checkAlive();
      SessionPool.Lease<Session> lease;
      try {
        lease = pool.borrow();
      } catch (HsmException e) {
        // C_OpenSession or the validity check can be the first to see a dead device
        if (e.kind().moduleFatal()) {
          die(e);
        }
        throw e;
      }
      boolean broken = false;
      try {
        return work.run(new Pkcs11Session(lease.session(), ckr, handles, counters, gcmIvFromHsm, gcm));
      } catch (HsmException e) {
        broken = e.kind().sessionFatal();
        if (e.kind().moduleFatal()) {
          die(e);
          throw e;
        }
        if (e.kind() == HsmErrorKind.SESSION_INVALID && attempt == 0) {
          LOG.warning(() -> "evicting a broken session and retrying once: " + e.getMessage());
          continue;
        }
        throw e;
      } finally {
        pool.release(lease, broken);
      }
    }
  }

  private void checkAlive() throws HsmException {
    if (dead.get()) {
      HsmException cause = deathCause;
      throw new HsmException(HsmErrorKind.DEVICE_ERROR, -1, null,
          "connection to the token is down: " + (cause == null ? "closed" : cause.getMessage()), cause);
    }
    if (module.generation() != generation) {
      die(new HsmException(HsmErrorKind.LIBRARY_REINITIALISED, "the PKCS#11 library was re-initialised"));
      checkAlive();
    }
  }

  private void die(HsmException cause) {
    if (dead.compareAndSet(false, true)) {
      deathCause = cause;
      handles.clear();
      listener.onFatal(cause);
    }
  }

  @Override
  public void probe() throws HsmException {
    try (SharedModule.Usage inside = module.enter()) {
      probeInside();
    }
  }

  private void probeInside() throws HsmException {
    checkAlive();
    long state;
    try {
      // C_GetTokenInfo and C_GetSessionInfo: the token is present and the anchor session still logged in
      anchor.getToken().getTokenInfo();
      state = anchor.getSessionInfo().getState();
    } catch (PKCS11Exception e) {
      HsmException mapped = ckr.map(e, CkrMapping.Call.SESSION_INFO, "health check on token '" + tokenLabel + "' failed");
      if (mapped.kind().moduleFatal() || mapped.kind() == HsmErrorKind.SESSION_INVALID) {
        // the anchor holds the login: without it the connection is dead whatever the code says
        die(mapped.kind().moduleFatal() ? mapped
            : new HsmException(HsmErrorKind.NOT_LOGGED_IN, -1, null, mapped.getMessage(), mapped));
      }
      throw mapped;
    }
    if (state != PKCS11Constants.CKS_RO_USER_FUNCTIONS && state != PKCS11Constants.CKS_RW_USER_FUNCTIONS) {
      HsmException e = new HsmException(HsmErrorKind.NOT_LOGGED_IN, "health check: the crypto user is no longer "
          + "logged in to token '" + tokenLabel + "' (session state " + state + ")");
      die(e);
      throw e;
    }
    withSession(s -> s.generateRandom(8));
  }

  @Override
  public TokenMechanisms mechanisms() {
    return mechanisms;
  }

  @Override
  public HsmStats stats() {
    SessionPool.PoolStats p = pool.stats();
    return new HsmStats(p.size(), p.open(), p.inUse(), p.idle(), p.waiting(), p.timeouts(), p.evicted(),
        counters.sessionsOpened.sum(), counters.logins.sum(), counters.findObjects.sum());
  }

  /** The number of cached key handles (for tests). */
  int cachedHandles() {
    return handles.size();
  }

  /**
   * Closes idle sessions now, waits (up to {@link #DRAIN}) for borrowed ones to come back, then closes the anchor:
   * the library must not be re-initialised under calls still running. Handles of an older library generation are
   * never closed: after {@code C_Initialize} the same numbers may name another connection's sessions.
   */
  @Override
  public void close() {
    if (closed.getAndSet(true)) {
      return;
    }
    module.removeReinitListener(onReinit);
    dead.set(true);
    handles.clear();
    try (SharedModule.Usage inside = module.enter()) {
      pool.close();
    }
    long deadline = System.nanoTime() + DRAIN.toNanos();
    while (pool.stats().inUse() > 0 && System.nanoTime() < deadline) {
      try {
        Thread.sleep(5);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
    }
    if (pool.stats().inUse() > 0) {
      LOG.warning(() -> "closing token '" + tokenLabel + "' with " + pool.stats().inUse() + " calls still running");
    }
    // the anchor goes last: closing the application's last session logs it out
    try (SharedModule.Usage inside = module.enter()) {
      if (module.generation() == generation) {
        Pkcs11Connector.closeQuietly(anchor);
      }
    }
    module.release(tokenLabel);
  }

  /** How long closing waits for borrowed sessions to come back. */
  static final java.time.Duration DRAIN = java.time.Duration.ofSeconds(5);
}
