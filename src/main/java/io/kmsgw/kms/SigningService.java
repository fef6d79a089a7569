package io.kmsgw.kms;

import io.kmsgw.domain.Algorithms.Signing;
import io.kmsgw.domain.Caller;
import io.kmsgw.domain.KeyRecord;
import io.kmsgw.domain.KeySpec;
import io.kmsgw.domain.KeySpecTable;
import io.kmsgw.domain.KeyUsage;
import io.kmsgw.domain.KeyVersion;
import io.kmsgw.error.ErrorCode;
import io.kmsgw.error.KmsException;
import io.kmsgw.format.EcdsaSignatures;
import io.kmsgw.hsm.HsmKey;
import io.kmsgw.keystore.KeyStores;
import io.kmsgw.policy.KeyStateRules;
import io.kmsgw.policy.RequestContext;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;

/**
 * Sign and Verify with an asymmetric SIGN_VERIFY key: RSA (PSS and PKCS#1 v1.5), ECDSA on the NIST curves and secp256k1,
 * and Ed25519.
 *
 * <p>Every check that can fail runs before the HSM is touched: the key policy, grants and IAM policies (with
 * {@code kms:SigningAlgorithm} and {@code kms:MessageType}), the key state, the key usage, the algorithm against the
 * key spec (InvalidKeyUsageException, as the model documents it), the MessageType against the algorithm and a DIGEST's
 * length (ValidationException), DryRun, and for Verify the signature's form (KMSInvalidSignatureException). The
 * message is hashed here, never in the HSM: the HSM signs the digest with the key pair's private half
 * ({@link io.kmsgw.hsm.AsymmetricSigning}); Verify checks the signature here with the public key
 * ({@link SignatureVerifier}, the key read from the HSM once per version by {@link PublicKeys}). Messages and
 * signatures are never logged or stored.
 */
public final class SigningService {
  /** The model's {@code MessageType}. */
  public enum MessageType { RAW, DIGEST, EXTERNAL_MU }

  private final KeyService keys;
  private final KeyStores stores;
  private final PublicKeys publicKeys;
  private final SignatureVerifier verifier = new SignatureVerifier();

  public SigningService(KeyService keys, KeyStores stores, PublicKeys publicKeys) {
    this.keys = keys;
    this.stores = stores;
    this.publicKeys = publicKeys;
  }

  public record SignResult(KeyRecord key, byte[] signature, Signing algorithm) {}

  public record VerifyResult(KeyRecord key, Signing algorithm) {}

  /**
   * @param messageType RAW, DIGEST or EXTERNAL_MU; null means RAW, as in KMS
   */
  public CompletableFuture<SignResult> sign(Caller caller, UUID keyId, byte[] message, String messageType,
      String algorithm, boolean dryRun) {
    Signing signing = Signing.valueOf(algorithm);
    MessageType type = messageType(messageType);
    return keys.lookup(caller, "Sign", keyId, null, conditionKeys(signing, type)).thenCompose(key -> {
      byte[] input = checkedInput(key, signing, type, message);
      CryptoService.dryRunStop(dryRun);
      HsmKey object = keyPair(key);
      return stores.of(key).run(ErrorCode.KMS_INVALID_STATE, key.arn(),
          s -> new SignResult(key, s.signWithKeyPair(object, key.keySpec(), signing, input), signing));
    });
  }

  /**
   * @return the key and algorithm when the signature verifies
   * @throws KmsException KMSInvalidSignatureException (through the future) when it does not, or cannot be a signature
   *     of the key
   */
  public CompletableFuture<VerifyResult> verify(Caller caller, UUID keyId, byte[] message, String messageType,
      byte[] signature, String algorithm, boolean dryRun) {
    Signing signing = Signing.valueOf(algorithm);
    MessageType type = messageType(messageType);
    return keys.lookup(caller, "Verify", keyId, null, conditionKeys(signing, type)).thenCompose(key -> {
      byte[] input = checkedInput(key, signing, type, message);
      CryptoService.dryRunStop(dryRun);
      if (!canBeSignatureOf(key.keySpec(), signature)) {
        throw invalidSignature();
      }
      // the public key comes from the HSM once per key version; the check itself needs no HSM (docs/decisions.md)
      // and runs on the compute pool: 0.1 ms (ECDSA P-256) to 1 ms (RSA-4096 PSS) of CPU, never on an event loop
      return publicKeys.withPublicKey(key, spki -> {
        if (!verifier.verify(key.keySpec(), signing, spki, input, signature)) {
          throw invalidSignature();
        }
        return new VerifyResult(key, signing);
      });
    });
  }

  /** The current version's key pair (both halves carry the version's label and id). */
  private static HsmKey keyPair(KeyRecord key) {
    KeyVersion version = key.current();
    return new HsmKey(version.hsmLabel(), version.hsmId());
  }

  private static MessageType messageType(String value) {
    return value == null ? MessageType.RAW : MessageType.valueOf(value);
  }

  /** kms:SigningAlgorithm and kms:MessageType, as the request has them (RAW when it names no type). */
  private static Consumer<RequestContext.Builder> conditionKeys(Signing algorithm, MessageType type) {
    return b -> {
      b.put("kms:SigningAlgorithm", algorithm.name());
      b.put("kms:MessageType", type.name());
    };
  }

  /**
   * The key's state, usage and spec checks, then the message checks; returns what the HSM signs or verifies: the
   * digest (computed here for RAW), or the message itself for Ed25519.
   */
  private byte[] checkedInput(KeyRecord key, Signing algorithm, MessageType type, byte[] message) {
    KeyStateRules.requireUsableForCrypto(key, stores.connected(key));
    if (key.keyUsage() != KeyUsage.SIGN_VERIFY) {
      throw new KmsException(ErrorCode.INVALID_KEY_USAGE, key.arn() + " key usage is " + key.keyUsage()
          + " which is not valid for signing or verifying.");
    }
    List<Signing> allowed = KeySpecTable.row(key.keySpec(), KeyUsage.SIGN_VERIFY).map(KeySpecTable.Row::signing)
        .orElse(List.of());
    if (!allowed.contains(algorithm)) {
      throw new KmsException(ErrorCode.INVALID_KEY_USAGE, "Algorithm " + algorithm + " is incompatible with key spec "
          + key.keySpec() + ". Use one of " + allowed + ".");
    }
    if (type == MessageType.EXTERNAL_MU) {
      throw KmsException.validation("MessageType EXTERNAL_MU is valid only with ML_DSA_SHAKE_256.");
    }
    if (algorithm == Signing.ED25519_SHA_512 && type != MessageType.RAW) {
      throw KmsException.validation("ED25519_SHA_512 requires MessageType RAW.");
    }
    if (algorithm == Signing.ED25519_PH_SHA_512 && type != MessageType.DIGEST) {
      throw KmsException.validation("ED25519_PH_SHA_512 requires MessageType DIGEST.");
    }
    if (type == MessageType.DIGEST && message.length != algorithm.digestLength()) {
      throw KmsException.validation("Digest is invalid length for algorithm " + algorithm + ": it must be "
          + algorithm.digestLength() + " bytes.");
    }
    KeySpecTable.refusal(algorithm).ifPresent(why -> {
      throw new KmsException(ErrorCode.UNSUPPORTED_OPERATION, why);
    });
    if (algorithm == Signing.ED25519_SHA_512 || type == MessageType.DIGEST) {
      return message;
    }
    try {
      return MessageDigest.getInstance(algorithm.hash()).digest(message);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("the JDK lacks " + algorithm.hash(), e);
    }
  }

  /**
   * Whether the bytes have the form of a signature of the key: the modulus's length for RSA, 64 bytes for Ed25519, a DER
   * {@code SEQUENCE {r, s}} with both within the curve's size for ECDSA. Anything else fails Verify without the HSM.
   */
  static boolean canBeSignatureOf(KeySpec spec, byte[] signature) {
    return switch (spec.family()) {
      case RSA -> signature.length == spec.bits() / 8;
      case EDWARDS -> signature.length == 64;
      case EC -> EcdsaSignatures.derToRaw(signature, SignatureVerifier.fieldBytes(spec)).isPresent();
      default -> false;
    };
  }

  private static KmsException invalidSignature() {
    return new KmsException(ErrorCode.KMS_INVALID_SIGNATURE, "The signature verification failed.");
  }
}
