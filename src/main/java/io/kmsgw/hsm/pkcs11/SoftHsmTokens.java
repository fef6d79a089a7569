package io.kmsgw.hsm.pkcs11;

import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKU_SO;

import io.kmsgw.hsm.HsmErrorKind;
import io.kmsgw.hsm.HsmException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.logging.Logger;
import org.xipki.pkcs11.wrapper.PKCS11Exception;
import org.xipki.pkcs11.wrapper.Session;
import org.xipki.pkcs11.wrapper.Slot;
import org.xipki.pkcs11.wrapper.Token;

/**
 * SoftHSM2 tokens for development and tests: a {@code softhsm2.conf} of their own (never the system token
 * directory), and tokens initialised in-process with {@code C_InitToken} on SoftHSM2's free slot.
 */
public final class SoftHsmTokens {
  private static final Logger LOG = Logger.getLogger(SoftHsmTokens.class.getName());

  private SoftHsmTokens() {}

  /** Writes a SoftHSM2 configuration keeping tokens in {@code tokenDir} with the file backend, if missing. */
  public static void writeConfig(Path conf, Path tokenDir) throws IOException {
    Files.createDirectories(tokenDir);
    if (!Files.exists(conf)) {
      Files.writeString(conf, "# written by kmsgw: tokens of this data directory only\n"
          + "directories.tokendir = " + tokenDir.toAbsolutePath() + "\n"
          + "objectstore.backend = file\n"
          + "log.level = ERROR\n"
          + "slots.removable = false\n", StandardCharsets.UTF_8);
    }
  }

  /** Whether an initialised token with this label exists in the library. */
  public static boolean exists(String library, String label) throws HsmException {
    SharedModule m = SharedModule.of(library);
    try (SharedModule.Usage inside = m.enter()) {
      return findToken(m, label) != null;
    }
  }

  /**
   * Initialises a new token with this label on the free slot and sets the crypto user PIN.
   *
   * @throws HsmException if a token with the label already exists or there is no free slot
   */
  public static void initToken(String library, String label, char[] soPin, char[] userPin) throws HsmException {
    SharedModule m = SharedModule.of(library);
    try (SharedModule.Usage inside = m.enter()) {
      initToken(m, label, soPin, userPin);
    }
  }

  private static void initToken(SharedModule m, String label, char[] soPin, char[] userPin) throws HsmException {
    if (findToken(m, label) != null) {
      throw new HsmException(HsmErrorKind.OTHER, "a token labelled '" + label + "' already exists");
    }
    try {
      Slot free = null;
      for (Slot s : m.module().getSlotList(true)) {
        if (!s.getToken().getTokenInfo().isTokenInitialized()) {
          free = s;
          break;
        }
      }
      if (free == null) {
        throw new HsmException(HsmErrorKind.TOKEN_NOT_FOUND, "SoftHSM2 offers no free slot to initialise");
      }
      char[] paddedLabel = Arrays.copyOf(label.toCharArray(), 32);
      Arrays.fill(paddedLabel, label.length(), 32, ' ');
      m.module().getPKCS11Module().C_InitToken(free.getSlotID(), soPin, paddedLabel, false);
      Token token = findToken(m, label);
      if (token == null) {
        throw new HsmException(HsmErrorKind.TOKEN_NOT_FOUND, "token '" + label + "' not visible after C_InitToken");
      }
      Session so = token.openSession(true);
      try {
        so.login(CKU_SO, soPin);
        so.initPIN(userPin);
        so.logout();
      } finally {
        so.closeSession();
      }
      LOG.info(() -> "initialised SoftHSM2 token '" + label + "'");
    } catch (PKCS11Exception e) {
      throw new HsmException(HsmErrorKind.OTHER, e.getErrorCode(), e.getErrorName(),
          "initialising SoftHSM2 token '" + label + "' failed", e);
    } catch (iaik.pkcs.pkcs11.wrapper.PKCS11Exception e) {
      throw new HsmException(HsmErrorKind.OTHER, e.getErrorCode(), null,
          "C_InitToken for '" + label + "' failed: " + e.getMessage(), e);
    }
  }

  private static Token findToken(SharedModule m, String label) throws HsmException {
    try {
      for (Slot s : m.module().getSlotList(true)) {
        Token t = s.getToken();
        var info = t.getTokenInfo();
        if (info.isTokenInitialized() && info.getLabel() != null && info.getLabel().trim().equals(label)) {
          return t;
        }
      }
      return null;
    } catch (PKCS11Exception e) {
      throw new HsmException(HsmErrorKind.DEVICE_ERROR, e.getErrorCode(), e.getErrorName(), "C_GetSlotList failed", e);
    }
  }
}
