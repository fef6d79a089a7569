package io.kmsgw.kms;

import io.kmsgw.domain.Algorithms.Encryption;
import io.kmsgw.domain.KeyRecord;
import io.kmsgw.domain.KeySpec;
import io.kmsgw.domain.KeySpecTable;
import io.kmsgw.domain.KeyUsage;
import io.kmsgw.domain.KeyVersion;
import io.kmsgw.error.ErrorCode;
import io.kmsgw.error.KmsException;
import io.kmsgw.format.OaepDecoding;
import io.kmsgw.hsm.Capability;
import io.kmsgw.hsm.HsmErrorKind;
import io.kmsgw.hsm.HsmException;
import io.kmsgw.hsm.HsmKey;
import io.kmsgw.hsm.HsmSession;
import io.kmsgw.keystore.KeyStoreConnection;
import io.kmsgw.keystore.KeyStores;
import io.kmsgw.policy.KeyStateRules;
import java.math.BigInteger;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.MGF1ParameterSpec;
import java.security.spec.X509EncodedKeySpec;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import javax.crypto.BadPaddingException;
import javax.crypto.Cipher;
import javax.crypto.spec.OAEPParameterSpec;
import javax.crypto.spec.PSource;

/**
 * RSA encryption with the RSA_2048/3072/4096 keys of usage ENCRYPT_DECRYPT: RSAES_OAEP_SHA_1 and RSAES_OAEP_SHA_256,
 * as AWS KMS does them (the same hash for the label digest and MGF1, an empty label). The ciphertext is the raw RSA
 * ciphertext, exactly the modulus length, so that data encrypted anywhere with the public key decrypts here.
 *
 * <ul>
 *   <li>Encryption needs no secret: it runs in the gateway, with the JDK's {@code Cipher} and the public key read from
 *       the HSM's public key object, the same on every token and for both hashes.</li>
 *   <li>Decryption runs in the HSM with {@code CKM_RSA_PKCS_OAEP} when the token takes the hash (the hashes probed at
 *       connection, {@code TokenMechanisms.oaepHashes()}). Where it does not (SoftHSM2 2.6.1: SHA-1 only), the HSM
 *       does the raw private operation ({@code CKM_RSA_X_509}) and the gateway decodes the OAEP encoding in constant
 *       time ({@link OaepDecoding}); the private key never leaves the token either way.</li>
 *   <li>Every check (key state, usage, algorithm, encryption context, plaintext and ciphertext length, whether the
 *       token can decrypt the algorithm) runs before the HSM is touched; every failure of a ciphertext is one
 *       InvalidCiphertextException with one message.</li>
 * </ul>
 */
final class RsaEncryption {
  private static final java.util.logging.Logger LOG =
      java.util.logging.Logger.getLogger(RsaEncryption.class.getName());

  private final KeyStores stores;
  private final PublicKeys publicKeys;

  RsaEncryption(KeyStores stores, PublicKeys publicKeys) {
    this.stores = stores;
    this.publicKeys = publicKeys;
  }

  /** How one algorithm runs with one key: the hash, and whether the token's OAEP takes it. */
  record Plan(KeyRecord key, Encryption algorithm, String hash, boolean inHsmOaep) {
    int modulusLength() {
      return key.keySpec().bits() / 8;
    }

    /** RFC 8017 §7.1.1: k - 2 hLen - 2 bytes; AWS's limits (214 and 190 bytes for RSA_2048, ...). */
    int maxPlaintext() {
      return modulusLength() - 2 * OaepDecoding.hashLength(hash) - 2;
    }

    HsmKey object() {
      KeyVersion v = key.current();
      return new HsmKey(v.hsmLabel(), v.hsmId());
    }
  }

  /** An algorithm of this kind (the request names RSAES_OAEP_*), not SYMMETRIC_DEFAULT or none. */
  static boolean isRsaAlgorithm(String algorithm) {
    return Encryption.RSAES_OAEP_SHA_1.name().equals(algorithm)
        || Encryption.RSAES_OAEP_SHA_256.name().equals(algorithm);
  }

  /** Keys this class serves: RSA specs (their usage is checked by {@link #plan}). */
  static boolean handles(KeyRecord key) {
    return key.keySpec().family() == KeySpec.Family.RSA;
  }

  /**
   * Every check before the HSM: key state, usage, the algorithm against the key spec table, no encryption context,
   * and a token that can decrypt the algorithm (OAEP with the hash, or the raw operation to decode it in the gateway).
   *
   * @throws KmsException InvalidKeyUsageException, ValidationException, DisabledException, KMSInvalidStateException,
   *     UnsupportedOperationException
   */
  Plan plan(KeyRecord key, String algorithm, Map<String, String> context, String operation) {
    KeyStateRules.requireUsableForCrypto(key, stores.connected(key));
    if (key.keyUsage() != KeyUsage.ENCRYPT_DECRYPT) {
      throw new KmsException(ErrorCode.INVALID_KEY_USAGE, "You cannot use " + operation + " with " + key.arn()
          + ": its KeyUsage is " + key.keyUsage() + " and its KeySpec is " + key.keySpec() + ".");
    }
    String named = algorithm == null ? CryptoService.SYMMETRIC_DEFAULT : algorithm;
    List<Encryption> allowed = KeySpecTable.row(key.keySpec(), key.keyUsage()).map(KeySpecTable.Row::encryption)
        .orElse(List.of());
    Encryption chosen = allowed.stream().filter(a -> a.name().equals(named)).findFirst().orElseThrow(() ->
        // AWS's answer to an RSA key without EncryptionAlgorithm, or with another key's algorithm
        new KmsException(ErrorCode.INVALID_KEY_USAGE, "Algorithm " + named + " is incompatible with key spec "
            + key.keySpec() + "."));
    if (context != null && !context.isEmpty()) {
      throw KmsException.validation("EncryptionContext is not supported when encrypting/decrypting with asymmetric "
          + "CMKs.");
    }
    String hash = chosen == Encryption.RSAES_OAEP_SHA_1 ? "SHA-1" : "SHA-256";
    KeyStoreConnection store = stores.of(key);
    boolean inHsmOaep = store.mechanisms().oaepHashes().contains(hash);
    if (!inHsmOaep) {
      // the fallback: the raw RSA operation in the HSM, OAEP decoded here (decided before encrypting, too: a
      // ciphertext that nothing could decrypt is no use)
      store.require(Capability.RSA_X_509);
    }
    return new Plan(key, chosen, hash, inHsmOaep);
  }

  /** AWS's plaintext limit per key size and hash, checked before the HSM (Encrypt) or after decrypting (ReEncrypt). */
  static void checkPlaintext(Plan plan, byte[] plaintext) {
    if (plaintext.length > plan.maxPlaintext()) {
      throw KmsException.validation("Algorithm " + plan.algorithm() + " and key spec " + plan.key().keySpec()
          + " cannot encrypt data larger than " + plan.maxPlaintext() + " bytes.");
    }
  }

  /**
   * Encrypt: RSAES-OAEP with the key's public half (read from the HSM's public key object once, then kept by
   * {@link PublicKeys}), in the gateway: no HSM session once the public key is known.
   */
  CompletableFuture<byte[]> seal(Plan plan, byte[] plaintext) {
    checkPlaintext(plan, plaintext);
    return publicKeys.withPublicKey(plan.key(), spki -> seal(plan, rsaPublicKey(plan, spki), plaintext));
  }

  /** ReEncrypt's sealing, inside the session that decrypted. */
  byte[] seal(HsmSession s, Plan plan, byte[] plaintext) throws HsmException {
    checkPlaintext(plan, plaintext);
    return seal(plan, publicKey(s, plan), plaintext);
  }

  private static byte[] seal(Plan plan, RSAPublicKey publicKey, byte[] plaintext) {
    try {
      Cipher cipher = Cipher.getInstance("RSA/ECB/OAEPPadding");
      cipher.init(Cipher.ENCRYPT_MODE, publicKey, new OAEPParameterSpec(plan.hash(), "MGF1",
          new MGF1ParameterSpec(plan.hash()), PSource.PSpecified.DEFAULT));
      return cipher.doFinal(plaintext);
    } catch (GeneralSecurityException e) {
      throw KmsException.internal("RSA-OAEP encryption with the public key of " + plan.key().arn() + " failed.", e);
    }
  }

  /**
   * Decrypts in the HSM. Every failure, whatever its cause (length, a representative not below the modulus, a token
   * refusing it, a malformed encoding), is the same InvalidCiphertextException.
   */
  byte[] open(HsmSession s, Plan plan, byte[] ciphertext) throws HsmException {
    int k = plan.modulusLength();
    // RFC 8017 §7.1.2 steps 1 and 2.a-b on the public input: the length and c < n, decided before the HSM
    if (ciphertext == null || ciphertext.length != k
        || new BigInteger(1, ciphertext).compareTo(publicKey(s, plan).getModulus()) >= 0) {
      throw CryptoService.invalidCiphertext();
    }
    try {
      if (plan.inHsmOaep()) {
        return s.decryptOaep(plan.object(), plan.hash(), ciphertext);
      }
      return OaepDecoding.decode(leftPadded(s.decryptRaw(plan.object(), ciphertext), k), plan.hash(), k);
    } catch (BadPaddingException e) {
      throw CryptoService.invalidCiphertext();
    } catch (HsmException e) {
      // a token refuses a ciphertext with its own code (measured: SoftHSM2 CKR_GENERAL_ERROR, NSS
      // CKR_ENCRYPTED_DATA_INVALID; others CKR_DATA_INVALID or CKR_ARGUMENTS_BAD, mapped to OTHER): all of them are
      // the one answer. The code goes to the log (FINE: a client can cause it at will), never to the client
      if (e.kind() == HsmErrorKind.BAD_CIPHERTEXT || e.kind() == HsmErrorKind.OTHER) {
        LOG.fine(() -> "RSA decryption refused by the token for " + plan.key().arn() + ": " + e.ckrName());
        throw CryptoService.invalidCiphertext();
      }
      throw e;
    }
  }

  /**
   * The raw operation's output as exactly {@code k} bytes: PKCS#11 says {@code CKM_RSA_X_509} returns the modulus
   * length, and a token that drops leading zeros gets them back here. The token's buffer is wiped.
   */
  private static byte[] leftPadded(byte[] raw, int k) throws BadPaddingException {
    if (raw.length == k) {
      return raw;
    }
    try {
      if (raw.length > k) {
        throw new BadPaddingException(OaepDecoding.FAILURE);
      }
      byte[] em = new byte[k];
      System.arraycopy(raw, 0, em, k - raw.length, raw.length);
      return em;
    } finally {
      Arrays.fill(raw, (byte) 0);
    }
  }

  private RSAPublicKey publicKey(HsmSession s, Plan plan) throws HsmException {
    return rsaPublicKey(plan, publicKeys.of(plan.key(), s));
  }

  private static RSAPublicKey rsaPublicKey(Plan plan, byte[] spki) {
    try {
      return (RSAPublicKey) KeyFactory.getInstance("RSA").generatePublic(new X509EncodedKeySpec(spki));
    } catch (GeneralSecurityException e) {
      throw KmsException.internal("The public key of " + plan.key().arn() + " is not an RSA key.", e);
    }
  }
}
