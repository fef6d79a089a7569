package io.kmsgw.config;

import java.util.List;

/**
 * {@code dev.pin_user} ({@code KMSGW_DEV_PIN_USER}): development mode only, a crypto user name for a PKCS#11 module in
 * front of the development tokens that takes AWS CloudHSM's PIN form {@code <user>:<password>} (such as the project's
 * test module in CloudHSM mode). The tokens are created with the PIN alone, as SoftHSM2 knows it; the gateway logs in
 * to the default key store with {@code <user>:<PIN>}, and that is the development cluster's KeyStorePassword too.
 */
final class DevPinUser {
  /** CloudHSM user names: up to 31 characters, letters, digits and the underscore (CloudHSM CLI, "user create"). */
  private static final String PATTERN = "[A-Za-z0-9_]{1,31}";

  private DevPinUser() {}

  static String parse(String user, boolean devToken, List<String> errors) {
    if (user == null) {
      return null;
    }
    if (!devToken) {
      errors.add("dev.pin_user: the crypto user name in the development tokens' user:password PIN; refused outside "
          + "development mode (put the whole user:password in hsm.pin or hsm.pin_file)");
    } else if (!user.matches(PATTERN)) {
      errors.add("dev.pin_user: 1 to 31 letters, digits or underscores");
    }
    return user;
  }
}
