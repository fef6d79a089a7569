package io.kmsgw.kms;

import io.kmsgw.domain.ImportedMaterial;
import io.kmsgw.domain.ImportedMaterial.ExpirationModel;
import io.kmsgw.domain.KeyRecord;
import io.kmsgw.domain.KeySpec;
import io.kmsgw.error.ErrorCode;
import io.kmsgw.error.KmsException;
import java.time.Duration;
import java.time.Instant;

/** The checks of an import request that need neither the HSM nor the store (AWS's rules, from the model). */
final class ImportRules {
  /** AWS: ValidTo at most 365 days after the request. */
  static final Duration MAX_VALID_TO = Duration.ofDays(365);

  private ImportRules() {}

  /** {@code SHA-1} or {@code SHA-256} for the OAEP algorithms; the others are refused as AWS does. */
  static String oaepHash(String algorithm) {
    return switch (algorithm) {
      case "RSAES_OAEP_SHA_1" -> "SHA-1";
      case "RSAES_OAEP_SHA_256" -> "SHA-256";
      case "RSAES_PKCS1_V1_5" -> throw KmsException.validation("The RSAES_PKCS1_V1_5 wrapping algorithm is no longer "
          + "supported (AWS KMS stopped accepting it on October 10, 2023); use RSAES_OAEP_SHA_256 or RSAES_OAEP_SHA_1.");
      case "RSA_AES_KEY_WRAP_SHA_1" -> "SHA-1";
      case "RSA_AES_KEY_WRAP_SHA_256" -> "SHA-256";
      default -> throw new KmsException(ErrorCode.UNSUPPORTED_OPERATION,
          "WrappingAlgorithm " + algorithm + " is not supported.");
    };
  }

  /**
   * AWS's pairing of key material and wrapping: an RSA private key needs an RSA_AES algorithm (too long for RSA-OAEP),
   * and ECC_NIST_P521 material does not fit RSA-OAEP under an RSA_2048 wrapping key.
   */
  static void checkWrapping(KeySpec spec, String algorithm, int wrappingBits) {
    boolean oaep = algorithm.startsWith("RSAES_OAEP");
    if (oaep && spec.family() == KeySpec.Family.RSA) {
      throw KmsException.validation("RSA private key material (" + spec + ") must be wrapped with "
          + "RSA_AES_KEY_WRAP_SHA_256 or RSA_AES_KEY_WRAP_SHA_1, not " + algorithm + ".");
    }
    if (oaep && spec == KeySpec.ECC_NIST_P521 && wrappingBits == 2048) {
      throw KmsException.validation("ECC_NIST_P521 key material cannot be wrapped with " + algorithm + " under an "
          + "RSA_2048 wrapping key; use RSA_3072 or RSA_4096, or an RSA_AES_KEY_WRAP algorithm.");
    }
  }

  static void checkExpiry(ExpirationModel model, Instant validTo, Instant now) {
    if (model == ExpirationModel.KEY_MATERIAL_DOES_NOT_EXPIRE && validTo != null) {
      throw KmsException.validation("ValidTo is not valid when ExpirationModel is KEY_MATERIAL_DOES_NOT_EXPIRE.");
    }
    if (model == ExpirationModel.KEY_MATERIAL_EXPIRES) {
      if (validTo == null) {
        throw KmsException.validation("ValidTo is required when ExpirationModel is KEY_MATERIAL_EXPIRES (the "
            + "default); give a ValidTo, or ExpirationModel KEY_MATERIAL_DOES_NOT_EXPIRE.");
      }
      if (!validTo.isAfter(now) || validTo.isAfter(now.plus(MAX_VALID_TO))) {
        throw KmsException.validation("ValidTo must be in the future and at most 365 days from now.");
      }
    }
  }

  static void checkImportType(KeyRecord key, ImportService.Material m, ImportedMaterial previous) {
    if ("NEW_KEY_MATERIAL".equals(m.importType()) && previous != null) {
      throw new KmsException(ErrorCode.UNSUPPORTED_OPERATION, "Importing new key material into " + key.arn()
          + " (on-demand rotation of an imported key) is not supported by kmsgw yet; re-import the same material.");
    }
    if ("EXISTING_KEY_MATERIAL".equals(m.importType()) && previous == null) {
      throw KmsException.validation("ImportType EXISTING_KEY_MATERIAL: no key material was ever imported into "
          + key.arn() + ".");
    }
    if (m.keyMaterialId() != null
        && !m.keyMaterialId().equals(HsmLabels.keyMaterialId(key.keyId(), key.currentVersion()))) {
      throw KmsException.validation("KeyMaterialId " + m.keyMaterialId() + " is not key material of " + key.arn()
          + ".");
    }
  }

  /** The material lengths in bytes AWS takes for a spec: 32 for SYMMETRIC_DEFAULT, a range for HMAC keys. */
  static int[] materialLengths(KeySpec spec) {
    return switch (spec) {
      case HMAC_224 -> new int[] {28, 64};
      case HMAC_256 -> new int[] {32, 64};
      case HMAC_384 -> new int[] {48, 128};
      case HMAC_512 -> new int[] {64, 128};
      default -> new int[] {32, 32};
    };
  }
}
