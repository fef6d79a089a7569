package io.kmsgw.api.kms.ops;

import io.kmsgw.api.kms.Input;
import io.kmsgw.api.kms.KeyIdResolver;
import io.kmsgw.api.kms.OperationContext;
import io.kmsgw.api.kms.OperationHandler;
import io.kmsgw.kms.CryptoService;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletionStage;

/** Encrypt: up to 4096 bytes under a symmetric CMK, bound to the encryption context; or RSAES-OAEP under an RSA key. */
public final class EncryptHandler implements OperationHandler {
  private final CryptoService crypto;
  private final KeyIdResolver resolver;

  public EncryptHandler(CryptoService crypto, KeyIdResolver resolver) {
    this.crypto = crypto;
    this.resolver = resolver;
  }

  @Override
  public String name() {
    return "Encrypt";
  }

  @Override
  public CompletionStage<Map<String, Object>> handle(OperationContext ctx, Input in) {
    UUID keyId = resolver.any(in.string("KeyId"));
    String algorithm = in.string("EncryptionAlgorithm");
    ctx.keyArn(resolver.arn(keyId));
    return crypto.encrypt(ctx.caller(), keyId, in.bytes("Plaintext"),
            in.stringMap("EncryptionContext"), algorithm, in.flag("DryRun"))
        .thenApply(r -> {
          ctx.keyArn(r.key().arn());
          Map<String, Object> out = new LinkedHashMap<>();
          out.put("CiphertextBlob", r.ciphertextBlob());
          out.put("KeyId", r.key().arn());
          // the key's checks accepted the named algorithm, or SYMMETRIC_DEFAULT when none is named
          out.put("EncryptionAlgorithm", algorithm == null ? CryptoService.SYMMETRIC_DEFAULT : algorithm);
          return out;
        });
  }
}
