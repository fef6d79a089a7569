package io.kmsgw.app;

import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The gateway's own thread pools, each sized to the work behind it, so that nothing blocking runs on an event loop.
 *
 * @param store the metadata store's calls (as many threads as its connections)
 * @param hsm the default key store's PKCS#11 calls: one thread per session, so a queued call waits for a thread,
 *     never for a session
 * @param scheduler connecting the default key store, health checks and the periodic tasks
 * @param lifecycle the key lifecycle's writes (rotations, deletions, aliases, grants, custom key stores), in order
 * @param compute CPU-bound request work that needs no HSM session (generating data key pairs): one thread per core
 * @param publicKeyWork short CPU work with a public key (checking a signature, RSA encryption: 0.1 to 3 ms): one
 *     thread per core, apart from {@code compute} so that it never waits behind a queue of RSA-4096 pair generations
 */
record Workers(ExecutorService store, ThreadPoolExecutor hsm, ScheduledExecutorService scheduler,
    ExecutorService lifecycle, ThreadPoolExecutor compute, ThreadPoolExecutor publicKeyWork) {
  /** Requests that may wait for a compute thread; more are refused with ThrottlingException. */
  static final int COMPUTE_QUEUE = 1024;

  /** Threads (and connections) of the metadata store. */
  static final int STORE_THREADS = 4;

  static ExecutorService storePool() {
    return Executors.newFixedThreadPool(STORE_THREADS, named("kmsgw-store"));
  }

  /** The other pools, once the metadata store is open. */
  static Workers create(ExecutorService store, int hsmSessions) {
    ThreadPoolExecutor hsm = new ThreadPoolExecutor(hsmSessions, hsmSessions, 60, TimeUnit.SECONDS,
        new ArrayBlockingQueue<>(16_384), named("kmsgw-hsm"));
    ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor(named("kmsgw-keystore"));
    ExecutorService lifecycle = Executors.newSingleThreadExecutor(named("kmsgw-lifecycle"));
    int cores = Runtime.getRuntime().availableProcessors();
    ThreadPoolExecutor compute = new ThreadPoolExecutor(cores, cores, 60, TimeUnit.SECONDS,
        new ArrayBlockingQueue<>(COMPUTE_QUEUE), named("kmsgw-compute"));
    ThreadPoolExecutor publicKeyWork = new ThreadPoolExecutor(cores, cores, 60, TimeUnit.SECONDS,
        new ArrayBlockingQueue<>(16_384), named("kmsgw-public-key"));
    return new Workers(store, hsm, scheduler, lifecycle, compute, publicKeyWork);
  }

  /** Stops every pool at once (a start that failed). */
  void shutdownNow() {
    scheduler.shutdownNow();
    lifecycle.shutdownNow();
    compute.shutdownNow();
    publicKeyWork.shutdownNow();
    hsm.shutdownNow();
    store.shutdownNow();
  }

  /** Lets queued work finish, up to 10 s per pool, except the scheduler's (a stop). */
  void shutdown() {
    scheduler.shutdownNow();
    lifecycle.shutdown();
    compute.shutdown();
    publicKeyWork.shutdown();
    hsm.shutdown();
    store.shutdown();
    try {
      lifecycle.awaitTermination(10, TimeUnit.SECONDS);
      compute.awaitTermination(10, TimeUnit.SECONDS);
      publicKeyWork.awaitTermination(10, TimeUnit.SECONDS);
      hsm.awaitTermination(10, TimeUnit.SECONDS);
      store.awaitTermination(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Daemon threads named {@code prefix-1}, {@code prefix-2}, ... */
  static ThreadFactory named(String prefix) {
    AtomicInteger n = new AtomicInteger();
    return r -> {
      Thread t = new Thread(r, prefix + "-" + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    };
  }
}
