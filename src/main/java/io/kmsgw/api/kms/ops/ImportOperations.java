package io.kmsgw.api.kms.ops;

import io.kmsgw.api.kms.Input;
import io.kmsgw.api.kms.KeyIdResolver;
import io.kmsgw.api.kms.OperationContext;
import io.kmsgw.api.kms.OperationHandler;
import io.kmsgw.kms.ImportService;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletionStage;

/**
 * GetParametersForImport, ImportKeyMaterial and DeleteImportedKeyMaterial (docs/import.md). KeyId is a key id or key
 * ARN, not an alias, as the model says for these operations.
 */
public final class ImportOperations {
  private final ImportService imports;
  private final KeyIdResolver resolver;

  public ImportOperations(ImportService imports, KeyIdResolver resolver) {
    this.imports = imports;
    this.resolver = resolver;
  }

  public List<OperationHandler> handlers() {
    return List.of(new SimpleHandler("GetParametersForImport", this::getParameters),
        new SimpleHandler("ImportKeyMaterial", this::importMaterial),
        new SimpleHandler("DeleteImportedKeyMaterial", this::deleteMaterial));
  }

  private UUID keyId(OperationContext ctx, Input in) {
    UUID keyId = resolver.keyOnly(in.string("KeyId"));
    ctx.keyArn(resolver.arn(keyId));
    return keyId;
  }

  private CompletionStage<Map<String, Object>> getParameters(OperationContext ctx, Input in) {
    UUID keyId = keyId(ctx, in);
    return imports.getParametersForImport(ctx.caller(), keyId, in.string("WrappingAlgorithm"),
        in.string("WrappingKeySpec")).thenApply(p -> {
          Map<String, Object> out = new LinkedHashMap<>();
          out.put("KeyId", p.key().arn());
          out.put("ImportToken", p.importToken());
          out.put("PublicKey", p.publicKey());
          out.put("ParametersValidTo", p.validTo());
          return out;
        });
  }

  private CompletionStage<Map<String, Object>> importMaterial(OperationContext ctx, Input in) {
    UUID keyId = keyId(ctx, in);
    ImportService.Material m = new ImportService.Material(in.bytes("ImportToken"), in.bytes("EncryptedKeyMaterial"),
        in.string("ExpirationModel"), in.instant("ValidTo"), in.string("ImportType"), in.string("KeyMaterialId"));
    return imports.importKeyMaterial(ctx.caller(), keyId, m).thenApply(key -> {
      Map<String, Object> out = new LinkedHashMap<>();
      out.put("KeyId", key.arn());
      out.put("KeyMaterialId", io.kmsgw.kms.HsmLabels.keyMaterialId(key.keyId(), key.currentVersion()));
      return out;
    });
  }

  private CompletionStage<Map<String, Object>> deleteMaterial(OperationContext ctx, Input in) {
    UUID keyId = keyId(ctx, in);
    return imports.deleteImportedKeyMaterial(ctx.caller(), keyId, in.string("KeyMaterialId")).thenApply(key -> {
      Map<String, Object> out = new LinkedHashMap<>();
      out.put("KeyId", key.arn());
      out.put("KeyMaterialId", io.kmsgw.kms.HsmLabels.keyMaterialId(key.keyId(), key.currentVersion()));
      return out;
    });
  }
}
