package io.kmsgw.hsm.pkcs11;

import io.kmsgw.hsm.Capability;
import io.kmsgw.hsm.HsmException;
import io.kmsgw.hsm.TokenMechanisms;
import io.kmsgw.hsm.pkcs11.CkrMapping.Call;
import iaik.pkcs.pkcs11.wrapper.CK_MECHANISM_INFO;
import iaik.pkcs.pkcs11.wrapper.PKCS11;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.logging.Logger;
import org.xipki.pkcs11.wrapper.AttributeVector;
import org.xipki.pkcs11.wrapper.Mechanism;
import org.xipki.pkcs11.wrapper.PKCS11Constants;
import org.xipki.pkcs11.wrapper.PKCS11Exception;
import org.xipki.pkcs11.wrapper.Session;
import org.xipki.pkcs11.wrapper.params.RSA_PKCS_OAEP_PARAMS;

/**
 * Reads what a token offers at connection: {@code C_GetMechanismList} and {@code C_GetMechanismInfo} of its slot,
 * called directly (the wrapper's {@code Token.getMechanismList} logs and swallows a failure as an empty list, which
 * would read as "no AES-GCM"), then the RSA-OAEP hashes by probing.
 *
 * <p>Why probe: {@code CK_MECHANISM_INFO} says nothing about a mechanism's parameters, and SoftHSM2 2.6.1 lists
 * {@code CKM_RSA_PKCS_OAEP} but answers {@code CKR_ARGUMENTS_BAD} to every hash but SHA-1. The probe creates a session
 * (never token) RSA public key object from a constant public key (no private key enters the HSM, nothing is left
 * behind) and encrypts one byte with OAEP and each hash, MGF1 with the same hash: a hash is offered when that
 * encryption succeeds. The probe judges encryption with the public key; decryption (what KMS's RSA keys do in the HSM)
 * takes the same parameters on every token the project has seen.
 */
final class MechanismDiscovery {
  private static final Logger LOG = Logger.getLogger(MechanismDiscovery.class.getName());

  /** Hash name → {CKM_ hash, CKG_MGF1_}. */
  private static final Map<String, long[]> OAEP_HASHES = new LinkedHashMap<>();

  static {
    OAEP_HASHES.put("SHA-1", new long[] {0x220, 0x1});
    OAEP_HASHES.put("SHA-224", new long[] {0x255, 0x5});
    OAEP_HASHES.put("SHA-256", new long[] {0x250, 0x2});
    OAEP_HASHES.put("SHA-384", new long[] {0x260, 0x3});
    OAEP_HASHES.put("SHA-512", new long[] {0x270, 0x4});
  }

  private MechanismDiscovery() {}

  /**
   * @param session a logged-in read-write session on the token (the connection's anchor), with no operation active;
   *     it is left so
   */
  static TokenMechanisms discover(PKCS11 module, long slotId, Session session, CkrMapping ckr)
      throws HsmException {
    long[] codes;
    try {
      codes = module.C_GetMechanismList(slotId);
    } catch (iaik.pkcs.pkcs11.wrapper.PKCS11Exception e) {
      throw ckr.map(new PKCS11Exception(e.getErrorCode()), Call.MECHANISMS, "C_GetMechanismList failed");
    }
    List<TokenMechanisms.Mechanism> listed = new ArrayList<>();
    for (long code : codes) {
      try {
        CK_MECHANISM_INFO info = module.C_GetMechanismInfo(slotId, code);
        listed.add(new TokenMechanisms.Mechanism(code, name(code), info.ulMinKeySize, info.ulMaxKeySize, info.flags));
      } catch (iaik.pkcs.pkcs11.wrapper.PKCS11Exception e) {
        HsmException mapped = ckr.map(new PKCS11Exception(e.getErrorCode()), Call.MECHANISMS,
            "C_GetMechanismInfo(" + name(code) + ") failed");
        if (mapped.kind().sessionFatal()) {
          throw mapped;
        }
        // a listed mechanism without info is not offered: nothing can be known of its flags
        LOG.warning(() -> mapped.getMessage() + "; treating it as not offered");
      }
    }
    TokenMechanisms partial = new TokenMechanisms(listed, Set.of());
    Set<String> hashes = partial.offers(Capability.RSA_OAEP) && partial.find(Capability.RSA_OAEP.mechanism())
        .map(m -> m.has(Capability.Flag.ENCRYPT)).orElse(false) ? oaepHashes(session, ckr) : Set.of();
    return new TokenMechanisms(listed, hashes);
  }

  static String name(long code) {
    String n = PKCS11Constants.ckmCodeToName(code);
    return n == null || n.isEmpty() ? "0x" + Long.toHexString(code).toUpperCase(java.util.Locale.ROOT) : n;
  }

  private static Set<String> oaepHashes(Session session, CkrMapping ckr) throws HsmException {
    long key;
    try {
      key = session.createObject(AttributeVector.newRSAPublicKey().token(false).private_(false).encrypt(true)
          .modulus(ProbeKey.MODULUS).publicExponent(ProbeKey.EXPONENT));
    } catch (PKCS11Exception e) {
      HsmException mapped = ckr.map(e, Call.MECHANISMS, "cannot create a session RSA public key to probe RSA-OAEP");
      if (mapped.kind().sessionFatal()) {
        throw mapped;
      }
      LOG.warning(() -> mapped.getMessage() + "; RSA-OAEP hashes unknown, none assumed");
      return Set.of();
    }
    Set<String> out = new LinkedHashSet<>();
    try {
      for (Map.Entry<String, long[]> h : OAEP_HASHES.entrySet()) {
        try {
          session.encryptInit(new Mechanism(PKCS11Constants.CKM_RSA_PKCS_OAEP,
              new RSA_PKCS_OAEP_PARAMS(h.getValue()[0], h.getValue()[1])), key);
          // C_Encrypt ends the operation whether it succeeds or fails
          session.encrypt(new byte[] {1});
          out.add(h.getKey());
        } catch (PKCS11Exception e) {
          HsmException mapped = ckr.map(e, Call.MECHANISMS, "RSA-OAEP with " + h.getKey());
          if (mapped.kind().sessionFatal()) {
            throw mapped;
          }
          LOG.fine(() -> "token refuses " + mapped.getMessage());
        }
      }
    } finally {
      try {
        session.destroyObject(key);
      } catch (PKCS11Exception e) {
        // a session object: it goes with the session anyway
        LOG.fine(() -> "destroying the probe's public key failed: " + e.getErrorName());
      }
    }
    return out;
  }

  /**
   * The probe's RSA-2048 public key: a constant, generated once with the JDK's {@code KeyPairGenerator} when this class
   * was written and its private half discarded. Only a valid modulus matters to the probe; making a key pair at run
   * time cost about 350 ms on the first connection of a cold JVM (measured on the project's machine).
   */
  private static final class ProbeKey {
    static final BigInteger MODULUS = new BigInteger(""
      + "aeb19e12ceda35b4ef566b559880ddd0c240a2898c1edaaf31d9eb5d3b0a27f53b90f48e92b116ffe34d3f83508dd447"
      + "7afd80ce6bcde362a719744683a6b4a8e59767f3599aacec777f2675ae8f5150a9361da0f1e61a63b90abacf3f394898"
      + "94890f5c7ee5a9bb42f921267940813f01dce67faf0dc002ea6ac373198075ea308ce341fc4b120532ffd1511f1b3fc6"
      + "f907fce0f446be379a122e941236f31c1ceac2de5af7edd9e68017fce7c271f7f5f931124a3ca5521cd373893947e221"
      + "ce8095f3fb1fa503d0d558ae1d2c0d9c9f364b945902b1327fd0b0fcb1f4ed09d43a166e5c3768f2f927d5591fe6da7d"
      + "19af194a8258934549758a71ce93d947", 16);
    static final BigInteger EXPONENT = BigInteger.valueOf(65537);
  }
}
