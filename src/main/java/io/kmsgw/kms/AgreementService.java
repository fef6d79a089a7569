package io.kmsgw.kms;

import io.kmsgw.domain.Algorithms;
import io.kmsgw.domain.Caller;
import io.kmsgw.domain.KeyRecord;
import io.kmsgw.domain.KeySpecTable;
import io.kmsgw.domain.KeyUsage;
import io.kmsgw.domain.KeyVersion;
import io.kmsgw.error.ErrorCode;
import io.kmsgw.error.KmsException;
import io.kmsgw.format.EcPeerKeys;
import io.kmsgw.hsm.HsmKey;
import io.kmsgw.keystore.KeyStores;
import io.kmsgw.policy.KeyStateRules;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;

/**
 * DeriveSharedSecret: ECDH (NIST SP 800-56A's cofactor Diffie-Hellman primitive; the NIST curves have cofactor 1)
 * between the private half of a KEY_AGREEMENT key, which never leaves the HSM, and a peer's public key. The answer
 * is the raw shared secret, the x coordinate of the shared point, as AWS KMS returns it.
 *
 * <p>Every check runs before the HSM is touched: the policy (with {@code kms:KeyAgreementAlgorithm}), key state, key
 * usage, the algorithm against the key spec, and the peer key, parsed as DER SubjectPublicKeyInfo and validated as a
 * point of the key's curve ({@link EcPeerKeys}); then DryRun. The secret is never logged or audited.
 */
public final class AgreementService {
  private final KeyService keys;
  private final KeyStores stores;

  public AgreementService(KeyService keys, KeyStores stores) {
    this.keys = keys;
    this.stores = stores;
  }

  public record SharedSecret(KeyRecord key, Algorithms.KeyAgreement algorithm, byte[] secret) {}

  public CompletableFuture<SharedSecret> deriveSharedSecret(Caller caller, UUID keyId,
      Algorithms.KeyAgreement algorithm, byte[] peerPublicKey, boolean dryRun) {
    return keys.lookup(caller, "DeriveSharedSecret", keyId, null,
            b -> b.put("kms:KeyAgreementAlgorithm", algorithm.name()))
        .thenCompose(key -> {
          KeyStateRules.requireUsableForCrypto(key, stores.connected(key));
          KeyStateRules.requireUsage(key, KeyUsage.KEY_AGREEMENT, "DeriveSharedSecret");
          boolean supported = KeySpecTable.row(key.keySpec(), key.keyUsage())
              .map(r -> r.keyAgreement().contains(algorithm)).orElse(false);
          if (!supported) {
            throw new KmsException(ErrorCode.INVALID_KEY_USAGE, "KeyAgreementAlgorithm " + algorithm
                + " is not valid for " + key.arn() + ", whose KeySpec is " + key.keySpec() + ".");
          }
          byte[] point;
          try {
            point = EcPeerKeys.uncompressedPoint(key.keySpec(), peerPublicKey);
          } catch (EcPeerKeys.Invalid e) {
            throw KmsException.validation(e.getMessage());
          }
          CryptoService.dryRunStop(dryRun);
          int length = EcPeerKeys.fieldSize(key.keySpec());
          KeyVersion version = key.current();
          HsmKey object = new HsmKey(version.hsmLabel(), version.hsmId());
          return stores.of(key).run(ErrorCode.KMS_INVALID_STATE, key.arn(),
              s -> new SharedSecret(key, algorithm, s.deriveSharedSecret(object, point, length)));
        });
  }
}
