package io.kmsgw.app;

import io.kmsgw.config.ConfigException;
import io.kmsgw.config.XksSettings;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.Base64;

/**
 * The development XKS endpoint's SigV4 credential: {@code KMSGW_DEV_XKS_ACCESS_KEY_ID} and
 * {@code KMSGW_DEV_XKS_SECRET_ACCESS_KEY}, or else generated once into {@code <data_dir>/xks-dev-credentials}
 * (mode 0600) and read from there on later starts, as the administrator's credentials are.
 */
final class XksDevCredentials {
  static final String FILE = "xks-dev-credentials";
  private static final String BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

  /** The credential, whether this start generated it, and its file (null when from the environment). */
  record Resolved(XksSettings.Credential credential, boolean generated, Path file) {}

  private XksDevCredentials() {}

  static Resolved resolve(Path dataDir, XksSettings.Endpoint dev) throws IOException {
    if (!dev.credentials().isEmpty()) {
      return new Resolved(dev.credentials().get(0), false, null);
    }
    Path file = dataDir.resolve(FILE);
    boolean generated = false;
    if (!Files.exists(file)) {
      byte[] secret = new byte[32];
      new SecureRandom().nextBytes(secret);
      // XKS spec, Appendix A: an access key id of 20 to 30 of A-Z and 2-7; a secret of 256 random bits in Base64
      SecretFiles.createPrivate(file, "# kmsgw development XKS endpoint (prefix " + dev.prefix() + "). Keep this "
          + "file private.\naccess_key_id=" + SecretFiles.random(BASE32, 24) + "\nsecret_access_key="
          + Base64.getEncoder().encodeToString(secret) + "\n");
      generated = true;
    }
    String akid = null;
    String secret = null;
    for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
      if (line.startsWith("access_key_id=")) {
        akid = line.substring("access_key_id=".length()).strip();
      } else if (line.startsWith("secret_access_key=")) {
        secret = line.substring("secret_access_key=".length()).strip();
      }
    }
    if (!XksSettings.validAccessKeyId(akid) || !XksSettings.validSecret(secret)) {
      throw new ConfigException(file + " is damaged: it needs access_key_id= (20 to 30 of A-Z, 2-7) and "
          + "secret_access_key= (43 to 64 of A-Z a-z 0-9 + / =) lines");
    }
    return new Resolved(new XksSettings.Credential(akid, secret), generated, file);
  }
}
