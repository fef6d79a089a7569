package io.kmsgw.hsm;

import java.util.ArrayList;
import java.util.List;

/**
 * What a secret-key token object says about itself: its name, type, length and usage attributes. Read with
 * {@code C_GetAttributeValue}; never the value.
 *
 * @param aes {@code CKA_KEY_TYPE} is {@code CKK_AES}
 * @param valueLength {@code CKA_VALUE_LEN} in bytes, or -1 when the token does not say
 */
public record SecretKeyInfo(HsmKey key, boolean aes, int valueLength, boolean encrypt, boolean decrypt,
    boolean wrap, boolean unwrap, boolean sign, boolean verify, boolean derive) {

  /** The usage attributes that are true, as upper-case words ({@code ENCRYPT}, {@code DECRYPT}, ...). */
  public List<String> usages() {
    List<String> u = new ArrayList<>(7);
    if (encrypt) {
      u.add("ENCRYPT");
    }
    if (decrypt) {
      u.add("DECRYPT");
    }
    if (sign) {
      u.add("SIGN");
    }
    if (verify) {
      u.add("VERIFY");
    }
    if (wrap) {
      u.add("WRAP");
    }
    if (unwrap) {
      u.add("UNWRAP");
    }
    if (derive) {
      u.add("DERIVE");
    }
    return u;
  }
}
