package io.kmsgw.kms;

import io.kmsgw.async.Completions;
import io.kmsgw.domain.Caller;
import io.kmsgw.domain.KeyRecord;
import io.kmsgw.domain.KeySpec;
import io.kmsgw.domain.KeySpecTable;
import io.kmsgw.error.ErrorCode;
import io.kmsgw.error.KmsException;
import io.kmsgw.format.EncryptionContextCodec;
import java.time.Duration;
import java.util.Arrays;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;

/**
 * GenerateDataKeyPair and GenerateDataKeyPairWithoutPlaintext: an RSA, EC or Ed25519 key pair for the caller's own
 * use, its private key sealed under a symmetric CMK with the encryption context exactly as Encrypt seals a
 * plaintext (the same blob, the same AES-GCM call in the HSM: {@link CryptoService#seal}), so that Decrypt with the
 * same context returns the PKCS#8 private key.
 *
 * <p>The steps: every check first (KeyPairSpec, encryption context, permission with {@code kms:DataKeyPairSpec},
 * key state, a symmetric encryption CMK, DryRun); then a seed from the CMK's HSM ({@code C_GenerateRandom}); the
 * pair generated from that seed alone ({@link DataKeyPairGenerator}) on the compute pool, so an RSA-4096 generation
 * holds neither an event loop nor an HSM session; then the seal in the HSM. The pair is not CMK material: the
 * private key is meant to leave, so it is made in the gateway rather than as an HSM object that would have to be
 * extractable (docs/decisions.md). The clear private key is wiped once sealed unless the response carries it.
 */
public final class DataKeyPairService {
  public static final String WITH_PLAINTEXT = "GenerateDataKeyPair";
  public static final String WITHOUT_PLAINTEXT = "GenerateDataKeyPairWithoutPlaintext";

  /**
   * How long a generation may wait for a compute thread before the request is answered ThrottlingException instead:
   * behind a queue of RSA-4096 pairs (about a second each per core) a client would otherwise wait minutes for a pair
   * it has long given up on.
   */
  static final Duration MAX_QUEUE_WAIT = Duration.ofSeconds(10);

  private final CryptoService crypto;
  private final Executor compute;
  private final long maxQueueWaitNanos;

  /**
   * @param compute where pairs are generated: a bounded pool of about one thread per core (a full queue answers
   *     ThrottlingException)
   */
  public DataKeyPairService(CryptoService crypto, Executor compute) {
    this(crypto, compute, MAX_QUEUE_WAIT);
  }

  DataKeyPairService(CryptoService crypto, Executor compute, Duration maxQueueWait) {
    this.crypto = crypto;
    this.compute = compute;
    this.maxQueueWaitNanos = maxQueueWait.toNanos();
  }

  /**
   * A data key pair.
   *
   * @param privateKeyPlaintext the private key PKCS#8 DER, or null for GenerateDataKeyPairWithoutPlaintext
   * @param keyVersion the CMK version that sealed the private key
   */
  public record Result(KeyRecord key, int keyVersion, KeySpec keyPairSpec, byte[] privateKeyCiphertextBlob,
      byte[] privateKeyPlaintext, byte[] publicKey) {}

  /**
   * @param operation {@link #WITH_PLAINTEXT} or {@link #WITHOUT_PLAINTEXT}: the action policies and grants must
   *     allow, and whether the result holds the private key in clear
   * @param keyPairSpec a value of the model's DataKeyPairSpec enum
   * @throws KmsException UnsupportedOperationException for SM2; the errors of Encrypt's checks otherwise
   */
  public CompletableFuture<Result> generate(Caller caller, String operation, UUID keyId, String keyPairSpec,
      Map<String, String> context, boolean dryRun) {
    boolean withPlaintext = switch (operation) {
      case WITH_PLAINTEXT -> true;
      case WITHOUT_PLAINTEXT -> false;
      default -> throw new IllegalArgumentException(operation);
    };
    KeySpec spec = pairSpec(keyPairSpec);
    byte[] encodedContext = EncryptionContextCodec.encode(context);
    return crypto.sealingKey(caller, operation, keyId, context, CryptoService.SYMMETRIC_DEFAULT,
            b -> b.put("kms:DataKeyPairSpec", spec.name()), dryRun)
        .thenCompose(key -> crypto.onCurrentVersion(key, encodedContext,
                (s, k, version, aad) -> s.generateRandom(DataKeyPairGenerator.SEED_BYTES))
            .thenCompose(seed -> generateOnComputePool(spec, seed)
                .whenComplete((pair, e) -> Arrays.fill(seed, (byte) 0)))
            .thenCompose(pair -> crypto.onCurrentVersion(key, encodedContext, (s, k, version, aad) -> {
                  byte[] sealed = CryptoService.seal(s, k, version, pair.privateKeyInfo(), aad);
                  return new Result(k, version.version(), spec, sealed,
                      withPlaintext ? pair.privateKeyInfo() : null, pair.subjectPublicKeyInfo());
                })
                .whenComplete((result, e) -> {
                  // the clear private key stays only in a response that returns it
                  if (e != null || !withPlaintext) {
                    pair.wipe();
                  }
                })));
  }

  private CompletableFuture<DataKeyPairGenerator.Encoded> generateOnComputePool(KeySpec spec, byte[] seed) {
    long queued = System.nanoTime();
    return Completions.on(compute, () -> {
      if (System.nanoTime() - queued > maxQueueWaitNanos) {
        throw new KmsException(ErrorCode.THROTTLING, "Rate exceeded: data key pairs are being generated for other "
            + "requests; this one waited longer than " + maxQueueWaitNanos / 1_000_000 + " ms. Retry with backoff.");
      }
      return DataKeyPairGenerator.generate(spec, seed);
    });
  }

  /**
   * The key spec of a DataKeyPairSpec (the model's enum, which the request validator has checked): SM2 is refused as
   * CreateKey refuses it.
   */
  static KeySpec pairSpec(String keyPairSpec) {
    KeySpec spec;
    try {
      spec = KeySpec.valueOf(keyPairSpec);
    } catch (IllegalArgumentException | NullPointerException e) {
      throw KmsException.validation("KeyPairSpec " + keyPairSpec + " is not a DataKeyPairSpec.");
    }
    KeySpecTable.refusal(spec).ifPresent(why -> {
      throw new KmsException(ErrorCode.UNSUPPORTED_OPERATION, why);
    });
    if (!DataKeyPairGenerator.generates(spec)) {
      throw KmsException.validation("KeyPairSpec " + keyPairSpec + " is not a DataKeyPairSpec.");
    }
    return spec;
  }
}
