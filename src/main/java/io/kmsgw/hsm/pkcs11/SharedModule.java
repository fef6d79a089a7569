package io.kmsgw.hsm.pkcs11;

import io.kmsgw.hsm.HsmErrorKind;
import io.kmsgw.hsm.HsmException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.logging.Logger;
import org.xipki.pkcs11.wrapper.PKCS11Constants;
import org.xipki.pkcs11.wrapper.PKCS11Exception;
import org.xipki.pkcs11.wrapper.PKCS11Module;
import org.xipki.pkcs11.wrapper.StaticLogger;

/**
 * A PKCS#11 library loaded and initialised once per process (PKCS#11 allows one {@code C_Initialize} per
 * application), shared by every token reached through it. Initialised with {@code CKF_OS_LOCKING_OK} so the
 * library may be called from several threads.
 *
 * <p>After a device error the module is re-initialised ({@code C_Finalize} then {@code C_Initialize}); the
 * generation number lets several users that saw the same failure re-initialise it only once.
 */
public final class SharedModule {
  private static final Logger LOG = Logger.getLogger(SharedModule.class.getName());
  private static final Map<Path, SharedModule> MODULES = new HashMap<>();

  static {
    StaticLogger.setLogger(new JulPkcs11Logger());
  }

  private final Path library;
  private final PKCS11Module module;
  private final java.util.Set<String> connectedTokens = new java.util.HashSet<>();
  /** Live connections, told at once when the library is re-initialised under them. */
  private final java.util.Set<Runnable> reinitListeners = new java.util.concurrent.CopyOnWriteArraySet<>();
  /**
   * Read-held by every thread while it is inside the library; re-initialisation takes it exclusively, so that
   * {@code C_Finalize} never runs under another thread's call (the PKCS#11 standard leaves that undefined, and
   * SoftHSM2 crashes).
   */
  private final java.util.concurrent.locks.ReentrantReadWriteLock usage =
      new java.util.concurrent.locks.ReentrantReadWriteLock();
  private int generation;
  /**
   * False after a re-initialisation whose {@code C_Initialize} failed (the library is finalised): the next
   * {@link #of} initialises it again. Without this the library stayed finalised for good and every connection
   * attempt failed with CKR_CRYPTOKI_NOT_INITIALIZED (issue #15: a C_Initialize that failed while the process was
   * out of file descriptors left the key store FAILED after the descriptors came back).
   */
  private boolean initialized;

  private SharedModule(Path library, PKCS11Module module) {
    this.library = library;
    this.module = module;
  }

  /** The module for this library, loading and initialising it on first use. */
  public static SharedModule of(String libraryPath) throws HsmException {
    Path path;
    try {
      path = Path.of(libraryPath).toRealPath();
    } catch (IOException | RuntimeException e) {
      throw new HsmException(HsmErrorKind.LIBRARY_ERROR, "PKCS#11 library not found: " + libraryPath);
    }
    SharedModule m;
    synchronized (MODULES) {
      m = MODULES.get(path);
      if (m == null) {
        if (!Files.isReadable(path)) {
          throw new HsmException(HsmErrorKind.LIBRARY_ERROR, "PKCS#11 library not readable: " + path);
        }
        PKCS11Module module;
        try {
          module = PKCS11Module.getInstance(path.toString());
        } catch (IOException | RuntimeException | UnsatisfiedLinkError e) {
          throw new HsmException(HsmErrorKind.LIBRARY_ERROR, -1, null,
              "cannot load PKCS#11 library " + path + ": " + e.getMessage(), e);
        }
        m = new SharedModule(path, module);
        m.initialize();
        MODULES.put(path, m);
        return m;
      }
    }
    // outside the registry's lock: initialising takes the usage lock, which threads inside the library hold
    m.ensureInitialized();
    return m;
  }

  /** Initialises the library again if the last re-initialisation left it finalised. */
  private void ensureInitialized() throws HsmException {
    synchronized (this) {
      if (initialized) {
        return;
      }
    }
    if (usage.getReadHoldCount() > 0) {
      // called from inside a library call: the caller's call fails and its owner retries
      return;
    }
    usage.writeLock().lock();
    try {
      synchronized (this) {
        if (!initialized) {
          LOG.info(() -> "initialising PKCS#11 library " + library + " again (the last re-initialisation failed)");
          initialize();
        }
      }
    } finally {
      usage.writeLock().unlock();
    }
  }

  private void initialize() throws HsmException {
    initialized = false;
    try {
      module.initialize();
    } catch (PKCS11Exception e) {
      if (e.getErrorCode() != PKCS11Constants.CKR_CRYPTOKI_ALREADY_INITIALIZED) {
        throw new HsmException(HsmErrorKind.LIBRARY_ERROR, e.getErrorCode(), e.getErrorName(),
            "C_Initialize failed for " + library, e);
      }
    } catch (RuntimeException | UnsatisfiedLinkError e) {
      throw new HsmException(HsmErrorKind.LIBRARY_ERROR, -1, null,
          "C_Initialize failed for " + library + ": " + e.getMessage(), e);
    }
    initialized = true;
    LOG.info(() -> "PKCS#11 library initialised: " + library);
  }

  /**
   * Claims a token for one connection. PKCS#11 login state belongs to the whole application, so a second live
   * connection to the same token would "log in" with any PIN (CKR_USER_ALREADY_LOGGED_IN): one per token.
   */
  synchronized void claim(String tokenLabel) throws HsmException {
    if (!connectedTokens.add(tokenLabel)) {
      throw new HsmException(HsmErrorKind.OTHER,
          "token '" + tokenLabel + "' is already connected in this process; a token serves one key store");
    }
  }

  synchronized void release(String tokenLabel) {
    connectedTokens.remove(tokenLabel);
  }

  public PKCS11Module module() {
    return module;
  }

  public synchronized int generation() {
    return generation;
  }

  /**
   * Finalises and re-initialises the library, unless someone already did since {@code seenGeneration}. Every
   * session and object handle of the old generation is invalid afterwards.
   */
  public void reinitialize(int seenGeneration) throws HsmException {
    if (usage.getReadHoldCount() > 0) {
      throw new IllegalStateException("re-initialising the PKCS#11 library from inside a call to it");
    }
    try {
      // the lock before the monitor: a thread inside the library may need the monitor (generation()) to finish
      usage.writeLock().lock();
      try {
        reinitializeOnce(seenGeneration);
      } finally {
        usage.writeLock().unlock();
      }
    } finally {
      // every connection of the old generation is dead: each reconnects now rather than at its next request
      for (Runnable listener : reinitListeners) {
        try {
          listener.run();
        } catch (RuntimeException e) {
          LOG.warning(() -> "a connection could not be told of the re-initialisation: " + e);
        }
      }
    }
  }


  /**
   * Marks the calling thread as inside the library until the returned handle is closed; re-initialisation waits
   * for every such thread. Re-entrant. Never wait for another thread's library call while holding it.
   */
  public Usage enter() {
    usage.readLock().lock();
    return () -> usage.readLock().unlock();
  }

  /** A hold on the library, released by {@link #close()}. */
  @FunctionalInterface
  public interface Usage extends AutoCloseable {
    @Override
    void close();
  }

  /** Registers a connection to hear of re-initialisations (it unregisters when it closes). */
  void addReinitListener(Runnable listener) {
    reinitListeners.add(listener);
  }

  void removeReinitListener(Runnable listener) {
    reinitListeners.remove(listener);
  }

  private synchronized void reinitializeOnce(int seenGeneration) throws HsmException {
    if (generation != seenGeneration) {
      return;
    }
    LOG.warning(() -> "re-initialising PKCS#11 library " + library + " after a device error");
    try {
      module.finalize(null);
    } catch (PKCS11Exception | RuntimeException e) {
      LOG.warning(() -> "C_Finalize failed (continuing): " + e.getMessage());
    }
    generation++;
    initialize();
  }

  @Override
  public String toString() {
    return library.toString();
  }
}
