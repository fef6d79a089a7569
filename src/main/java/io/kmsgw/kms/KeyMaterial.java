package io.kmsgw.kms;

import io.kmsgw.domain.KeySpec;
import io.kmsgw.domain.KeyUsage;
import io.kmsgw.hsm.Capability;
import io.kmsgw.hsm.HsmErrorKind;
import io.kmsgw.hsm.HsmException;
import io.kmsgw.hsm.HsmKey;
import io.kmsgw.hsm.HsmSession;
import java.util.EnumSet;
import java.util.Set;

/**
 * A CMK version's material in the HSM, by key spec: what a token must offer to hold a key of a spec and usage, and
 * the generation call that makes it. Every version of a key is generated the same way (rotation makes AES
 * versions only; AWS rotates no other spec automatically).
 */
public final class KeyMaterial {
  private KeyMaterial() {}

  /**
   * The mechanisms a token must offer for a key of this spec and usage: generation, and the mechanisms of the
   * usage's algorithms that the HSM runs (hashes the token lacks are computed in the gateway, over the data only).
   */
  public static Set<Capability> required(KeySpec spec, KeyUsage usage) {
    return switch (spec.family()) {
      case AES -> EnumSet.of(Capability.AES_KEY_GEN, Capability.AES_GCM);
      case HMAC -> EnumSet.of(Capability.GENERIC_SECRET_KEY_GEN, switch (spec) {
        case HMAC_224 -> Capability.HMAC_SHA224;
        case HMAC_256 -> Capability.HMAC_SHA256;
        case HMAC_384 -> Capability.HMAC_SHA384;
        default -> Capability.HMAC_SHA512;
      });
      case RSA -> usage == KeyUsage.SIGN_VERIFY
          ? EnumSet.of(Capability.RSA_KEY_GEN, Capability.RSA_PSS, Capability.RSA_PKCS1_SIGN)
          : EnumSet.of(Capability.RSA_KEY_GEN, Capability.RSA_OAEP);
      case EC -> usage == KeyUsage.KEY_AGREEMENT
          ? EnumSet.of(Capability.EC_KEY_GEN, Capability.ECDH)
          : EnumSet.of(Capability.EC_KEY_GEN, Capability.ECDSA);
      case EDWARDS -> EnumSet.of(Capability.EDWARDS_KEY_GEN, Capability.EDDSA);
      case SM2, ML_DSA -> throw new IllegalArgumentException(spec + " has no PKCS#11 mechanism");
    };
  }

  /** Generates one version's material: an AES-256 key, an HMAC key, or a key pair. */
  public static HsmKey generate(HsmSession s, KeySpec spec, KeyUsage usage, String label, byte[] id)
      throws HsmException {
    try {
      return switch (spec.family()) {
        case AES -> s.generateAes256Key(label, id);
        case HMAC -> s.generateHmacKey(spec, label, id);
        case RSA, EC, EDWARDS -> s.generateKeyPair(spec, usage, label, id);
        case SM2, ML_DSA -> throw new IllegalArgumentException(spec + " has no PKCS#11 mechanism");
      };
    } catch (HsmException e) {
      if (e.kind() != HsmErrorKind.UNSUPPORTED || e.ckrName() == null) {
        throw e;
      }
      // a curve or template the token refuses although it lists the mechanism (NSS's softoken has no secp256k1):
      // the client is told which spec, the token's return code stays in the cause, for the log
      throw new HsmException(HsmErrorKind.UNSUPPORTED, e.ckr(), null, "the token refused to generate a " + spec
          + " key" + (spec.asymmetric() ? " pair" : ""), e);
    }
  }
}
