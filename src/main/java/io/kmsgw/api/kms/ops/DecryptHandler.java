package io.kmsgw.api.kms.ops;

import io.kmsgw.api.kms.Input;
import io.kmsgw.api.kms.KeyIdResolver;
import io.kmsgw.api.kms.OperationContext;
import io.kmsgw.api.kms.OperationHandler;
import io.kmsgw.error.KmsException;
import io.kmsgw.format.CiphertextBlob;
import io.kmsgw.kms.CryptoService;
import io.kmsgw.kms.HsmLabels;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletionStage;

/** Decrypt: KeyId optional (the blob names its key); a KeyId naming another key is IncorrectKeyException. */
public final class DecryptHandler implements OperationHandler {
  private final CryptoService crypto;
  private final KeyIdResolver resolver;

  public DecryptHandler(CryptoService crypto, KeyIdResolver resolver) {
    this.crypto = crypto;
    this.resolver = resolver;
  }

  @Override
  public String name() {
    return "Decrypt";
  }

  @Override
  public CompletionStage<Map<String, Object>> handle(OperationContext ctx, Input in) {
    in.refuseRecipient();
    boolean ignoreCiphertext = in.strings("DryRunModifiers").contains("IGNORE_CIPHERTEXT");
    if (!in.has("CiphertextBlob") && !(in.flag("DryRun") && ignoreCiphertext)) {
      throw KmsException.validation(
          "1 validation error detected: Value at 'ciphertextBlob' failed to satisfy constraint: Member must not be null");
    }
    UUID expected = in.string("KeyId") == null ? null : resolver.any(in.string("KeyId"));
    String algorithm = in.string("EncryptionAlgorithm");
    if (CryptoService.isRsaAlgorithm(algorithm)) {
      // an RSA ciphertext names no key: the request's KeyId does (required)
      if (expected != null) {
        ctx.keyArn(resolver.arn(expected));
      }
    } else {
      CiphertextBlob.peekKeyId(in.bytes("CiphertextBlob")).ifPresent(id -> ctx.keyArn(resolver.arn(id)));
    }
    return crypto.decrypt(ctx.caller(), in.bytes("CiphertextBlob"), expected, in.stringMap("EncryptionContext"),
            algorithm, in.flag("DryRun"), ignoreCiphertext)
        .thenApply(r -> {
          ctx.keyArn(r.key().arn());
          Map<String, Object> out = new LinkedHashMap<>();
          out.put("KeyId", r.key().arn());
          out.put("Plaintext", r.plaintext());
          out.put("EncryptionAlgorithm", algorithm == null ? CryptoService.SYMMETRIC_DEFAULT : algorithm);
          if (!r.key().keySpec().asymmetric()) {
            // AWS: KeyMaterialId only with a symmetric encryption key
            out.put("KeyMaterialId", HsmLabels.keyMaterialId(r.key().keyId(), r.keyVersion()));
          }
          return out;
        });
  }
}
