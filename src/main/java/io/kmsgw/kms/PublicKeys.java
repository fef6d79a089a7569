package io.kmsgw.kms;

import io.kmsgw.domain.Caller;
import io.kmsgw.domain.KeyRecord;
import io.kmsgw.domain.KeyVersion;
import io.kmsgw.error.ErrorCode;
import io.kmsgw.error.KmsException;
import io.kmsgw.hsm.HsmKey;
import io.kmsgw.keystore.KeyStores;
import io.kmsgw.policy.KeyStateRules;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The public halves of asymmetric CMKs, as X.509 SubjectPublicKeyInfo (DER): GetPublicKey, and the public key that
 * verification, encryption and key agreement checks use. Read from the public key object in the HSM once per key
 * version and process, then kept in memory (a public key is no secret, and a version's pair never changes).
 */
public final class PublicKeys {
  private record Version(UUID keyId, int version) {}

  private final KeyService keys;
  private final KeyStores stores;
  private final ConcurrentHashMap<Version, byte[]> known = new ConcurrentHashMap<>();
  private final java.util.concurrent.Executor compute;

  /**
   * @param compute where work with a public key runs (signature checks, RSA encryption: 0.1 to 3 ms of CPU each),
   *     never the event loop that completed the key's lookup
   */
  public PublicKeys(KeyService keys, KeyStores stores, java.util.concurrent.Executor compute) {
    this.keys = keys;
    this.stores = stores;
    this.compute = compute;
  }

  /** For tests: work with a public key runs on the thread that has the key. */
  public PublicKeys(KeyService keys, KeyStores stores) {
    this(keys, stores, Runnable::run);
  }

  /** GetPublicKey's answer. */
  public record Result(KeyRecord key, byte[] subjectPublicKeyInfo) {}

  /**
   * GetPublicKey: the caller may run {@code kms:GetPublicKey} on an asymmetric key in a state that allows
   * cryptographic use (AWS's key state table: DisabledException when disabled).
   */
  public CompletableFuture<Result> getPublicKey(Caller caller, UUID keyId) {
    return keys.lookup(caller, "GetPublicKey", keyId, null).thenCompose(key -> {
      if (!key.keySpec().asymmetric()) {
        throw new KmsException(ErrorCode.UNSUPPORTED_OPERATION, key.arn() + " is a " + key.keySpec()
            + " key: GetPublicKey applies to asymmetric keys only.");
      }
      KeyStateRules.requireUsableForCrypto(key, stores.connected(key));
      return of(key).thenApply(spki -> new Result(key, spki));
    });
  }

  /**
   * CPU work with the public key of the key's current version ({@link #of}), run on its own pool; a full pool
   * answers ThrottlingException.
   */
  public <T> CompletableFuture<T> withPublicKey(KeyRecord key, java.util.function.Function<byte[], T> work) {
    return of(key).thenCompose(spki -> io.kmsgw.async.Completions.on(compute, () -> work.apply(spki)));
  }

  /** The public key of the key's current version, from memory or else from the HSM; no authorization here. */
  public CompletableFuture<byte[]> of(KeyRecord key) {
    KeyVersion version = key.current();
    Version name = new Version(key.keyId(), version.version());
    byte[] cached = known.get(name);
    if (cached != null) {
      return CompletableFuture.completedFuture(cached.clone());
    }
    HsmKey object = new HsmKey(version.hsmLabel(), version.hsmId());
    return stores.of(key).run(ErrorCode.KMS_INVALID_STATE, key.arn(), s -> s.publicKeyInfo(object, key.keySpec()))
        .thenApply(spki -> {
          known.put(name, spki);
          return spki.clone();
        });
  }

  /** {@link #of(KeyRecord)} inside HSM work that already holds a session: no second borrow, no waiting. */
  public byte[] of(KeyRecord key, io.kmsgw.hsm.HsmSession session) throws io.kmsgw.hsm.HsmException {
    KeyVersion version = key.current();
    Version name = new Version(key.keyId(), version.version());
    byte[] cached = known.get(name);
    if (cached == null) {
      cached = session.publicKeyInfo(new HsmKey(version.hsmLabel(), version.hsmId()), key.keySpec());
      known.put(name, cached);
    }
    return cached.clone();
  }
}
