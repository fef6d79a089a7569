package io.kmsgw.api.kms.ops;

import io.kmsgw.api.kms.Input;
import io.kmsgw.api.kms.KeyIdResolver;
import io.kmsgw.api.kms.OperationContext;
import io.kmsgw.api.kms.OperationHandler;
import io.kmsgw.error.KmsException;
import io.kmsgw.kms.CryptoService;
import io.kmsgw.kms.HsmLabels;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletionStage;

/**
 * GenerateDataKey and GenerateDataKeyWithoutPlaintext: a data key from the HSM's generator, returned sealed
 * under the CMK (and in clear for GenerateDataKey). Exactly one of KeySpec and NumberOfBytes.
 */
public final class GenerateDataKeyHandler implements OperationHandler {
  private final CryptoService crypto;
  private final KeyIdResolver resolver;
  private final boolean withPlaintext;

  public GenerateDataKeyHandler(CryptoService crypto, KeyIdResolver resolver, boolean withPlaintext) {
    this.crypto = crypto;
    this.resolver = resolver;
    this.withPlaintext = withPlaintext;
  }

  @Override
  public String name() {
    return withPlaintext ? "GenerateDataKey" : "GenerateDataKeyWithoutPlaintext";
  }

  @Override
  public CompletionStage<Map<String, Object>> handle(OperationContext ctx, Input in) {
    in.refuseRecipient();
    String spec = in.string("KeySpec");
    Integer n = in.integer("NumberOfBytes");
    if ((spec == null) == (n == null)) {
      throw KmsException.validation("Specify exactly one of KeySpec and NumberOfBytes.");
    }
    int bytes = n != null ? n : "AES_128".equals(spec) ? 16 : 32;
    UUID keyId = resolver.any(in.string("KeyId"));
    ctx.keyArn(resolver.arn(keyId));
    return crypto.generateDataKey(ctx.caller(), name(), keyId, bytes,
            in.stringMap("EncryptionContext"), in.flag("DryRun"))
        .thenApply(r -> {
          ctx.keyArn(r.key().arn());
          Map<String, Object> out = new LinkedHashMap<>();
          out.put("CiphertextBlob", r.ciphertextBlob());
          if (withPlaintext) {
            out.put("Plaintext", r.plaintext());
          }
          out.put("KeyId", r.key().arn());
          out.put("KeyMaterialId", HsmLabels.keyMaterialId(r.key().keyId(), r.keyVersion()));
          return out;
        });
  }
}
