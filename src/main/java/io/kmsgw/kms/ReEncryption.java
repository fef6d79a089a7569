package io.kmsgw.kms;

import static io.kmsgw.kms.CryptoService.algorithmKey;
import static io.kmsgw.kms.CryptoService.dryRunStop;

import io.kmsgw.domain.Caller;
import io.kmsgw.domain.KeyRecord;
import io.kmsgw.domain.KeyVersion;
import io.kmsgw.error.ErrorCode;
import io.kmsgw.error.KmsException;
import io.kmsgw.format.CiphertextBlob;
import io.kmsgw.format.EncryptionContextCodec;
import io.kmsgw.hsm.Hsm;
import io.kmsgw.hsm.HsmException;
import io.kmsgw.hsm.HsmKey;
import io.kmsgw.hsm.HsmSession;
import io.kmsgw.keystore.KeyStores;
import io.kmsgw.kms.CryptoService.ReEncryptResult;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;

/**
 * ReEncrypt between any two encryption keys: symmetric (an AES-GCM blob naming its key and version) and RSA (a raw
 * RSAES-OAEP ciphertext of the key SourceKeyId names), in either direction. Both halves are checked (policies,
 * grants, key states, usages, algorithms, contexts) before the HSM is touched.
 */
final class ReEncryption {
  private final KeyService keys;
  private final KeyStores stores;
  private final RsaEncryption rsa;
  private final CryptoService crypto;

  ReEncryption(KeyService keys, KeyStores stores, RsaEncryption rsa, CryptoService crypto) {
    this.keys = keys;
    this.stores = stores;
    this.rsa = rsa;
    this.crypto = crypto;
  }

  /**
   * ReEncrypt: decrypts under the source (the blob's key and version, or with SourceEncryptionAlgorithm RSAES_* the
   * RSA key SourceKeyId names) and encrypts under the destination (its current version, or its RSA public key), in
   * one HSM session when both keys are in one store; the plaintext exists only inside this call and is wiped before
   * it returns. The destination may be the same key (a new context, or the newest version after a rotation).
   */
  CompletableFuture<ReEncryptResult> reEncrypt(Caller caller, byte[] blobBytes, UUID expectedSourceKeyId,
      Map<String, String> sourceContext, String sourceAlgorithm, UUID destinationKeyId,
      Map<String, String> destinationContext, String destinationAlgorithm, boolean dryRun) {
    byte[] sourceAad = EncryptionContextCodec.encode(sourceContext);
    byte[] destinationAad = EncryptionContextCodec.encode(destinationContext);
    boolean rsaSource = RsaEncryption.isRsaAlgorithm(sourceAlgorithm);
    if (rsaSource && expectedSourceKeyId == null) {
      throw KmsException.validation("SourceKeyId is required to reencrypt with SourceEncryptionAlgorithm "
          + sourceAlgorithm + ": an asymmetric ciphertext does not name its key.");
    }
    CiphertextBlob blob = rsaSource ? null : CiphertextBlob.parse(blobBytes);
    if (!rsaSource && expectedSourceKeyId != null && !expectedSourceKeyId.equals(blob.keyId())) {
      return keys.lookup(expectedSourceKeyId).thenApply(named -> {
        throw new KmsException(ErrorCode.INCORRECT_KEY,
            "The source key ID in the request does not identify the key that encrypted the ciphertext.");
      });
    }
    CompletableFuture<KeyRecord> sourceKey = rsaSource ? keys.lookup(expectedSourceKeyId) : crypto.blobKey(blob);
    return sourceKey.thenCombine(keys.lookup(destinationKeyId), (source, destination) -> {
      keys.authorizer().onKey(caller, "ReEncryptFrom", source, sourceContext, algorithmKey(sourceAlgorithm));
      keys.authorizer().onKey(caller, "ReEncryptTo", destination, destinationContext,
          algorithmKey(destinationAlgorithm));
      Opening opening;
      if (rsaSource) {
        RsaEncryption.Plan plan = rsa.plan(source, sourceAlgorithm, sourceContext, "ReEncrypt");
        opening = new Opening(source, source.current().version(), s -> rsa.open(s, plan, blobBytes));
      } else {
        crypto.checkEncryptable(source, sourceAlgorithm, "ReEncrypt");
        KeyVersion version = source.version(blob.keyVersion()).orElseThrow(CryptoService::invalidCiphertext);
        HsmKey object = new HsmKey(version.hsmLabel(), version.hsmId());
        opening = new Opening(source, version.version(), s -> CryptoService.open(s, object, blob, sourceAad));
      }
      KeyVersion destinationVersion = destination.current();
      Sealing sealing;
      if (RsaEncryption.handles(destination)) {
        RsaEncryption.Plan plan = rsa.plan(destination, destinationAlgorithm, destinationContext, "ReEncrypt");
        sealing = (s, plaintext) -> rsa.seal(s, plan, plaintext);
      } else {
        crypto.checkEncryptable(destination, destinationAlgorithm, "ReEncrypt");
        sealing = (s, plaintext) -> CryptoService.seal(s, destination, destinationVersion, plaintext,
            destinationAad);
      }
      dryRunStop(dryRun);
      return new Steps(opening, destination, destinationVersion.version(), sealing);
    }).thenCompose(this::run);
  }

  /** The decrypting half of a ReEncrypt, checked: the key, the version it used, and the HSM work. */
  private record Opening(KeyRecord key, int version, Hsm.SessionWork<byte[]> work) {}

  /** The encrypting half of a ReEncrypt, checked. */
  @FunctionalInterface
  private interface Sealing {
    byte[] run(HsmSession s, byte[] plaintext) throws HsmException;
  }

  private record Steps(Opening source, KeyRecord destination, int destinationVersion, Sealing sealing) {
    ReEncryptResult sealWiping(HsmSession s, byte[] plaintext) throws HsmException {
      try {
        return new ReEncryptResult(source.key(), source.version(), destination, destinationVersion,
            sealing.run(s, plaintext));
      } finally {
        java.util.Arrays.fill(plaintext, (byte) 0);
      }
    }
  }

  private CompletableFuture<ReEncryptResult> run(Steps r) {
    KeyRecord source = r.source().key();
    KeyRecord destination = r.destination();
    if (!source.keyStoreId().equals(destination.keyStoreId())) {
      // two HSMs: decrypt in one, seal in the other; the plaintext crosses only the gateway's memory
      return stores.of(source).run(ErrorCode.KMS_INVALID_STATE, source.arn(), r.source().work())
          .thenCompose(plaintext -> stores.of(destination).run(ErrorCode.KMS_INVALID_STATE, destination.arn(),
              s -> r.sealWiping(s, plaintext)));
    }
    return stores.of(source).run(ErrorCode.KMS_INVALID_STATE, source.arn(),
        s -> r.sealWiping(s, r.source().work().run(s)));
  }
}
