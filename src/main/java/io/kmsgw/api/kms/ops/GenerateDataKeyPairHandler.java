package io.kmsgw.api.kms.ops;

import io.kmsgw.api.kms.Input;
import io.kmsgw.api.kms.KeyIdResolver;
import io.kmsgw.api.kms.OperationContext;
import io.kmsgw.api.kms.OperationHandler;
import io.kmsgw.kms.DataKeyPairService;
import io.kmsgw.kms.HsmLabels;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletionStage;

/**
 * GenerateDataKeyPair and GenerateDataKeyPairWithoutPlaintext: a key pair of the KeyPairSpec, its private key
 * (PKCS#8 DER) sealed under the symmetric CMK with the encryption context, its public key (SubjectPublicKeyInfo
 * DER), and for GenerateDataKeyPair the private key in clear.
 */
public final class GenerateDataKeyPairHandler implements OperationHandler {
  private final DataKeyPairService pairs;
  private final KeyIdResolver resolver;
  private final boolean withPlaintext;

  public GenerateDataKeyPairHandler(DataKeyPairService pairs, KeyIdResolver resolver, boolean withPlaintext) {
    this.pairs = pairs;
    this.resolver = resolver;
    this.withPlaintext = withPlaintext;
  }

  @Override
  public String name() {
    return withPlaintext ? DataKeyPairService.WITH_PLAINTEXT : DataKeyPairService.WITHOUT_PLAINTEXT;
  }

  @Override
  public CompletionStage<Map<String, Object>> handle(OperationContext ctx, Input in) {
    in.refuseRecipient();
    UUID keyId = resolver.any(in.string("KeyId"));
    ctx.keyArn(resolver.arn(keyId));
    return pairs.generate(ctx.caller(), name(), keyId, in.string("KeyPairSpec"), in.stringMap("EncryptionContext"),
            in.flag("DryRun"))
        .thenApply(r -> {
          ctx.keyArn(r.key().arn());
          Map<String, Object> out = new LinkedHashMap<>();
          out.put("PrivateKeyCiphertextBlob", r.privateKeyCiphertextBlob());
          if (withPlaintext) {
            out.put("PrivateKeyPlaintext", r.privateKeyPlaintext());
          }
          out.put("PublicKey", r.publicKey());
          out.put("KeyId", r.key().arn());
          out.put("KeyPairSpec", r.keyPairSpec().name());
          out.put("KeyMaterialId", HsmLabels.keyMaterialId(r.key().keyId(), r.keyVersion()));
          return out;
        });
  }
}
