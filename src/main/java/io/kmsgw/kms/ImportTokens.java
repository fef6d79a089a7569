package io.kmsgw.kms;

import io.kmsgw.error.ErrorCode;
import io.kmsgw.error.KmsException;
import io.kmsgw.hsm.HsmKey;
import io.kmsgw.keystore.KeyStores;
import io.kmsgw.keystore.SecretSealer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.HexFormat;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/**
 * Import tokens (GetParametersForImport, ImportKeyMaterial): what binds a wrapping key to the KMS key it was made
 * for, the wrapping algorithm and the expiry, authenticated under an HSM key.
 *
 * <p>Clear form, UTF-8: {@code kmsgw-import-v1 \n <wrapping key label> \n <wrapping key CKA_ID, hex> \n <WrappingAlgorithm>
 * \n <ParametersValidTo, epoch millis>}. It is sealed with {@link SecretSealer} (AES-256-GCM in the default key
 * store's HSM under the token-encryption key {@code kmsgw-kek:import-tokens}) with the KMS key's id in the additional
 * data, so a token of another key does not open, and a changed byte fails the tag. The token holds no secret; it
 * is sealed so that nobody can make one up or move one.
 */
public final class ImportTokens {
  static final HsmKey KEK = new HsmKey("kmsgw-kek:import-tokens",
      "kmsgw-kek-import-1".getBytes(StandardCharsets.US_ASCII));
  private static final String VERSION = "kmsgw-import-v1";

  /** What a token says. */
  public record Token(HsmKey wrappingKey, String wrappingAlgorithm, Instant validTo) {}

  private final SecretSealer sealer;

  public ImportTokens(KeyStores stores) {
    this.sealer = new SecretSealer(stores, KEK, "kmsgw import token v1");
  }

  public CompletableFuture<byte[]> seal(UUID keyId, Token t) {
    String clear = String.join("\n", VERSION, t.wrappingKey().label(),
        HexFormat.of().formatHex(t.wrappingKey().id()), t.wrappingAlgorithm(),
        Long.toString(t.validTo().toEpochMilli()));
    return sealer.sealAsync(keyId.toString(), clear.getBytes(StandardCharsets.UTF_8), ErrorCode.DEPENDENCY_TIMEOUT);
  }

  /**
   * The token's content; InvalidImportTokenException when it is not a token of this key (another key's, changed,
   * or not one at all). Expiry is the caller's to check.
   */
  public CompletableFuture<Token> open(UUID keyId, byte[] token) {
    // a seal is at least version, IV and tag; anything shorter is no token (and must not reach the sealer)
    if (token == null || token.length < 1 + 12 + 16 + 1 || (token[0] != 1 && token[0] != 2)) {
      return CompletableFuture.failedFuture(invalid());
    }
    return sealer.unsealAsync(keyId.toString(), token, ErrorCode.DEPENDENCY_TIMEOUT)
        .handle((clear, failure) -> {
          if (failure != null) {
            Throwable t = io.kmsgw.async.Completions.unwrap(failure);
            if (t instanceof KmsException k && (k.code() == ErrorCode.INVALID_CIPHERTEXT
                || k.code() == ErrorCode.KMS_INTERNAL)) {
              // the tag did not verify, or the token-encryption key does not exist yet: no token of ours
              throw invalid();
            }
            throw t instanceof RuntimeException r ? r : new CompletionException(t);
          }
          return parse(clear);
        });
  }

  private static Token parse(byte[] clear) {
    String[] f = new String(clear, StandardCharsets.UTF_8).split("\n", -1);
    if (f.length != 5 || !f[0].equals(VERSION)) {
      throw invalid();
    }
    try {
      return new Token(new HsmKey(f[1], HexFormat.of().parseHex(f[2])), f[3],
          Instant.ofEpochMilli(Long.parseLong(f[4])));
    } catch (IllegalArgumentException e) {
      throw invalid();
    }
  }

  static KmsException invalid() {
    return new KmsException(ErrorCode.INVALID_IMPORT_TOKEN, "The import token is not valid for this KMS key: use "
        + "the ImportToken of a GetParametersForImport response for this key, with the public key of the same "
        + "response.");
  }
}
