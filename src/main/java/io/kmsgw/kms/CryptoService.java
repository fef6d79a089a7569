package io.kmsgw.kms;

import io.kmsgw.async.Completions;
import io.kmsgw.domain.Caller;
import io.kmsgw.domain.KeyRecord;
import io.kmsgw.domain.KeyVersion;
import io.kmsgw.error.ErrorCode;
import io.kmsgw.error.KmsException;
import io.kmsgw.format.CiphertextBlob;
import io.kmsgw.format.EncryptionContextCodec;
import io.kmsgw.hsm.GcmIvRecovery;
import io.kmsgw.hsm.GcmSealed;
import io.kmsgw.hsm.HsmException;
import io.kmsgw.hsm.HsmKey;
import io.kmsgw.hsm.HsmSession;
import io.kmsgw.keystore.KeyStoreConnection;
import io.kmsgw.keystore.KeyStores;
import io.kmsgw.policy.KeyStateRules;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;

/**
 * The symmetric cryptographic operations: Encrypt, Decrypt, GenerateDataKey(WithoutPlaintext), GenerateRandom.
 *
 * <p>Every check that can fail (key state, key usage, algorithm, encryption context, blob format) runs before the
 * HSM is touched. The AES-GCM operation itself runs in the HSM with the key's newest version (encrypt) or the
 * version named in the blob (decrypt); the blob header and the encoded encryption context are the AAD, see
 * {@link CiphertextBlob}. Plaintext and data keys exist only in the request and response; they are never logged
 * or stored.
 */
public final class CryptoService {
  public static final String SYMMETRIC_DEFAULT = "SYMMETRIC_DEFAULT";

  private static final ThreadLocal<SecureRandom> IV_RANDOM = ThreadLocal.withInitial(() -> {
    try {
      return SecureRandom.getInstance("DRBG");
    } catch (NoSuchAlgorithmException e) {
      return new SecureRandom();
    }
  });

  private final KeyService keys;
  private final KeyStores stores;
  private final RsaEncryption rsa;
  private final ReEncryption reEncryption;

  public CryptoService(KeyService keys, KeyStores stores) {
    this(keys, stores, new PublicKeys(keys, stores));
  }

  /** @param publicKeys the public halves of RSA keys, which encrypt in the gateway */
  public CryptoService(KeyService keys, KeyStores stores, PublicKeys publicKeys) {
    this.keys = keys;
    this.stores = stores;
    this.rsa = new RsaEncryption(stores, publicKeys);
    this.reEncryption = new ReEncryption(keys, stores, rsa, this);
  }

  public record EncryptResult(KeyRecord key, byte[] ciphertextBlob) {}

  public record DecryptResult(KeyRecord key, int keyVersion, byte[] plaintext) {}

  public record DataKeyResult(KeyRecord key, int keyVersion, byte[] plaintext, byte[] ciphertextBlob) {}

  /** Encrypt under a symmetric key (AES-GCM in the HSM) or an RSA key ({@link RsaEncryption}), by the key's spec. */
  public CompletableFuture<EncryptResult> encrypt(Caller caller, UUID keyId, byte[] plaintext,
      Map<String, String> context, String algorithm, boolean dryRun) {
    byte[] encodedContext = EncryptionContextCodec.encode(context);
    return keys.lookup(caller, "Encrypt", keyId, context, algorithmKey(algorithm)).thenCompose(key -> {
      if (RsaEncryption.handles(key)) {
        RsaEncryption.Plan plan = rsa.plan(key, algorithm, context, "Encrypt");
        RsaEncryption.checkPlaintext(plan, plaintext);
        dryRunStop(dryRun);
        return rsa.seal(plan, plaintext).thenApply(ciphertext -> new EncryptResult(key, ciphertext));
      }
      return sealWith(key, encodedContext, algorithm, dryRun, "Encrypt", (s, k, version, aadContext) ->
          new EncryptResult(k, seal(s, k, version, plaintext, aadContext)));
    });
  }

  public CompletableFuture<DataKeyResult> generateDataKey(Caller caller, UUID keyId, int numberOfBytes,
      Map<String, String> context, boolean dryRun) {
    return generateDataKey(caller, "GenerateDataKey", keyId, numberOfBytes, context, dryRun);
  }

  /**
   * @param operation GenerateDataKey or GenerateDataKeyWithoutPlaintext: the action policies and grants must allow
   */
  public CompletableFuture<DataKeyResult> generateDataKey(Caller caller, String operation, UUID keyId,
      int numberOfBytes, Map<String, String> context, boolean dryRun) {
    // the data key comes from the HSM's generator and is sealed in the same session
    return sealUnder(caller, keyId, context, SYMMETRIC_DEFAULT, dryRun, operation, (s, key, version, aadContext) -> {
      byte[] dataKey = s.generateRandom(numberOfBytes);
      return new DataKeyResult(key, version.version(), dataKey, seal(s, key, version, dataKey, aadContext));
    });
  }

  /** The request names RSAES_OAEP_SHA_1 or RSAES_OAEP_SHA_256: an RSA ciphertext that does not name its key. */
  public static boolean isRsaAlgorithm(String algorithm) {
    return RsaEncryption.isRsaAlgorithm(algorithm);
  }

  /** HSM work that seals something under a key's current version. */
  @FunctionalInterface
  interface SealWork<T> {
    T run(HsmSession s, KeyRecord key, KeyVersion version, byte[] encodedContext) throws HsmException;
  }

  /** Every check first (context, key state, usage, algorithm, DryRun), then the HSM work on the current version. */
  private <T> CompletableFuture<T> sealUnder(Caller caller, UUID keyId, Map<String, String> context,
      String algorithm, boolean dryRun, String operation, SealWork<T> work) {
    byte[] encodedContext = EncryptionContextCodec.encode(context);
    return sealingKey(caller, operation, keyId, context, algorithm, null, dryRun)
        .thenCompose(key -> onCurrentVersion(key, encodedContext, work));
  }

  /**
   * The key to seal under, once every check passed: the caller's permission (with kms:EncryptionAlgorithm and the
   * operation's own condition keys), the key state, a symmetric encryption key, the algorithm, DryRun. Nothing has
   * reached the HSM yet. The caller encodes the encryption context first ({@link EncryptionContextCodec#encode}
   * checks its form). Also for operations that seal after more than one HSM call ({@link DataKeyPairService}).
   *
   * @param conditions operation-specific condition keys, or null
   */
  CompletableFuture<KeyRecord> sealingKey(Caller caller, String operation, UUID keyId, Map<String, String> context,
      String algorithm, java.util.function.Consumer<io.kmsgw.policy.RequestContext.Builder> conditions,
      boolean dryRun) {
    var requestKeys = conditions == null ? algorithmKey(algorithm) : algorithmKey(algorithm).andThen(conditions);
    return keys.lookup(caller, operation, keyId, context, requestKeys)
        .thenApply(key -> {
          checkEncryptable(key, algorithm, operation);
          dryRunStop(dryRun);
          return key;
        });
  }

  /** HSM work on the key's current version, in its key store (the checks of {@link #sealingKey} already done). */
  <T> CompletableFuture<T> onCurrentVersion(KeyRecord key, byte[] encodedContext, SealWork<T> work) {
    KeyVersion version = key.current();
    return stores.of(key).run(ErrorCode.KMS_INVALID_STATE, key.arn(), s -> work.run(s, key, version, encodedContext));
  }

  /** The checks of {@link #sealingKey} on a key already looked up (and authorized), then the HSM work. */
  private <T> CompletableFuture<T> sealWith(KeyRecord key, byte[] encodedContext, String algorithm, boolean dryRun,
      String operation, SealWork<T> work) {
    checkEncryptable(key, algorithm, operation);
    dryRunStop(dryRun);
    return onCurrentVersion(key, encodedContext, work);
  }

  /**
   * @param expectedKeyId the KeyId the caller named, or null
   * @param ignoreCiphertext DryRun with DryRunModifiers IGNORE_CIPHERTEXT: check the key, not the blob
   */
  public CompletableFuture<DecryptResult> decrypt(Caller caller, byte[] blobBytes, UUID expectedKeyId,
      Map<String, String> context, String algorithm, boolean dryRun, boolean ignoreCiphertext) {
    byte[] encodedContext = EncryptionContextCodec.encode(context);
    if (RsaEncryption.isRsaAlgorithm(algorithm)) {
      return decryptRsa(caller, blobBytes, expectedKeyId, context, algorithm, dryRun);
    }
    if (dryRun && ignoreCiphertext) {
      if (expectedKeyId == null) {
        throw KmsException.validation("KeyId is required when DryRunModifiers contains IGNORE_CIPHERTEXT.");
      }
      return keys.lookup(caller, "Decrypt", expectedKeyId, context, algorithmKey(algorithm)).thenApply(key -> {
        if (RsaEncryption.handles(key)) {
          rsa.plan(key, algorithm, context, "Decrypt");
        } else {
          checkEncryptable(key, algorithm, "Decrypt");
        }
        dryRunStop(true);
        return null;
      });
    }
    CiphertextBlob blob = CiphertextBlob.parse(blobBytes);
    if (expectedKeyId != null && !expectedKeyId.equals(blob.keyId())) {
      // the named key must exist (NotFoundException otherwise); it is just not the one that encrypted this
      return keys.lookup(expectedKeyId).thenApply(named -> {
        throw new KmsException(ErrorCode.INCORRECT_KEY,
            "The key ID in the request does not identify a KMS key that can perform this operation.");
      });
    }
    // a blob naming a key that does not exist is not a valid ciphertext (a flipped byte in the key id)
    return blobKey(blob)
        .thenCompose(key -> {
          keys.authorizer().onKey(caller, "Decrypt", key, context, algorithmKey(algorithm));
          checkEncryptable(key, algorithm, "Decrypt");
          KeyVersion version = key.version(blob.keyVersion()).orElseThrow(CryptoService::invalidCiphertext);
          dryRunStop(dryRun);
          HsmKey object = new HsmKey(version.hsmLabel(), version.hsmId());
          return stores.of(key).run(ErrorCode.KMS_INVALID_STATE, key.arn(), s -> new DecryptResult(key,
              version.version(), open(s, object, blob, encodedContext)));
        });
  }

  /**
   * Decrypt of an RSA ciphertext: it names no key, so the request must (AWS: KeyId is required for an asymmetric
   * ciphertext); DryRun stops after the checks, with or without IGNORE_CIPHERTEXT.
   */
  private CompletableFuture<DecryptResult> decryptRsa(Caller caller, byte[] ciphertext, UUID keyId,
      Map<String, String> context, String algorithm, boolean dryRun) {
    if (keyId == null) {
      throw KmsException.validation("KeyId is required to decrypt with EncryptionAlgorithm " + algorithm
          + ": an asymmetric ciphertext does not name its key.");
    }
    return keys.lookup(caller, "Decrypt", keyId, context, algorithmKey(algorithm)).thenCompose(key -> {
      RsaEncryption.Plan plan = rsa.plan(key, algorithm, context, "Decrypt");
      dryRunStop(dryRun);
      return stores.of(key).run(ErrorCode.KMS_INVALID_STATE, key.arn(),
          s -> new DecryptResult(key, key.current().version(), rsa.open(s, plan, ciphertext)));
    });
  }

  public record ReEncryptResult(KeyRecord source, int sourceVersion, KeyRecord destination, int destinationVersion,
      byte[] ciphertextBlob) {}

  /**
   * ReEncrypt: decrypts under the source and encrypts under the destination inside the gateway
   * ({@link ReEncryption}); the plaintext never leaves it.
   */
  public CompletableFuture<ReEncryptResult> reEncrypt(Caller caller, byte[] blobBytes, UUID expectedSourceKeyId,
      Map<String, String> sourceContext, String sourceAlgorithm, UUID destinationKeyId,
      Map<String, String> destinationContext, String destinationAlgorithm, boolean dryRun) {
    return reEncryption.reEncrypt(caller, blobBytes, expectedSourceKeyId, sourceContext, sourceAlgorithm,
        destinationKeyId, destinationContext, destinationAlgorithm, dryRun);
  }

  /** The key a blob names: a blob naming no key is an invalid ciphertext, not a missing key. */
  CompletableFuture<KeyRecord> blobKey(CiphertextBlob blob) {
    return keys.lookup(blob.keyId()).exceptionally(e -> {
      Throwable t = Completions.unwrap(e);
      if (t instanceof KmsException k && k.code() == ErrorCode.NOT_FOUND) {
        throw invalidCiphertext();
      }
      throw t instanceof RuntimeException r ? r : new IllegalStateException(t);
    });
  }

  /** Random bytes from the default key store's HSM, or from a custom key store's (CustomKeyStoreId). */
  public CompletableFuture<byte[]> generateRandom(Caller caller, int numberOfBytes, String customKeyStoreId) {
    keys.authorizer().onAccount(caller, "kms:GenerateRandom", "*", null);
    if (customKeyStoreId == null) {
      return stores.defaultStore().run(ErrorCode.DEPENDENCY_TIMEOUT, null, s -> s.generateRandom(numberOfBytes));
    }
    KeyStoreConnection store = stores.custom(customKeyStoreId).orElseThrow(() -> new KmsException(
        ErrorCode.CUSTOM_KEY_STORE_NOT_FOUND, "Custom key store " + customKeyStoreId + " does not exist."));
    if (!store.isConnected()) {
      throw new KmsException(ErrorCode.CUSTOM_KEY_STORE_INVALID_STATE, "The custom key store " + customKeyStoreId
          + " is not connected.");
    }
    return store.run(ErrorCode.CUSTOM_KEY_STORE_INVALID_STATE, null, s -> s.generateRandom(numberOfBytes));
  }

  /** Opens a blob of any version (the IV comes from the blob, so the token's IV mode does not matter). */
  static byte[] open(HsmSession s, HsmKey object, CiphertextBlob blob, byte[] encodedContext)
      throws HsmException {
    byte[] aad = CiphertextBlob.aad(blob.aadHeader(), encodedContext);
    return blob.plaintext(s.decryptAesGcm(object, blob.iv(), aad, blob.ciphertextAndTag()));
  }

  /**
   * Seals under a CMK version: a version-1 blob with the gateway's random IV, or on a token that generates its IVs
   * ({@code gcm_iv_from_hsm}) a version-2 blob (version 3 with a zero block in front of a plaintext under 16 bytes).
   */
  static byte[] seal(HsmSession s, KeyRecord key, KeyVersion version, byte[] plaintext,
      byte[] encodedContext) throws HsmException {
    if (s.gcmIvFromHsm()) {
      return sealWithHsmIv(s, key, version, plaintext, encodedContext);
    }
    byte[] iv = new byte[CiphertextBlob.IV_LENGTH];
    IV_RANDOM.get().nextBytes(iv);
    byte[] header = CiphertextBlob.header(key.keyId(), version.version(), iv);
    byte[] sealed = s.encryptAesGcm(new HsmKey(version.hsmLabel(), version.hsmId()), iv,
        CiphertextBlob.aad(header, encodedContext), plaintext);
    return new CiphertextBlob(key.keyId(), version.version(), iv, sealed).toBytes();
  }

  private static byte[] sealWithHsmIv(HsmSession s, KeyRecord key, KeyVersion version, byte[] plaintext,
      byte[] encodedContext) throws HsmException {
    boolean padded = plaintext.length < GcmIvRecovery.BLOCK;
    byte blobVersion = padded ? CiphertextBlob.VERSION_HSM_IV_PADDED : CiphertextBlob.VERSION_HSM_IV;
    byte[] input = plaintext;
    if (padded) {
      input = new byte[CiphertextBlob.PAD_LENGTH + plaintext.length];
      System.arraycopy(plaintext, 0, input, CiphertextBlob.PAD_LENGTH, plaintext.length);
    }
    try {
      byte[] aad = CiphertextBlob.aad(CiphertextBlob.hsmIvAadHeader(blobVersion, key.keyId(), version.version()),
          encodedContext);
      GcmSealed sealed = s.encryptAesGcmHsmIv(new HsmKey(version.hsmLabel(), version.hsmId()), aad, input);
      return new CiphertextBlob(blobVersion, key.keyId(), version.version(), sealed.iv(), sealed.ciphertextAndTag())
          .toBytes();
    } finally {
      if (padded) {
        java.util.Arrays.fill(input, (byte) 0);
      }
    }
  }

  void checkEncryptable(KeyRecord key, String algorithm, String operation) {
    KeyStateRules.requireUsableForCrypto(key, stores.connected(key));
    KeyStateRules.requireSymmetricEncryptDecrypt(key, operation);
    if (algorithm != null && !SYMMETRIC_DEFAULT.equals(algorithm)) {
      throw new KmsException(ErrorCode.INVALID_KEY_USAGE,
          "EncryptionAlgorithm " + algorithm + " is not valid for the symmetric key " + key.arn() + ".");
    }
  }

  /** kms:EncryptionAlgorithm: the algorithm the request names, SYMMETRIC_DEFAULT when it names none. */
  static java.util.function.Consumer<io.kmsgw.policy.RequestContext.Builder> algorithmKey(String algorithm) {
    String value = algorithm == null ? SYMMETRIC_DEFAULT : algorithm;
    return b -> b.put("kms:EncryptionAlgorithm", value);
  }

  /** DryRun: every check passed, so the answer is DryRunOperationException and the HSM is not touched. */
  static void dryRunStop(boolean dryRun) {
    if (dryRun) {
      throw new KmsException(ErrorCode.DRY_RUN_OPERATION,
          "The request would have succeeded, but the DryRun parameter was set.");
    }
  }

  /** The one answer to every ciphertext that does not decrypt, symmetric or RSA. */
  static KmsException invalidCiphertext() {
    return new KmsException(ErrorCode.INVALID_CIPHERTEXT,
        "The ciphertext is invalid, was altered, or the encryption context does not match.");
  }
}
