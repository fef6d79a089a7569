package io.kmsgw.app;

import io.kmsgw.config.ConfigException;
import io.kmsgw.config.GatewayConfig;
import io.kmsgw.hsm.HsmException;
import io.kmsgw.hsm.pkcs11.SoftHsmTokens;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.logging.Logger;

/**
 * Development mode's HSM: a SoftHSM2 token under {@code <data_dir>/softhsm/}, with its own {@code softhsm2.conf},
 * created on first start with random SO and user PINs kept next to it (mode 0600). Never the system token
 * directory.
 */
final class DevToken {
  private static final Logger LOG = Logger.getLogger(DevToken.class.getName());

  private DevToken() {}

  static Path directory(Path dataDir) {
    return dataDir.resolve("softhsm");
  }

  static Path configFile(Path dataDir) {
    return directory(dataDir).resolve("softhsm2.conf");
  }

  /** Makes sure the token exists; returns the file holding the crypto user PIN. */
  static Path prepare(GatewayConfig config) throws IOException, HsmException {
    Path dir = directory(config.dataDir());
    Path conf = configFile(config.dataDir());
    String env = System.getenv("SOFTHSM2_CONF");
    if (env == null || !Path.of(env).toAbsolutePath().normalize().equals(conf.toAbsolutePath().normalize())) {
      throw new ConfigException("development mode keeps its SoftHSM2 token under " + dir + ", so SOFTHSM2_CONF must be "
          + conf.toAbsolutePath() + " when the gateway starts (SoftHSM2 reads it when its library loads). Start the "
          + "gateway with ./kmsgw serve, which sets it, or pass --config for a token of your own.");
    }
    SecretFiles.privateDirectory(dir);
    SoftHsmTokens.writeConfig(conf, dir.resolve("tokens"));
    Path userPin = dir.resolve("user-pin");
    Path soPin = dir.resolve("so-pin");
    String label = config.hsm().tokenLabel();
    if (!SoftHsmTokens.exists(config.hsm().library(), label)) {
      if (!Files.exists(userPin)) {
        SecretFiles.createPrivate(soPin, SecretFiles.random(SecretFiles.ALNUM, 24) + "\n");
        SecretFiles.createPrivate(userPin, SecretFiles.random(SecretFiles.ALNUM, 24) + "\n");
      } else {
        LOG.warning(() -> "the SoftHSM2 token '" + label + "' is gone from " + dir
            + "; creating a new one. Keys created before cannot be used any more.");
      }
      SoftHsmTokens.initToken(config.hsm().library(), label, SecretFiles.firstLine(soPin).toCharArray(),
          SecretFiles.firstLine(userPin).toCharArray());
      LOG.info(() -> "created the development SoftHSM2 token '" + label + "' in " + dir.resolve("tokens")
          + " (PINs in " + dir + ", readable by their owner only)");
    }
    return userPin;
  }
}
