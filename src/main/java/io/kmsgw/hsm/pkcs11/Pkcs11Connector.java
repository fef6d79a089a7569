package io.kmsgw.hsm.pkcs11;

import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKR_USER_ALREADY_LOGGED_IN;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKU_USER;

import io.kmsgw.hsm.Hsm;
import io.kmsgw.hsm.HsmConnector;
import io.kmsgw.hsm.HsmErrorKind;
import io.kmsgw.hsm.HsmException;
import io.kmsgw.hsm.TokenMechanisms;
import io.kmsgw.hsm.pkcs11.CkrMapping.Call;
import io.kmsgw.hsm.pool.SessionPool;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.logging.Logger;
import org.xipki.pkcs11.wrapper.PKCS11Exception;
import org.xipki.pkcs11.wrapper.Session;
import org.xipki.pkcs11.wrapper.Slot;
import org.xipki.pkcs11.wrapper.Token;
import org.xipki.pkcs11.wrapper.TokenInfo;

/**
 * Connects to a token through a PKCS#11 library: the token is found by its label (slot ids change, SoftHSM2
 * renumbers them at every token initialisation), the crypto user logs in once on an anchor session that stays
 * open for the life of the connection, and the pool's sessions share that login.
 */
public final class Pkcs11Connector implements HsmConnector {
  private static final Logger LOG = Logger.getLogger(Pkcs11Connector.class.getName());

  private final Pkcs11Options options;
  private final CkrMapping ckr;
  private volatile SharedModule module;
  private volatile int connectedGeneration = -1;
  /** The slot of the token at the last connection, to tell a removed token from a wrong label; -1 before. */
  private volatile long lastSlotId = -1;

  public Pkcs11Connector(Pkcs11Options options) {
    this.options = options;
    this.ckr = new CkrMapping(options.generalErrorMeansBadTag());
  }

  @Override
  public String describe() {
    return "PKCS#11 library " + options.library() + ", token '" + options.tokenLabel() + "'";
  }

  @Override
  public Hsm connect(FatalErrorListener listener) throws HsmException {
    SharedModule m = SharedModule.of(options.library(), options.initArgs());
    module = m;
    // the PIN before entering the library: unsealing a custom key store's PIN waits for another store's calls
    char[] pin = options.pin().get();
    try (SharedModule.Usage inside = m.enter()) {
      return connect(m, listener, pin);
    } finally {
      Arrays.fill(pin, '\0');
    }
  }

  private Hsm connect(SharedModule m, FatalErrorListener listener, char[] pin) throws HsmException {
    int generation = m.generation();
    Token token = findToken(m);
    m.claim(options.tokenLabel());
    Session anchor;
    try {
      anchor = token.openSession(true);
    } catch (PKCS11Exception e) {
      m.release(options.tokenLabel());
      throw ckr.map(e, Call.OPEN_SESSION, "cannot open a session on token '" + options.tokenLabel() + "'");
    }
    Pkcs11Counters counters = new Pkcs11Counters();
    counters.sessionsOpened.increment();
    SessionPool<Session> pool = new SessionPool<>(options.tokenLabel(),
        new SessionFactory(m, generation, token, counters), options.poolSize(), options.borrowTimeout(),
        options.validateAfterIdle());
    try {
      login(anchor, counters, pin);
      TokenMechanisms mechanisms = MechanismDiscovery.discover(m.module().getPKCS11Module(),
          token.getSlot().getSlotID(), anchor, ckr);
      pool.fill();
      // last: the connection registers with the module for re-initialisations, which a failed attempt must not
      Pkcs11Hsm hsm = new Pkcs11Hsm(m, generation, options.tokenLabel(), anchor, pool, ckr, counters, listener,
          options.sessionKeyCopies(), mechanisms, options.gcmIvFromHsm());
      connectedGeneration = generation;
      lastSlotId = token.getSlot().getSlotID();
      return hsm;
    } catch (HsmException | RuntimeException e) {
      // every session opened so far is closed, or the process would stay logged in and the next attempt's
      // C_Login would answer CKR_USER_ALREADY_LOGGED_IN without checking the PIN
      pool.close();
      closeQuietly(anchor);
      m.release(options.tokenLabel());
      throw e;
    }
  }

  @Override
  public void recover() throws HsmException {
    SharedModule m = module;
    if (m != null && connectedGeneration >= 0) {
      m.reinitialize(connectedGeneration);
    }
  }

  private Token findToken(SharedModule m) throws HsmException {
    Slot[] slots;
    try {
      slots = m.module().getSlotList(true);
    } catch (PKCS11Exception e) {
      throw ckr.map(e, Call.INITIALIZE, "C_GetSlotList failed");
    }
    List<Token> matches = new ArrayList<>();
    List<String> seen = new ArrayList<>();
    for (Slot slot : slots) {
      try {
        Token t = slot.getToken();
        TokenInfo info = t.getTokenInfo();
        String label = info.getLabel() == null ? "" : info.getLabel().trim();
        if (info.isTokenInitialized()) {
          seen.add(label);
        }
        if (label.equals(options.tokenLabel()) && info.isTokenInitialized()) {
          matches.add(t);
        }
      } catch (PKCS11Exception e) {
        LOG.fine(() -> "skipping slot " + slot.getSlotID() + ": " + e.getErrorName());
      }
    }
    if (matches.isEmpty()) {
      if (slotLostItsToken(m)) {
        throw new HsmException(HsmErrorKind.TOKEN_REMOVED, "token '" + options.tokenLabel() + "' is not present: "
            + "its slot " + lastSlotId + " reports no token (removed, or its HSM is down)");
      }
      throw new HsmException(HsmErrorKind.TOKEN_NOT_FOUND,
          "no initialised token labelled '" + options.tokenLabel() + "' in " + m + " (tokens seen: "
              + (seen.size() > 10 ? seen.subList(0, 10) + " and " + (seen.size() - 10) + " more" : seen) + ")");
    }
    if (matches.size() < options.minHsms()) {
      throw new HsmException(HsmErrorKind.INSUFFICIENT_HSMS, "only " + matches.size() + " token(s) labelled '"
          + options.tokenLabel() + "' answer; at least " + options.minHsms() + " are required");
    }
    if (matches.size() > 1 && options.minHsms() == 1) {
      // with one HSM expected, two tokens of one label are two different key sets: refuse to guess
      throw new HsmException(HsmErrorKind.TOKEN_NOT_FOUND,
          matches.size() + " tokens are labelled '" + options.tokenLabel() + "'; labels must be unique");
    }
    return matches.get(0);
  }

  /**
   * Whether the slot that held this connector's token is still there with no token present: the token was removed
   * (or its HSM left), which may end by itself, unlike a label that names no token. A slot whose token is present
   * again under this connector's label by now came back between the two listings: still the removal, not a wrong
   * label (measured in HsmFaultsUnderLoadIT: that race answered CLUSTER_NOT_FOUND for a moment, which made the
   * store's keys Unavailable instead of retryable).
   */
  private boolean slotLostItsToken(SharedModule m) {
    long slotId = lastSlotId;
    if (slotId < 0) {
      return false;
    }
    try {
      for (Slot slot : m.module().getSlotList(false)) {
        if (slot.getSlotID() == slotId) {
          if (!slot.getSlotInfo().isTokenPresent()) {
            return true;
          }
          String label = slot.getToken().getTokenInfo().getLabel();
          return label != null && label.trim().equals(options.tokenLabel());
        }
      }
    } catch (PKCS11Exception e) {
      LOG.fine(() -> "cannot list the slots without tokens: " + e.getErrorName());
    }
    return false;
  }

  private void login(Session anchor, Pkcs11Counters counters, char[] pin) throws HsmException {
    try {
      counters.logins.increment();
      anchor.login(CKU_USER, pin);
    } catch (PKCS11Exception e) {
      if (e.getErrorCode() != CKR_USER_ALREADY_LOGGED_IN) {
        throw ckr.map(e, Call.LOGIN, "C_Login as crypto user failed on token '" + options.tokenLabel() + "'");
      }
      // sessions from outside kmsgw's connections are still open in this process; the PIN was not re-checked
      LOG.warning(() -> "token '" + options.tokenLabel() + "' reports the user already logged in");
    }
  }

  static void closeQuietly(Session s) {
    try {
      s.closeSession();
    } catch (PKCS11Exception | RuntimeException e) {
      LOG.fine(() -> "closing a session failed: " + e.getMessage());
    }
  }

  private final class SessionFactory implements SessionPool.Factory<Session> {
    private final SharedModule module;
    private final int generation;
    private final Token token;
    private final Pkcs11Counters counters;

    SessionFactory(SharedModule module, int generation, Token token, Pkcs11Counters counters) {
      this.module = module;
      this.generation = generation;
      this.token = token;
      this.counters = counters;
    }

    @Override
    public Session open() throws HsmException {
      try {
        counters.sessionsOpened.increment();
        return token.openSession(true);
      } catch (PKCS11Exception e) {
        throw ckr.map(e, Call.OPEN_SESSION, "C_OpenSession failed");
      }
    }

    @Override
    public boolean isValid(Session session) {
      try {
        session.getSessionInfo();
        return true;
      } catch (PKCS11Exception | RuntimeException e) {
        return false;
      }
    }

    @Override
    public void close(Session session) {
      // after C_Finalize/C_Initialize this handle is dead, and its number may now be another session's
      if (module.generation() == generation) {
        closeQuietly(session);
      }
    }
  }
}
