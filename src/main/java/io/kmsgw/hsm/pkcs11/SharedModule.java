package io.kmsgw.hsm.pkcs11;

import iaik.pkcs.pkcs11.wrapper.CK_C_INITIALIZE_ARGS;
import io.kmsgw.hsm.HsmErrorKind;
import io.kmsgw.hsm.HsmException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
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
 * <p>Some libraries take their parameters in {@code C_Initialize}'s {@code CK_C_INITIALIZE_ARGS.pReserved} (NSS's
 * software token: its database directory): a library is initialised once per process, so it has one parameter string
 * for the whole process, and asking for the same library with another string is refused.
 *
 * <p>After a device error the module is re-initialised ({@code C_Finalize} then {@code C_Initialize}); the
 * generation number lets several users that saw the same failure re-initialise it only once.
 */
public final class SharedModule {
  private static final Logger LOG = Logger.getLogger(SharedModule.class.getName());
  private static final Map<Path, SharedModule> MODULES = new HashMap<>();
  /** NSS's vendor codes: CKR_NSS_CERTDB_FAILED and CKR_NSS_KEYDB_FAILED (NSS's pkcs11n.h). */
  private static final long NSS_CERTDB_FAILED = 0xCE534351L;
  private static final long NSS_KEYDB_FAILED = 0xCE534352L;

  static {
    StaticLogger.setLogger(new JulPkcs11Logger());
  }

  private final Path library;
  private final PKCS11Module module;
  /** The parameter string passed in {@code pReserved}, or null for none. Not logged: it is the operator's. */
  private final String initArgs;
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

  private SharedModule(Path library, PKCS11Module module, String initArgs) {
    this.library = library;
    this.module = module;
    this.initArgs = initArgs;
  }

  /** The module for this library, loading and initialising it on first use, without initialisation parameters. */
  public static SharedModule of(String libraryPath) throws HsmException {
    return of(libraryPath, null);
  }

  /**
   * The module for this library, loading and initialising it on first use with {@code initArgs} in
   * {@code pReserved} (null or blank: none). A library already initialised in this process with another parameter
   * string is refused: PKCS#11 initialises a library once per process.
   */
  public static SharedModule of(String libraryPath, String initArgs) throws HsmException {
    String args = initArgs == null || initArgs.isBlank() ? null : initArgs;
    Path path;
    try {
      path = Path.of(libraryPath).toRealPath();
    } catch (IOException | RuntimeException e) {
      throw new HsmException(HsmErrorKind.LIBRARY_ERROR, "PKCS#11 library not found: " + libraryPath);
    }
    SharedModule m;
    synchronized (MODULES) {
      m = MODULES.get(path);
      if (m != null && !java.util.Objects.equals(m.initArgs, args)) {
        throw new HsmException(HsmErrorKind.LIBRARY_ERROR, "PKCS#11 library " + path + " is already initialised in "
            + "this process with " + (m.initArgs == null ? "no init_args" : "other init_args")
            + "; a process initialises a library once, so every store on it needs the same init_args");
      }
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
        m = new SharedModule(path, module, args);
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
      if (initArgs == null) {
        module.initialize();
      } else {
        initializeWithArgs();
      }
    } catch (PKCS11Exception e) {
      if (e.getErrorCode() != PKCS11Constants.CKR_CRYPTOKI_ALREADY_INITIALIZED) {
        throw new HsmException(HsmErrorKind.LIBRARY_ERROR, e.getErrorCode(), e.getErrorName(),
            "C_Initialize failed for " + library + initArgsHint(e.getErrorCode()), e);
      }
    } catch (RuntimeException | UnsatisfiedLinkError e) {
      throw new HsmException(HsmErrorKind.LIBRARY_ERROR, -1, null,
          "C_Initialize failed for " + library + ": " + e.getMessage(), e);
    }
    initialized = true;
    LOG.info(() -> "PKCS#11 library initialised: " + library);
  }

  /** What a failed {@code C_Initialize} says about the parameter string (NSS's vendor codes name its database). */
  private String initArgsHint(long ckr) {
    if (initArgs == null) {
      return ckr == PKCS11Constants.CKR_ARGUMENTS_BAD ? " (does the library need init_args?)" : "";
    }
    if (ckr == NSS_CERTDB_FAILED || ckr == NSS_KEYDB_FAILED) {
      return " with its init_args: NSS cannot open the database named by configdir (does the directory exist, "
          + "and is it writable by the gateway?)";
    }
    return " with its init_args (check hsm.init_args or the cluster's init_args)";
  }

  /**
   * {@code C_Initialize} with {@code CKF_OS_LOCKING_OK} and the parameter string in {@code pReserved}, as a
   * NUL-terminated byte string (the wrapper passes a byte array's bytes as they are; NSS reads a C string).
   */
  private void initializeWithArgs() throws PKCS11Exception {
    CK_C_INITIALIZE_ARGS args = new CK_C_INITIALIZE_ARGS();
    args.flags |= PKCS11Constants.CKF_OS_LOCKING_OK;
    byte[] text = initArgs.getBytes(StandardCharsets.UTF_8);
    args.pReserved = Arrays.copyOf(text, text.length + 1);
    try {
      module.getPKCS11Module().C_Initialize(args, true);
    } catch (iaik.pkcs.pkcs11.wrapper.PKCS11Exception e) {
      throw module.convertException(e);
    }
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
