package io.kmsgw.kms;

import io.kmsgw.domain.Algorithms;
import io.kmsgw.domain.Caller;
import io.kmsgw.domain.KeyRecord;
import io.kmsgw.domain.KeySpecTable;
import io.kmsgw.domain.KeyUsage;
import io.kmsgw.domain.KeyVersion;
import io.kmsgw.error.ErrorCode;
import io.kmsgw.error.KmsException;
import io.kmsgw.hsm.HsmKey;
import io.kmsgw.keystore.KeyStores;
import io.kmsgw.policy.KeyStateRules;
import java.security.MessageDigest;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;

/**
 * GenerateMac and VerifyMac with HMAC keys (RFC 2104). The HMAC is computed in the HSM with the key's generic secret
 * ({@code CKM_SHA*_HMAC}); VerifyMac computes it again there and compares it with the caller's in the gateway, in
 * constant time ({@link MessageDigest#isEqual}), rather than with {@code C_Verify}: one path on every token, and a
 * comparison whose timing kmsgw controls (docs/decisions.md).
 *
 * <p>Every check that can fail (policy with {@code kms:MacAlgorithm}, key state, key usage, the algorithm against the
 * key spec, DryRun) runs before the HSM is touched. Messages and MACs are never logged or audited.
 */
public final class MacService {
  private final KeyService keys;
  private final KeyStores stores;

  public MacService(KeyService keys, KeyStores stores) {
    this.keys = keys;
    this.stores = stores;
  }

  public record MacResult(KeyRecord key, Algorithms.Mac algorithm, byte[] mac) {}

  public CompletableFuture<MacResult> generateMac(Caller caller, UUID keyId, byte[] message,
      Algorithms.Mac algorithm, boolean dryRun) {
    return checked(caller, "GenerateMac", keyId, algorithm, dryRun).thenCompose(key -> {
      HsmKey object = object(key.current());
      return stores.of(key).run(ErrorCode.KMS_INVALID_STATE, key.arn(),
          s -> new MacResult(key, algorithm, s.hmac(object, algorithm, message)));
    });
  }

  /**
   * The key when the MAC is the HMAC of the message under it; KMSInvalidMacException otherwise (a MAC of another
   * length included).
   */
  public CompletableFuture<KeyRecord> verifyMac(Caller caller, UUID keyId, byte[] message, Algorithms.Mac algorithm,
      byte[] mac, boolean dryRun) {
    return checked(caller, "VerifyMac", keyId, algorithm, dryRun).thenCompose(key -> {
      HsmKey object = object(key.current());
      return stores.of(key).run(ErrorCode.KMS_INVALID_STATE, key.arn(), s -> s.hmac(object, algorithm, message))
          .thenApply(computed -> {
            if (!MessageDigest.isEqual(computed, mac)) {
              throw new KmsException(ErrorCode.KMS_INVALID_MAC, "The MAC is not valid for the message, the key "
                  + key.arn() + " and the MAC algorithm " + algorithm + ".");
            }
            return key;
          });
    });
  }

  /** The key once the caller may use it for the operation with this algorithm, and it can; DryRun stops here. */
  private CompletableFuture<KeyRecord> checked(Caller caller, String operation, UUID keyId,
      Algorithms.Mac algorithm, boolean dryRun) {
    return keys.lookup(caller, operation, keyId, null, b -> b.put("kms:MacAlgorithm", algorithm.name()))
        .thenApply(key -> {
          KeyStateRules.requireUsableForCrypto(key, stores.connected(key));
          KeyStateRules.requireUsage(key, KeyUsage.GENERATE_VERIFY_MAC, operation);
          boolean supported = KeySpecTable.row(key.keySpec(), key.keyUsage())
              .map(r -> r.mac().contains(algorithm)).orElse(false);
          if (!supported) {
            throw new KmsException(ErrorCode.INVALID_KEY_USAGE, "MacAlgorithm " + algorithm + " is not valid for "
                + key.arn() + ", whose KeySpec is " + key.keySpec() + "; use " + KeySpecTable.row(key.keySpec(),
                    key.keyUsage()).map(r -> r.mac().toString()).orElse("[]") + ".");
          }
          CryptoService.dryRunStop(dryRun);
          return key;
        });
  }

  private static HsmKey object(KeyVersion version) {
    return new HsmKey(version.hsmLabel(), version.hsmId());
  }
}
