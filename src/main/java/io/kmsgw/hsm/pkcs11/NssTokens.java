package io.kmsgw.hsm.pkcs11;

import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKU_SO;

import io.kmsgw.hsm.HsmErrorKind;
import io.kmsgw.hsm.HsmException;
import java.util.logging.Logger;
import org.xipki.pkcs11.wrapper.PKCS11Constants;
import org.xipki.pkcs11.wrapper.PKCS11Exception;
import org.xipki.pkcs11.wrapper.Session;
import org.xipki.pkcs11.wrapper.Slot;
import org.xipki.pkcs11.wrapper.Token;
import org.xipki.pkcs11.wrapper.TokenInfo;

/**
 * NSS's software token ({@code libsoftokn3.so}) as a development HSM: its key token is the database named by
 * {@code configdir} in the library's parameter string, which NSS creates when it opens an empty directory
 * read-write. A new database's key token is labelled {@value #KEY_TOKEN_LABEL} and has no user PIN yet: the
 * security officer logs in with the empty PIN and sets it ({@code C_InitPIN}). NSS's other slot ("NSS Generic Crypto
 * Services") has no login and keeps no objects.
 */
public final class NssTokens {
  private static final Logger LOG = Logger.getLogger(NssTokens.class.getName());

  /** The label NSS gives the key token of a database opened read-write. */
  public static final String KEY_TOKEN_LABEL = "NSS Certificate DB";

  private NssTokens() {}

  /**
   * Whether the key token's user PIN is set. The library is initialised with {@code initArgs} on first use.
   *
   * @throws HsmException if the library or its key token cannot be reached
   */
  public static boolean pinInitialized(String library, String initArgs) throws HsmException {
    SharedModule m = SharedModule.of(library, initArgs);
    try (SharedModule.Usage inside = m.enter()) {
      return info(keyToken(m)).hasFlagBit(PKCS11Constants.CKF_USER_PIN_INITIALIZED);
    }
  }

  /** Sets the user PIN of a new database's key token: SO login with NSS's empty initial PIN, then C_InitPIN. */
  public static void initPin(String library, String initArgs, char[] userPin) throws HsmException {
    SharedModule m = SharedModule.of(library, initArgs);
    try (SharedModule.Usage inside = m.enter()) {
      Token token = keyToken(m);
      if (info(token).hasFlagBit(PKCS11Constants.CKF_USER_PIN_INITIALIZED)) {
        throw new HsmException(HsmErrorKind.OTHER, "the NSS database's user PIN is already set");
      }
      Session so = token.openSession(true);
      try {
        so.login(CKU_SO, new char[0]);
        so.initPIN(userPin);
        so.logout();
      } finally {
        so.closeSession();
      }
      LOG.info(() -> "set the user PIN of the NSS token '" + KEY_TOKEN_LABEL + "'");
    } catch (PKCS11Exception e) {
      throw new HsmException(HsmErrorKind.OTHER, e.getErrorCode(), e.getErrorName(),
          "setting the user PIN of the NSS token failed", e);
    }
  }

  private static Token keyToken(SharedModule m) throws HsmException {
    try {
      for (Slot s : m.module().getSlotList(true)) {
        Token t = s.getToken();
        String label = t.getTokenInfo().getLabel();
        if (label != null && label.trim().equals(KEY_TOKEN_LABEL)) {
          return t;
        }
      }
    } catch (PKCS11Exception e) {
      throw new HsmException(HsmErrorKind.DEVICE_ERROR, e.getErrorCode(), e.getErrorName(), "C_GetSlotList failed", e);
    }
    throw new HsmException(HsmErrorKind.TOKEN_NOT_FOUND, "NSS offers no token labelled '" + KEY_TOKEN_LABEL
        + "' (is the database read-only? init_args must not say readOnly)");
  }

  private static TokenInfo info(Token t) throws HsmException {
    try {
      return t.getTokenInfo();
    } catch (PKCS11Exception e) {
      throw new HsmException(HsmErrorKind.DEVICE_ERROR, e.getErrorCode(), e.getErrorName(), "C_GetTokenInfo failed",
          e);
    }
  }
}
