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
 * ReEncrypt: from the blob's key (and version), or the RSA key SourceKeyId names, to the destination key's current
 * version or RSA public key, inside the gateway.
 */
public final class ReEncryptHandler implements OperationHandler {
  private final CryptoService crypto;
  private final KeyIdResolver resolver;

  public ReEncryptHandler(CryptoService crypto, KeyIdResolver resolver) {
    this.crypto = crypto;
    this.resolver = resolver;
  }

  @Override
  public String name() {
    return "ReEncrypt";
  }

  @Override
  public CompletionStage<Map<String, Object>> handle(OperationContext ctx, Input in) {
    if (!in.has("CiphertextBlob")) {
      throw KmsException.validation(
          "1 validation error detected: Value at 'ciphertextBlob' failed to satisfy constraint: Member must not be null");
    }
    UUID source = in.string("SourceKeyId") == null ? null : resolver.any(in.string("SourceKeyId"));
    UUID destination = resolver.any(in.string("DestinationKeyId"));
    String sourceAlgorithm = in.string("SourceEncryptionAlgorithm");
    String destinationAlgorithm = in.string("DestinationEncryptionAlgorithm");
    ctx.keyArn(resolver.arn(destination));
    return crypto.reEncrypt(ctx.caller(), in.bytes("CiphertextBlob"), source, in.stringMap("SourceEncryptionContext"),
            sourceAlgorithm, destination, in.stringMap("DestinationEncryptionContext"),
            destinationAlgorithm, in.flag("DryRun"))
        .thenApply(r -> {
          Map<String, Object> out = new LinkedHashMap<>();
          out.put("CiphertextBlob", r.ciphertextBlob());
          out.put("SourceKeyId", r.source().arn());
          out.put("KeyId", r.destination().arn());
          out.put("SourceEncryptionAlgorithm", sourceAlgorithm == null ? CryptoService.SYMMETRIC_DEFAULT
              : sourceAlgorithm);
          out.put("DestinationEncryptionAlgorithm", destinationAlgorithm == null ? CryptoService.SYMMETRIC_DEFAULT
              : destinationAlgorithm);
          // AWS: the key material ids only of symmetric encryption keys
          if (!r.source().keySpec().asymmetric()) {
            out.put("SourceKeyMaterialId", HsmLabels.keyMaterialId(r.source().keyId(), r.sourceVersion()));
          }
          if (!r.destination().keySpec().asymmetric()) {
            out.put("DestinationKeyMaterialId",
                HsmLabels.keyMaterialId(r.destination().keyId(), r.destinationVersion()));
          }
          return out;
        });
  }
}
