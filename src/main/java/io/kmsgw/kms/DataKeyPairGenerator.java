package io.kmsgw.kms;

import io.kmsgw.domain.KeySpec;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.SecureRandom;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.NamedParameterSpec;
import java.security.spec.RSAKeyGenParameterSpec;
import java.util.Arrays;
import org.bouncycastle.asn1.sec.SECObjectIdentifiers;
import org.bouncycastle.crypto.AsymmetricCipherKeyPair;
import org.bouncycastle.crypto.digests.SHA512Digest;
import org.bouncycastle.crypto.generators.ECKeyPairGenerator;
import org.bouncycastle.crypto.params.ECKeyGenerationParameters;
import org.bouncycastle.crypto.params.ECNamedDomainParameters;
import org.bouncycastle.crypto.prng.EntropySource;
import org.bouncycastle.crypto.prng.SP800SecureRandomBuilder;
import org.bouncycastle.crypto.util.PrivateKeyInfoFactory;
import org.bouncycastle.crypto.util.SubjectPublicKeyInfoFactory;

/**
 * Generates a data key pair in the gateway from a seed drawn from the HSM: the private key as PKCS#8
 * {@code PrivateKeyInfo} DER (RFC 5208; RFC 5915 inside for EC, RFC 8410 for Ed25519), the public key as X.509
 * {@code SubjectPublicKeyInfo} DER. Pure computation, no I/O; it takes as long as the key type takes (an RSA-4096
 * pair about a second), so it runs on a compute pool, never on an event loop or an HSM worker.
 *
 * <p>Randomness: {@link #SEED_BYTES} bytes from the HSM's {@code C_GenerateRandom} instantiate a Hash_DRBG with
 * SHA-512 (NIST SP 800-90A, security strength 256 bits): the first 32 bytes are its entropy input, the next 16 its
 * nonce. The DRBG is used for one pair and dropped; it draws nothing from the host (a second request for entropy,
 * which no generator here makes, fails instead of falling back to the host). The JDK generates RSA, the NIST curves
 * and Ed25519 with that DRBG as its {@code SecureRandom}; Bouncy Castle generates secp256k1, which the JDK 17 no
 * longer has.
 */
final class DataKeyPairGenerator {
  /** Entropy input (32 bytes, 256 bits) and nonce (16 bytes, 128 bits) of the Hash_DRBG. */
  static final int SEED_BYTES = 48;
  private static final int ENTROPY_BYTES = 32;
  private static final byte[] PERSONALIZATION = "kmsgw GenerateDataKeyPair".getBytes(StandardCharsets.US_ASCII);

  /** A generated pair, DER-encoded. {@link #wipe()} clears the private key's bytes. */
  record Encoded(byte[] privateKeyInfo, byte[] subjectPublicKeyInfo) {
    void wipe() {
      Arrays.fill(privateKeyInfo, (byte) 0);
    }
  }

  private DataKeyPairGenerator() {}

  /** Whether this generator makes pairs of the spec: the key pair specs of the table, but SM2. */
  static boolean generates(KeySpec spec) {
    return switch (spec.family()) {
      case RSA, EC, EDWARDS -> true;
      default -> false;
    };
  }

  /**
   * A new pair of the spec from the HSM's seed (which is wiped).
   *
   * @throws IllegalArgumentException for a spec {@link #generates} refuses, or a seed of the wrong length
   */
  static Encoded generate(KeySpec spec, byte[] seed) {
    if (!generates(spec)) {
      throw new IllegalArgumentException("no data key pairs of " + spec);
    }
    SecureRandom random = seeded(seed);
    try {
      if (spec == KeySpec.ECC_SECG_P256K1) {
        return secp256k1(random);
      }
      KeyPair pair = jdkGenerator(spec, random).generateKeyPair();
      return new Encoded(pair.getPrivate().getEncoded(), pair.getPublic().getEncoded());
    } catch (GeneralSecurityException | IOException e) {
      throw new IllegalStateException("generating a " + spec + " data key pair failed", e);
    }
  }

  private static KeyPairGenerator jdkGenerator(KeySpec spec, SecureRandom random) throws GeneralSecurityException {
    return switch (spec.family()) {
      case RSA -> {
        KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
        g.initialize(new RSAKeyGenParameterSpec(spec.bits(), RSAKeyGenParameterSpec.F4), random);
        yield g;
      }
      case EC -> {
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
        g.initialize(new ECGenParameterSpec(switch (spec) {
          case ECC_NIST_P256 -> "secp256r1";
          case ECC_NIST_P384 -> "secp384r1";
          default -> "secp521r1";
        }), random);
        yield g;
      }
      default -> {
        KeyPairGenerator g = KeyPairGenerator.getInstance("Ed25519");
        g.initialize(NamedParameterSpec.ED25519, random);
        yield g;
      }
    };
  }

  private static Encoded secp256k1(SecureRandom random) throws IOException {
    ECKeyPairGenerator g = new ECKeyPairGenerator();
    g.init(new ECKeyGenerationParameters(ECNamedDomainParameters.lookup(SECObjectIdentifiers.secp256k1), random));
    AsymmetricCipherKeyPair pair = g.generateKeyPair();
    return new Encoded(PrivateKeyInfoFactory.createPrivateKeyInfo(pair.getPrivate()).getEncoded("DER"),
        SubjectPublicKeyInfoFactory.createSubjectPublicKeyInfo(pair.getPublic()).getEncoded("DER"));
  }

  /** A Hash_DRBG (SHA-512) instantiated from the seed alone; the seed array is wiped. */
  static SecureRandom seeded(byte[] seed) {
    if (seed.length != SEED_BYTES) {
      throw new IllegalArgumentException("the seed is " + SEED_BYTES + " bytes");
    }
    byte[] entropy = Arrays.copyOf(seed, ENTROPY_BYTES);
    byte[] nonce = Arrays.copyOfRange(seed, ENTROPY_BYTES, SEED_BYTES);
    Arrays.fill(seed, (byte) 0);
    EntropySource once = new EntropySource() {
      private boolean used;

      @Override
      public boolean isPredictionResistant() {
        return false;
      }

      @Override
      public synchronized byte[] getEntropy() {
        if (used) {
          // a reseed would need more entropy than the HSM's seed: fail rather than take the host's
          throw new IllegalStateException("the data key pair's DRBG asked for entropy twice");
        }
        used = true;
        byte[] copy = entropy.clone();
        Arrays.fill(entropy, (byte) 0);
        return copy;
      }

      @Override
      public int entropySize() {
        return ENTROPY_BYTES * 8;
      }
    };
    return new SP800SecureRandomBuilder(bits -> once)
        .setPersonalizationString(PERSONALIZATION)
        .buildHash(new SHA512Digest(), nonce, false);
  }
}
