package io.kmsgw.kms;

import io.kmsgw.domain.Algorithms.Signing;
import io.kmsgw.domain.KeySpec;
import io.kmsgw.format.DigestInfos;
import io.kmsgw.format.EcdsaSignatures;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import org.bouncycastle.crypto.Digest;
import org.bouncycastle.crypto.InvalidCipherTextException;
import org.bouncycastle.crypto.encodings.PKCS1Encoding;
import org.bouncycastle.crypto.engines.RSAEngine;
import org.bouncycastle.crypto.params.AsymmetricKeyParameter;
import org.bouncycastle.crypto.params.ECPublicKeyParameters;
import org.bouncycastle.crypto.params.Ed25519PublicKeyParameters;
import org.bouncycastle.crypto.params.RSAKeyParameters;
import org.bouncycastle.crypto.signers.ECDSASigner;
import org.bouncycastle.crypto.signers.Ed25519Signer;
import org.bouncycastle.crypto.signers.PSSSigner;
import org.bouncycastle.crypto.util.DigestFactory;
import org.bouncycastle.crypto.util.PublicKeyFactory;

/**
 * Verify's check, in the gateway with a key version's public key (its SubjectPublicKeyInfo as the HSM gave it): pure
 * computation with Bouncy Castle's primitives, which take a digest as the JDK's {@code Signature} does not for PSS,
 * and know secp256k1, which the JDK dropped.
 *
 * <ul>
 *   <li>RSASSA_PSS_SHA_*: EMSA-PSS verification over the digest, MGF1 with the same hash, salt as long as the digest.
 *   <li>RSASSA_PKCS1_V1_5_SHA_*: the public key opens the signature's type-1 padding; what is inside must equal the
 *       digest's DigestInfo (compared in constant time).
 *   <li>ECDSA_SHA_*: the DER {@code SEQUENCE {r, s}} checked strictly ({@link EcdsaSignatures#derToRaw}), then ECDSA
 *       verification over the digest.
 *   <li>ED25519_SHA_512: RFC 8032 verification over the message.
 * </ul>
 */
public final class SignatureVerifier {
  /**
   * Public keys as parsed, by their DER: an EC point keeps the precomputation of its first verification, which halves
   * the cost of the next (P-256: about 300 µs instead of 650 µs, measured with Bouncy Castle 1.87 on the project's
   * busy machine). One entry per public key ever verified with, as {@link PublicKeys} keeps one per key version.
   */
  private final Map<ByteBuffer, AsymmetricKeyParameter> parsed = new ConcurrentHashMap<>();

  /**
   * @param subjectPublicKeyInfo the key version's public key
   * @param input the digest of the algorithm's hash, or the message for ED25519_SHA_512
   * @return whether the signature is the key's over the input with the algorithm
   */
  public boolean verify(KeySpec spec, Signing algorithm, byte[] subjectPublicKeyInfo, byte[] input, byte[] signature) {
    AsymmetricKeyParameter key = parsed.computeIfAbsent(ByteBuffer.wrap(subjectPublicKeyInfo.clone()), der -> {
      try {
        return PublicKeyFactory.createKey(der.array());
      } catch (IOException | RuntimeException e) {
        throw new IllegalStateException("the public key of a " + spec + " key does not parse", e);
      }
    });
    try {
      return switch (algorithm) {
        case RSASSA_PSS_SHA_256, RSASSA_PSS_SHA_384, RSASSA_PSS_SHA_512 -> pss((RSAKeyParameters) key, algorithm,
            input, signature);
        case RSASSA_PKCS1_V1_5_SHA_256, RSASSA_PKCS1_V1_5_SHA_384, RSASSA_PKCS1_V1_5_SHA_512 ->
            pkcs1((RSAKeyParameters) key, algorithm, input, signature);
        case ECDSA_SHA_256, ECDSA_SHA_384, ECDSA_SHA_512 -> ecdsa((ECPublicKeyParameters) key, spec, input,
            signature);
        case ED25519_SHA_512 -> ed25519((Ed25519PublicKeyParameters) key, input, signature);
        default -> throw new IllegalArgumentException(algorithm + " is not verified by kmsgw");
      };
    } catch (ClassCastException e) {
      throw new IllegalStateException("the public key of a " + spec + " key is not one for " + algorithm, e);
    }
  }

  private static Digest digest(Signing algorithm) {
    return switch (algorithm.hash()) {
      case "SHA-256" -> DigestFactory.createSHA256();
      case "SHA-384" -> DigestFactory.createSHA384();
      default -> DigestFactory.createSHA512();
    };
  }

  private static boolean pss(RSAKeyParameters key, Signing algorithm, byte[] digest, byte[] signature) {
    PSSSigner pss = PSSSigner.createRawSigner(new RSAEngine(), digest(algorithm), digest(algorithm),
        algorithm.digestLength(), PSSSigner.TRAILER_IMPLICIT);
    pss.init(false, key);
    pss.update(digest, 0, digest.length);
    try {
      return pss.verifySignature(signature);
    } catch (RuntimeException e) {
      return false; // a signature value not below the modulus
    }
  }

  private static boolean pkcs1(RSAKeyParameters key, Signing algorithm, byte[] digest, byte[] signature) {
    PKCS1Encoding rsa = new PKCS1Encoding(new RSAEngine());
    rsa.init(false, key);
    byte[] opened;
    try {
      opened = rsa.processBlock(signature, 0, signature.length);
    } catch (InvalidCipherTextException | RuntimeException e) {
      return false;
    }
    byte[] expected = DigestInfos.of(algorithm.hash(), digest);
    try {
      return MessageDigest.isEqual(opened, expected);
    } finally {
      Arrays.fill(opened, (byte) 0);
    }
  }

  private static boolean ecdsa(ECPublicKeyParameters key, KeySpec spec, byte[] digest, byte[] signature) {
    Optional<byte[]> raw = EcdsaSignatures.derToRaw(signature, fieldBytes(spec));
    if (raw.isEmpty()) {
      return false;
    }
    int half = raw.get().length / 2;
    BigInteger r = new BigInteger(1, Arrays.copyOfRange(raw.get(), 0, half));
    BigInteger s = new BigInteger(1, Arrays.copyOfRange(raw.get(), half, raw.get().length));
    ECDSASigner ecdsa = new ECDSASigner();
    ecdsa.init(false, key);
    return ecdsa.verifySignature(digest, r, s);
  }

  private static boolean ed25519(Ed25519PublicKeyParameters key, byte[] message, byte[] signature) {
    Ed25519Signer ed = new Ed25519Signer();
    ed.init(false, key);
    ed.update(message, 0, message.length);
    return ed.verifySignature(signature);
  }

  /** The size of an EC key's coordinates and of r and s: 32 bytes for P-256 and secp256k1, 66 for P-521. */
  static int fieldBytes(KeySpec spec) {
    return (spec.bits() + 7) / 8;
  }
}
