package io.kmsgw.app;

import io.kmsgw.hsm.Hsm;
import io.kmsgw.hsm.HsmException;
import io.kmsgw.iam.IdentityLoader;
import io.kmsgw.keystore.AuditSigningKey;
import io.kmsgw.kms.CustomKeyStoreService;
import io.kmsgw.kms.KeyLifecycle;
import io.kmsgw.kms.Reconciler;
import java.util.Objects;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.logging.Logger;

/**
 * The start-up work after each connection of a key store, before it counts as CONNECTED: store and HSM brought in
 * line (a store's cluster may have changed since its last connection), then destructions left pending; for the
 * default key store also the identities' secrets, and then (on the scheduler) the audit signing key, due rotations
 * and deletions and, the first time, the custom key stores left connected.
 *
 * <p>The key stores exist before the services that do this work (the services route keys to the stores), so the
 * services are {@linkplain #bind bound} here once, after they are built and before any store connects.
 */
final class AfterConnect {
  // the log lines are the gateway's, as before this work had a class of its own
  private static final Logger LOG = Logger.getLogger(Gateway.class.getName());

  /** What runs after a connection. */
  record Work(Reconciler reconciler, IdentityLoader identities, AuditSigningKey auditKey,
      CustomKeyStoreService customStores, KeyLifecycle lifecycle) {
    Work {
      Objects.requireNonNull(reconciler);
      Objects.requireNonNull(identities);
      Objects.requireNonNull(auditKey);
      Objects.requireNonNull(customStores);
      Objects.requireNonNull(lifecycle);
    }
  }

  private final Executor scheduler;
  private final AtomicBoolean firstConnection = new AtomicBoolean(true);
  private volatile Work work;

  /** @param scheduler the default key store's connecting thread: the work after CONNECTED runs there */
  AfterConnect(Executor scheduler) {
    this.scheduler = scheduler;
  }

  /** Binds the services; once, before the first connection. */
  void bind(Work w) {
    if (work != null) {
      throw new IllegalStateException("already bound");
    }
    work = Objects.requireNonNull(w);
  }

  private Work work() {
    Work w = work;
    if (w == null) {
      throw new IllegalStateException("a key store connected before the services were bound");
    }
    return w;
  }

  /** After each connection of any store. */
  void anyStore(String storeId, Hsm connected) {
    Work w = work();
    try {
      w.reconciler().reconcile(storeId, connected);
    } catch (HsmException | RuntimeException e) {
      LOG.warning(() -> "reconciliation of " + storeId + " failed, it runs again at the next connection: "
          + e.getMessage());
    }
    w.customStores().afterConnect(storeId, connected);
  }

  /** After each connection of the default key store. */
  void defaultStore(String storeId, Hsm connected) {
    anyStore(storeId, connected);
    Work w = work();
    // secret access keys and session secrets, before this store counts as CONNECTED (and /healthz as healthy)
    try {
      w.identities().unseal(connected);
    } catch (HsmException | RuntimeException e) {
      LOG.warning(() -> "unsealing identity secrets failed, retried at the next connection: " + e.getMessage());
    }
    // the next scheduler turn, once this connection counts as CONNECTED: the audit signing key (digests wait for
    // it), due rotations and deletions, and (the first time) the custom key stores left connected, whose PINs this
    // store unseals
    scheduler.execute(() -> {
      try {
        w.auditKey().initialise();
      } catch (RuntimeException e) {
        LOG.warning(() -> "audit: the signing key is not usable, digests wait for it: " + e.getMessage());
      }
      if (firstConnection.getAndSet(false)) {
        w.customStores().connectWanted();
      }
      w.lifecycle().runDueTasks();
    });
  }
}
