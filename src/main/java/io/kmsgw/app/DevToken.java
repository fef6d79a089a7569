package io.kmsgw.app;

import io.kmsgw.config.ConfigException;
import io.kmsgw.config.GatewayConfig;
import io.kmsgw.config.HsmDefinitions;
import io.kmsgw.hsm.HsmException;
import io.kmsgw.hsm.pkcs11.SoftHsmTokens;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Supplier;
import java.util.logging.Logger;

/**
 * Development mode's HSMs: two SoftHSM2 tokens under {@code <data_dir>/softhsm/}, with their own
 * {@code softhsm2.conf}, created on first start with an SO PIN and a user PIN kept next to them (mode 0600): the
 * default key store's and a second one for a custom key store ({@code cluster-kmsgwdevtwo}). Never the system
 * token directory.
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

  /**
   * The development tokens' crypto user PIN: where it comes from, and the PIN itself when this start generated it
   * (the only time it is printed). {@code pinUser} ({@code KMSGW_DEV_PIN_USER}), when set, is put in front of the PIN
   * at login, {@code <user>:<PIN>}: AWS CloudHSM's PIN form, for a module in front of SoftHSM2 that emulates it.
   */
  record Prepared(Path pinFile, String fromEnvironment, String generated, String pinUser) {
    Supplier<char[]> pin() {
      return () -> {
        String pin;
        try {
          pin = fromEnvironment != null ? fromEnvironment : SecretFiles.firstLine(pinFile);
        } catch (IOException e) {
          throw new UncheckedIOException("cannot read the PIN file " + pinFile, e);
        }
        return (pinUser == null ? pin : pinUser + ":" + pin).toCharArray();
      };
    }
  }

  /**
   * Makes sure both development tokens exist: the default key store's ({@code hsm.token_label}) and the second
   * one, for a custom key store on {@code cluster-kmsgwdevtwo}. Both have the same user PIN: {@code KMSGW_DEV_PIN}
   * when set, else one generated on first start and kept in {@code softhsm/user-pin}. They are created with the PIN
   * alone, also when {@code KMSGW_DEV_PIN_USER} asks for CloudHSM's {@code user:PIN} at login.
   */
  static Prepared prepare(GatewayConfig config) throws IOException, HsmException {
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
    String devPin = config.hsm().devPin();
    String generated = null;
    boolean firstStart = !Files.exists(userPin);
    if (!Files.exists(soPin)) {
      SecretFiles.createPrivate(soPin, SecretFiles.random(SecretFiles.ALNUM, 24) + "\n");
    }
    if (firstStart) {
      // the PIN the tokens are created with; KMSGW_DEV_PIN, when set, is recorded so that later starts need not
      String created = devPin != null ? devPin : SecretFiles.random(SecretFiles.ALNUM, 24);
      generated = devPin == null ? created : null;
      SecretFiles.createPrivate(userPin, created + "\n");
    } else if (devPin != null && !devPin.equals(SecretFiles.firstLine(userPin))) {
      LOG.warning(() -> "KMSGW_DEV_PIN differs from the PIN the development tokens were created with (" + userPin
          + "); logging in with KMSGW_DEV_PIN");
    }
    String library = config.hsm().library();
    ensureToken(library, config.hsm().tokenLabel(), dir, soPin, userPin, firstStart);
    ensureToken(library, HsmDefinitions.DEV_TOKEN_LABEL, dir, soPin, userPin, firstStart);
    Path anchor = trustAnchorFile(config.dataDir());
    if (!Files.exists(anchor)) {
      try (InputStream in = DevToken.class.getResourceAsStream("/dev/trust-anchor.pem")) {
        Files.write(anchor, in.readAllBytes());
      }
    }
    return new Prepared(userPin, devPin, generated, config.hsm().devPinUser());
  }

  /** An example trust anchor certificate to pass to CreateCustomKeyStore in development (not a secret). */
  static Path trustAnchorFile(Path dataDir) {
    return directory(dataDir).resolve("trust-anchor.pem");
  }

  private static void ensureToken(String library, String label, Path dir, Path soPin, Path userPin,
      boolean firstStart) throws IOException, HsmException {
    if (SoftHsmTokens.exists(library, label)) {
      return;
    }
    if (!firstStart && !label.equals(HsmDefinitions.DEV_TOKEN_LABEL)) {
      LOG.warning(() -> "the SoftHSM2 token '" + label + "' is gone from " + dir
          + "; creating a new one. Keys created before cannot be used any more.");
    }
    SoftHsmTokens.initToken(library, label, SecretFiles.firstLine(soPin).toCharArray(),
        SecretFiles.firstLine(userPin).toCharArray());
    LOG.info(() -> "created the development SoftHSM2 token '" + label + "' in " + dir.resolve("tokens")
        + " (PINs in " + dir + ", readable by their owner only)");
  }
}
