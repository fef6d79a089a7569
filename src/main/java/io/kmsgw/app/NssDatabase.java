package io.kmsgw.app;

import io.kmsgw.config.ConfigException;
import io.kmsgw.config.GatewayConfig;
import io.kmsgw.config.InitArgs;
import io.kmsgw.config.VendorProfile;
import io.kmsgw.hsm.HsmException;
import io.kmsgw.hsm.pkcs11.NssTokens;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.logging.Logger;

/**
 * The default key store on NSS's software token ({@code hsm.vendor: nss}): on first start, the database directory
 * named by {@code configdir} in {@code hsm.init_args} is created (mode 0700; NSS creates its files in it), and a new
 * database's user PIN is set, as SoftHSM2's development token is made: from {@code KMSGW_HSM_PIN} when given, else
 * generated into {@code hsm.pin_file} (mode 0600, never printed). A database whose PIN is set is left as it is.
 */
final class NssDatabase {
  private static final Logger LOG = Logger.getLogger(NssDatabase.class.getName());

  private NssDatabase() {}

  static void prepare(GatewayConfig.Hsm hsm) throws IOException, HsmException {
    if (hsm.vendor() != VendorProfile.NSS) {
      return;
    }
    Path dir = InitArgs.configDir(hsm.initArgs())
        .orElseThrow(() -> new ConfigException("hsm.init_args: configdir is required for NSS"));
    if (!Files.isDirectory(dir)) {
      SecretFiles.privateDirectory(dir);
      LOG.info(() -> "created the NSS database directory " + dir);
    }
    try {
      if (NssTokens.pinInitialized(hsm.library(), hsm.initArgs())) {
        return;
      }
    } catch (HsmException e) {
      // the default key store's connection meets the same error and reports it (log, health, retries)
      LOG.warning(() -> "cannot open the NSS database in " + dir + ": " + e.getMessage());
      return;
    }
    char[] pin;
    if (hsm.pin() != null) {
      pin = hsm.pin().toCharArray();
    } else if (hsm.pinFile() != null && !Files.exists(hsm.pinFile())) {
      SecretFiles.createPrivate(hsm.pinFile(), SecretFiles.random(SecretFiles.ALNUM, 24) + "\n");
      pin = SecretFiles.firstLine(hsm.pinFile()).toCharArray();
    } else {
      pin = SecretFiles.firstLine(hsm.pinFile()).toCharArray();
    }
    try {
      NssTokens.initPin(hsm.library(), hsm.initArgs(), pin);
    } finally {
      Arrays.fill(pin, '\0');
    }
    LOG.info(() -> "new NSS database in " + dir + ": set its user PIN"
        + (hsm.pin() != null ? " from KMSGW_HSM_PIN" : " from " + hsm.pinFile() + " (readable by its owner only)"));
  }
}
